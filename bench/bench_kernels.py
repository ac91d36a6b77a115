"""Kernel benchmarks: the dense GEMM peak the training step is compared with, and the two forms of the
discriminator's downsampling (so the choice in ``layers.downsample2_form`` can be checked on each machine)."""

from __future__ import annotations

import torch
from bench_common import DEV, seconds_per_call

from dl_lightning.models.layers import downsample2_adds, downsample2_conv


def gemm_peak(dtype: torch.dtype, reps: int = 5, rounds: int = 3) -> float:
    """FLOP/s of a large square matrix product on random data: the best of ``rounds`` timings of ``reps`` products."""
    n = 8192 if DEV.type == "cuda" else 2048
    reps = reps * 4 if DEV.type == "cuda" else reps
    a, b = (torch.randn(n, n, device=DEV).to(dtype) for _ in range(2))
    return 2 * n**3 / seconds_per_call(lambda: a @ b, reps, warmup=3, rounds=rounds)


def downsample_speed(dtype: torch.dtype, reps: int = 10) -> dict[str, float]:
    """Milliseconds of forward + backward of each form of ``downsample2`` on a D_st-sized activation
    (batch 32, 16 channels, 64 px, channels_last)."""
    x = torch.randn(32, 16, 64, 64, device=DEV).to(dtype).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    forms = {"conv": downsample2_conv, "adds": downsample2_adds}
    return {
        name: 1e3 * seconds_per_call(lambda f=form: f(x).float().square().sum().backward(), reps, warmup=2)
        for name, form in forms.items()
    }
