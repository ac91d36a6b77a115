"""Config dataclasses as LightningModules receive them (the dataclass itself, a plain dict from YAML or a
checkpoint's hyper-parameters, or None for all defaults) and the one form in which modules save them."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import TypeVar

T = TypeVar("T")


def as_config(cls: type[T], value: T | dict | None) -> T:
    """``value`` as a ``cls`` instance; its ``__post_init__`` validates it."""
    return value if isinstance(value, cls) else cls(**(value or {}))


def saved_hparams(module: object, **values) -> dict:
    """What a LightningModule passes to ``save_hyperparameters``: ``values`` as plain data (dataclass configs as
    dicts, so checkpoints load with ``weights_only=True``) and ``_class_path`` (LightningCLI re-reads them on a
    ``--ckpt_path`` resume)."""
    plain = {k: asdict(v) if is_dataclass(v) else v for k, v in values.items()}
    return {"_class_path": f"{type(module).__module__}.{type(module).__qualname__}", **plain}
