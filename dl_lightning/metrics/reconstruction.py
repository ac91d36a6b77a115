"""Reconstruction loss and metrics of a picture against its target: pixel MSE / PSNR and LPIPS (inversion,
encoder, upsampler). The LPIPS term's settings (:class:`PerceptualConfig`) live here once."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dl_lightning.metrics.lpips_metric import lpips_or_none


@dataclass
class PerceptualConfig:
    """LPIPS term of the reconstruction loss.

    Attributes:
        weight: LPIPS weight (0 disables it; then no backbone weights are needed).
        net: ``alex`` or ``vgg``.
        backbone_weights: local torchvision backbone weights (needed offline unless cached).
        random_backbone: randomly initialised backbone (tests only: exercises the code path).
    """

    weight: float = 1.0
    net: str = "alex"
    backbone_weights: str | None = None
    random_backbone: bool = False

    def build(self) -> torch.nn.Module | None:
        """The LPIPS module, or None for pixels only: when ``weight`` is 0, or when no backbone weights are
        available locally and none were asked for (one line says so; offline machines cannot download them)."""
        if self.weight <= 0:
            return None
        return lpips_or_none(self.net, self.backbone_weights, self.random_backbone, "using the pixel loss only")


def reconstruction_loss(x: torch.Tensor, target: torch.Tensor, lpips_model, lpips_weight: float) -> torch.Tensor:
    """Pixel MSE + ``lpips_weight`` x LPIPS, both averaged over the batch; inputs in [-1, 1]."""
    loss = F.mse_loss(x.float(), target.float())
    if lpips_model is not None and lpips_weight > 0:
        loss = loss + lpips_weight * lpips_model(x.float(), target.float()).mean()
    return loss


@torch.no_grad()
def recon_metrics(x: torch.Tensor, target: torch.Tensor, lpips_model=None) -> dict[str, float]:
    """MSE, PSNR (dB, data range 2 for [-1, 1]) and LPIPS (if a model is given)."""
    mse = F.mse_loss(x.float(), target.float()).item()
    out = {"mse": mse, "psnr": 10 * torch.log10(torch.tensor(4.0 / max(mse, 1e-12))).item()}
    if lpips_model is not None:
        out["lpips"] = lpips_model(x.float(), target.float()).mean().item()
    return out
