"""Crops for D_dyn: the same crop on both frames of a pair, or two shifted crops of one frame.

Crops are taken with ``grid_sample`` at ``fraction`` of the side and resampled to ``size``
(D_dyn's input resolution), so every D_dyn input has the same scale statistics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _crop(images: torch.Tensor, centres: torch.Tensor, fraction: float, size: int) -> torch.Tensor:
    """images (N,3,H,W), centres (N,2) in normalised [-1+f, 1-f] coordinates -> (N,3,size,size).

    When shrinking, the input is first low-passed by area averaging to the crop's scale.
    """
    n = images.shape[0]
    crop_px = fraction * images.shape[-1]
    if crop_px >= 2 * size:  # avoid aliasing: area-downsample so the crop is < 2x the output
        factor = int(crop_px // size)
        images = F.avg_pool2d(images, factor)
    theta = torch.zeros(n, 2, 3, device=images.device, dtype=torch.float32)
    theta[:, 0, 0] = theta[:, 1, 1] = fraction
    theta[:, :, 2] = centres
    grid = F.affine_grid(theta, [n, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False).to(
        images.dtype
    )


def random_centres(n: int, fraction: float, device, generator: torch.Generator | None = None) -> torch.Tensor:
    return (torch.rand(n, 2, device=device, generator=generator) * 2 - 1) * (1 - fraction)


def same_crop(
    pairs: torch.Tensor, fraction: float, size: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One random crop, identical for both frames: (B,2,3,H,W) -> (B,2,3,size,size)."""
    size = size or pairs.shape[-1]
    if fraction >= 1.0 and size == pairs.shape[-1]:
        return pairs
    b = pairs.shape[0]
    c = random_centres(b, fraction, pairs.device, generator)
    return _crop(pairs.flatten(0, 1), c.repeat_interleave(2, 0), fraction, size).unflatten(0, (b, 2))


def shifted_crops(
    frames: torch.Tensor,
    fraction: float,
    min_shift: float,
    size: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Two crops of the same frame at places at least ``min_shift`` apart (fraction of the side).

    frames (B,3,H,W) -> pairs (B,2,3,size,size): a perfectly sharp, 'real-looking' pair that is
    inconsistent (the whole scene moved), which D_dyn must call fake.
    """
    b, size = frames.shape[0], size or frames.shape[-1]
    span = 1 - fraction  # centres live in [-span, span] (normalised units: image side = 2)
    if span <= 0:
        raise ValueError("shifted crops need crop fraction < 1")
    min_shift = min(2 * min_shift, 2 * span)  # fraction of the side -> normalised units, at most the range
    c1 = random_centres(b, fraction, frames.device, generator)
    angle = torch.rand(b, device=frames.device, generator=generator) * 2 * torch.pi
    dist = min_shift + torch.rand(b, device=frames.device, generator=generator) * (2 * span - min_shift)
    c2 = c1 + dist[:, None] * torch.stack([angle.cos(), angle.sin()], 1)
    c2 = c2.clamp(-span, span)
    # clamping may pull c2 back too close: then mirror it to the other side of c1
    too_close = (c2 - c1).norm(dim=1) < min_shift * 0.999
    c2[too_close] = (c1[too_close] - (c2[too_close] - c1[too_close]).sign() * min_shift).clamp(-span, span)
    return torch.stack([_crop(frames, c1, fraction, size), _crop(frames, c2, fraction, size)], 1)


def either_frame(pairs: torch.Tensor) -> torch.Tensor:
    """One frame of each pair (B,2,3,R,R) -> (B,3,R,R), chosen at random, so D_st judges both frames (the frame
    itself for the warm-up's (B,1,3,R,R))."""
    pick = torch.randint(0, pairs.shape[1], (pairs.shape[0],), device=pairs.device)
    return pairs[torch.arange(pairs.shape[0], device=pairs.device), pick]


def mix_shifted_crops(
    fake: torch.Tensor, real_frames: torch.Tensor, prob: float, fraction: float, min_shift: float, size: int
) -> torch.Tensor:
    """Cropped fake pairs (B,2,3,size,size), each replaced with probability ``prob`` by :func:`shifted_crops` of a
    real frame (B,3,H,W): D_dyn's fakes include sharp, real-looking pairs whose whole scene moved."""
    if prob <= 0:
        return fake
    use = torch.rand(fake.shape[0], device=fake.device) < prob
    if not use.any():
        return fake
    shifted = shifted_crops(real_frames, fraction, min_shift, size)
    return torch.where(use[:, None, None, None, None], shifted.to(fake.dtype), fake)
