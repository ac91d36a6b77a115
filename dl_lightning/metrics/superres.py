"""Super-resolution quality: PSNR and LPIPS of the x4 upsampler against bicubic on held-out frames."""

from __future__ import annotations

import torch

from dl_lightning.data.superres import downscale
from dl_lightning.metrics.reconstruction import recon_metrics
from dl_lightning.models.upsampler import bicubic


@torch.no_grad()
def superres_metrics(
    net: torch.nn.Module, high: torch.Tensor, lpips_model=None, batch: int = 16
) -> dict[str, dict[str, float]]:
    """{"upsampler": {...}, "bicubic": {...}} with mse, psnr (and lpips if a model is given), averaged over frames.

    ``high``: (N, 3, H, W) in [-1, 1] with H, W multiples of 4; each is box-downscaled x4 and restored.
    """
    sums: dict[str, dict[str, float]] = {"upsampler": {}, "bicubic": {}}
    for i in range(0, len(high), batch):
        hr = high[i : i + batch]
        lr = downscale(hr)
        for name, out in (("upsampler", net(lr)), ("bicubic", bicubic(lr))):
            for k, v in recon_metrics(out.clamp(-1, 1), hr, lpips_model).items():
                sums[name][k] = sums[name].get(k, 0.0) + v * len(hr)
    return {name: {k: v / len(high) for k, v in m.items()} for name, m in sums.items()}
