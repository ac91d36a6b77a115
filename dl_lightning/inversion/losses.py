"""Reconstruction losses, metrics and latent/noise regularisers for inversion."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dl_lightning.metrics.lpips_metric import load_lpips, lpips_backbone_available
from dl_lightning.models.generator import Generator
from dl_lightning.models.lighting import LightingNet


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
        if self.backbone_weights is None and not self.random_backbone and not lpips_backbone_available(self.net):
            print(f"note: no local {self.net} weights for LPIPS (--lpips-weights PATH); using the pixel loss only")
            return None
        return load_lpips(self.net, self.backbone_weights, self.random_backbone)


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
