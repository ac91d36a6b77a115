"""The GAN's schedules over iterations, each a pure function of the iteration number (so the same on every rank and
after a resume): a linear decay, a share of iterations, lazy intervals, the learning-rate ramp-down."""

from __future__ import annotations

import math
import random

import torch


def linear_decay(start: float, final: float, step: int, steps: int) -> float:
    """``start`` moving linearly to ``final`` over iterations 0..``steps``, then ``final``
    (``steps`` <= 0: ``start``)."""
    return start if steps <= 0 else start + (final - start) * min(step / steps, 1.0)


def in_share(step: int, share: float) -> bool:
    """Whether iteration ``step`` is among a ``share`` of iterations drawn by a generator seeded with ``step``."""
    return share >= 1 or random.Random(step).random() < share


def due(step: int, every: dict[str, int]) -> list[str]:
    """The names whose interval ``every[name]`` divides ``step`` (an interval <= 0: never)."""
    return [name for name, n in every.items() if n > 0 and step % n == 0]


def cosine_rampdown(step: int, max_steps: int, steps: int) -> float:
    """Factor at iteration ``step``: 1, then over the last ``steps`` iterations before ``max_steps``
    0.5 (1 + cos(pi t)), t rising from 0 to 1 (0 from ``max_steps`` on; ``steps`` <= 0: always 1)."""
    left = max_steps - step if steps > 0 else steps
    return 1.0 if left >= steps else 0.5 * (1 + math.cos(math.pi * (1 - max(left, 0) / steps)))


def set_learning_rates(rates: list[tuple[torch.optim.Optimizer, float]], scale: float) -> None:
    """Every parameter group of each optimiser at its base rate x ``scale``."""
    for opt, lr in rates:
        for group in opt.param_groups:
            group["lr"] = lr * scale
