"""Reading dl_lightning Lightning checkpoints of a given kind (weights_only, one-line errors)."""

from __future__ import annotations

from pathlib import Path

import torch

from dl_lightning.errors import UserError


def read_checkpoint(path: str | Path, kind: str) -> dict:
    """Load a ``.ckpt`` written by a dl_lightning module whose ``on_save_checkpoint`` marked it ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{kind} checkpoint {path} not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{path}: not a readable checkpoint ({str(err).splitlines()[0][:100]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("dl_lightning", {}).get("kind") != kind:
        raise UserError(f"{path}: not a dl_lightning {kind} checkpoint (train one with configs/{kind}/*.yaml)")
    return ckpt


def submodule_state(ckpt: dict, prefix: str) -> dict[str, torch.Tensor]:
    """The state dict of the module attribute ``prefix`` (e.g. ``"E"``) of a LightningModule checkpoint."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in ckpt["state_dict"].items() if k.startswith(p)}
