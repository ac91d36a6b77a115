"""Latent and noise regularisers of the inversion (the reconstruction loss and metrics: ``metrics.reconstruction``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dl_lightning.models.generator import Generator
from dl_lightning.models.lighting import LightingNet


def noise_regularizer(noises: list[torch.Tensor]) -> torch.Tensor:
    """Keeps optimised noise maps white and unit-variance (StyleGAN2 projector-style).

    Penalises the squared horizontal/vertical autocorrelation at every scale down to 8 px, plus
    the deviation of mean and variance from N(0, 1).
    """
    loss = 0.0
    for n in noises:
        if n.numel() > 1:  # a single value has no variance
            loss = loss + n.mean().square() + (n.var() - 1).square()
        x = n
        while True:
            loss = (
                loss + (x * torch.roll(x, 1, dims=3)).mean().square() + (x * torch.roll(x, 1, dims=2)).mean().square()
            )
            if x.shape[2] <= 8:
                break
            x = F.avg_pool2d(x, 2) * 2  # keeps unit variance of white noise
    return loss


def wplus_regularizer(
    ws: torch.Tensor, G: Generator, A: LightingNet | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """In-domain terms for W+ (B, num_ws, w_dim): (spread, domain).

    spread: mean squared deviation of the per-layer styles from their mean (W+ close to W).
    domain: with A, distance between the mean style and its projection M(A(w)) onto the mapping's
    range; without A, squared distance to ``w_avg`` scaled by 1/w_dim (a weak pull to the centre).
    """
    mean = ws.mean(dim=1, keepdim=True)
    spread = (ws - mean).square().mean()
    w = mean[:, 0]
    if A is not None:
        z_st, z_dyn = A(w)
        domain = (G.mapping(z_st, z_dyn) - w).square().mean()
    else:
        domain = (w - G.mapping.w_avg).square().mean() / w.shape[-1]
    return spread, domain


def zero_noise(G: Generator, batch: int, device=None) -> list[torch.Tensor]:
    """All-zero noise maps for every layer (deterministic reconstructions)."""
    return [torch.zeros(batch, 1, r, r, device=device or G.const.device) for r in G.layer_res]
