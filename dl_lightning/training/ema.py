"""The generator's exponential moving average (StyleGAN2): the weights all sampling uses."""

from __future__ import annotations

import torch
from torch import nn


def ema_beta(batch_total: int, ema_kimg: float, images_seen: int, rampup: float | None) -> float:
    """Decay per step for a half-life of ``ema_kimg`` thousand images (at most ``rampup`` x images seen)."""
    ema_nimg = ema_kimg * 1000
    if rampup is not None:
        ema_nimg = min(ema_nimg, images_seen * rampup)
    return 0.5 ** (batch_total / max(ema_nimg, 1e-8))


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, beta: float) -> None:
    """G_ema <- lerp(G, G_ema, beta); buffers copied (the mapping's ``w_avg`` averaged over ranks first)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        w_avg = G.mapping.w_avg  # updated from each rank's own batch: average it
        torch.distributed.all_reduce(w_avg)
        w_avg /= torch.distributed.get_world_size()
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
