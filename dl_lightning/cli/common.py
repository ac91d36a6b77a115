"""Argument helpers shared by the CLIs."""

from __future__ import annotations

import torch

from dl_lightning.errors import UserError


def parse_vector(text: str | None, dim: int, name: str) -> torch.Tensor | None:
    """'0.1,-0.5,1' -> tensor of length ``dim`` (or None)."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if len(values) != dim:
        raise UserError(f"{name} needs {dim} values (the model's z_dyn size), got {len(values)}")
    return torch.tensor(values)


def horizon_arg(value, auto: float | None) -> float | None:
    """--horizon as a number, None for 'none', ``auto`` for 'auto'."""
    return {"none": None, "auto": auto}.get(str(value).lower(), value) if isinstance(value, str) else value
