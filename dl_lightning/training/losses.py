"""GAN losses and regularisers: StyleGAN2's logistic losses, R1 and path length; the relativistic pairing loss
with R1 and R2 (RpGAN, as R3GAN, Huang et al. NeurIPS 2024, uses it); and the stillness term."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def d_logistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator logistic loss: softplus(D(fake)) + softplus(-D(real)), averaged."""
    return F.softplus(fake_logits.float()).mean() + F.softplus(-real_logits.float()).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator non-saturating loss: softplus(-D(fake)), averaged."""
    return F.softplus(-fake_logits.float()).mean()


def relativistic(better: torch.Tensor, worse: torch.Tensor) -> torch.Tensor:
    """Relativistic pairing loss softplus(-(D(better) - D(worse))), averaged over pairs matched by index: D's loss
    with (real, fake), G's with (fake, real). Each fake is judged against a real, not against a fixed boundary, so
    the loss has no mode that D can win by pushing all logits one way."""
    return F.softplus(worse.float() - better.float()).mean()


#: The adversarial losses of ``DeepLandscapeGAN(loss=...)``.
LOSSES = ("logistic", "relativistic")


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D's loss of :data:`LOSSES` kind ``kind``."""
    return relativistic(real_logits, fake_logits) if kind == "relativistic" else d_logistic(real_logits, fake_logits)


def g_loss(kind: str, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """G's loss of kind ``kind``: non-saturating, or relativistic against ``real_logits`` (same batch, no grad)."""
    return relativistic(fake_logits, real_logits) if kind == "relativistic" else g_nonsaturating(fake_logits)


def r1_penalty(discriminator, real: torch.Tensor) -> torch.Tensor:
    """R1 = E ||d D(x) / d x||^2 on real inputs (R2: the same on fakes), computed in fp32 (autocast off)."""
    real = real.detach().float().requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        logits = discriminator(real)
        (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def path_length_penalty(images: torch.Tensor, ws: torch.Tensor, mean: torch.Tensor, decay: float = 0.01):
    """StyleGAN2 path-length regulariser; returns (penalty, lengths mean, updated running mean)."""
    noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images.float() * noise).sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(2).mean(1).sqrt()
    new_mean = mean.lerp(lengths.mean().detach(), decay)
    return (lengths - new_mean).square().mean(), lengths.mean().detach(), new_mean


def still_penalty(moved: torch.Tensor, reference: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
    """Mean |moved - reference| (images (B,3,H,W)) over the pixels where ``static`` (B,1,H,W) is true."""
    m = static.to(moved.dtype)
    return ((moved.float() - reference.float()).abs() * m).sum() / (3 * m.sum()).clamp(min=1)
