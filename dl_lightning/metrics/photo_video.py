"""Does an animated photo stay the photo, and does it move where it should? The paper's check on a finished video.

For a photo (1, 3, H, W) in [-1, 1] and the frames of its animation (any size: the photo is resized to them):

* frame 0 against the photo: ``ssim`` (structural similarity, grey-level in [0, 1]), ``psnr`` (dB) and, with an
  LPIPS model, ``lpips``;
* motion: the mean |frame t+1 - frame t| (images in [0, 1]) inside the moving region (``mask``: white = moves) and
  outside it, and their ratio; without a mask, over the whole frame.

Frames are streamed: two are held at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure


@torch.no_grad()
def photo_video_metrics(
    photo: torch.Tensor, frames: Iterable[torch.Tensor], mask: torch.Tensor | None = None, lpips_model=None
) -> dict[str, float]:
    """The figures of the module docstring. ``frames``: (3, h, w) in [-1, 1]; ``mask``: (H, W) bool or None."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("the video has no frames")
    size = first.shape[-2:]
    ref = F.interpolate(photo.float(), size=size, mode="bilinear", antialias=True, align_corners=False)
    f0 = first.float()[None]
    mse = float(((f0 - ref) / 2).square().mean())
    out = {
        "frames": 1,
        "ssim": float(structural_similarity_index_measure((f0 + 1) / 2, (ref + 1) / 2, data_range=1.0)),
        "psnr": math.inf if mse == 0 else 10 * math.log10(1 / mse),
    }
    if lpips_model is not None:
        out["lpips"] = float(lpips_model(f0.clamp(-1, 1), ref.clamp(-1, 1)).mean())
    m = torch.ones(size, dtype=torch.bool) if mask is None else F.interpolate(
        mask[None, None].float(), size=size, mode="nearest")[0, 0] > 0.5  # fmt: skip
    inside = outside = 0.0
    prev = first.float()
    for frame in it:
        d = ((frame.float() - prev).abs() / 2).mean(0)
        inside += float(d[m].mean()) if m.any() else 0.0
        outside += float(d[~m].mean()) if (~m).any() else 0.0
        prev, out["frames"] = frame.float(), out["frames"] + 1
    steps = max(1, out["frames"] - 1)
    out["change_moving"], out["change_still"] = inside / steps, outside / steps
    out["ratio"] = out["change_moving"] / max(out["change_still"], 1e-12)
    return out
