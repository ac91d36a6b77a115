"""The non-finite-loss guard of the GAN step: every rank agrees whether a step's losses are finite."""

from __future__ import annotations

from typing import Literal

import torch

from dl_lightning.errors import UserError


class NonFiniteLossError(UserError):
    """A loss became NaN/inf (the message names the step)."""


def losses_finite(losses: dict[str, torch.Tensor], strategy, policy: Literal["raise", "skip"], step: int) -> bool:
    """True if every loss is finite on every rank (``strategy.reduce_boolean_decision``), else False with
    ``policy='skip'`` (the caller skips the update) or :class:`NonFiniteLossError` with ``policy='raise'``."""
    bad = [k for k, v in losses.items() if not torch.isfinite(v).all()]
    if not strategy.reduce_boolean_decision(bool(bad), all=False):
        return True
    if policy == "raise":
        raise NonFiniteLossError(
            f"non-finite loss {bad or '(on another rank)'} at step {step}; "
            "lower the learning rates, or set model.nan_policy=skip"
        )
    return False
