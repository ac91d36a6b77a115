"""Config dataclasses as LightningModules receive them: the dataclass itself, a plain dict (from YAML or
a checkpoint's hyper-parameters) or None (all defaults)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def as_config(cls: type[T], value: T | dict | None) -> T:
    """``value`` as a ``cls`` instance; its ``__post_init__`` validates it."""
    return value if isinstance(value, cls) else cls(**(value or {}))
