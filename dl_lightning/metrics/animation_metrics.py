"""Animation metrics that need no pretrained network.

All take a video ``(T, 3, H, W)`` in [-1, 1] (values are rescaled to [0, 1] first).

* ``frame_change``: mean absolute frame-to-frame change inside and outside the dynamic mask and
  their ratio (a good animation moves the sky/water and keeps the land still: ratio >> 1).
* ``flicker``: mean absolute temporal second difference |x[t+1] - 2 x[t] + x[t-1]|: smooth motion
  and smooth relighting give little, frame-to-frame jitter gives a lot.
* ``daytime_range``: largest distance between per-frame mean colours (RGB in [0, 1]) and the
  range of mean luminance: how far the global lighting travels during the video.
"""

from __future__ import annotations

import torch

from dl_lightning.animation import DEFAULT_MOTION, sample_timelapse
from dl_lightning.metrics.motion import pixel_change, split_change


def _checked(video: torch.Tensor) -> torch.Tensor:
    """A (T>=2, 3, H, W) video as float, clamped to [-1, 1]."""
    if video.dim() != 4 or video.shape[1] != 3 or video.shape[0] < 2:
        raise ValueError(f"video must be (T>=2, 3, H, W), got {tuple(video.shape)}")
    return video.float().clamp(-1, 1)


def _unit(video: torch.Tensor) -> torch.Tensor:
    return (_checked(video) + 1) / 2


def frame_change(video: torch.Tensor, dynamic_mask: torch.Tensor | None = None) -> dict[str, float]:
    """Mean |x[t+1] - x[t]| overall and, given a (H, W) bool mask, inside/outside it and their ratio."""
    v = _checked(video)
    change = pixel_change(v[:-1], v[1:]).mean(0)  # (H, W), [0, 1] units
    out = {"change_all": float(change.mean())}
    if dynamic_mask is not None:
        split = split_change(change, dynamic_mask)
        if split is None:
            raise ValueError("dynamic mask must contain both dynamic and static pixels")
        dyn, st = split
        out.update({"change_dynamic": dyn, "change_static": st, "dynamic_static_ratio": dyn / max(st, 1e-8)})
    return out


def flicker(video: torch.Tensor) -> float:
    """Mean |x[t+1] - 2 x[t] + x[t-1]| (0 for static or linearly changing videos)."""
    v = _unit(video)
    if v.shape[0] < 3:
        return 0.0
    return float((v[2:] - 2 * v[1:-1] + v[:-2]).abs().mean())


def daytime_range(video: torch.Tensor) -> dict[str, float]:
    """How far global colour statistics move: max pairwise distance of mean RGB, and luminance range."""
    v = _unit(video)
    means = v.mean(dim=(2, 3))  # (T, 3)
    lum = means @ torch.tensor([0.299, 0.587, 0.114])
    return {"colour_range": float(torch.cdist(means, means).max()), "luminance_range": float(lum.max() - lum.min())}


def animation_metrics(video: torch.Tensor, dynamic_mask: torch.Tensor | None = None) -> dict[str, float]:
    """All of the above for one video."""
    return {**frame_change(video, dynamic_mask), "flicker": flicker(video), **daytime_range(video)}


def mean_of(rows: list[dict[str, float]]) -> dict[str, float]:
    """Per-key mean of metric dicts (empty for no rows)."""
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} if rows else {}


@torch.no_grad()
def generated_animation(
    G, videos: int, frames: int, seed: int = 0, motion: str = DEFAULT_MOTION, daytime: str = "slerp", truncation=1.0
) -> dict[str, float]:
    """:func:`animation_metrics` averaged over ``videos`` random time-lapses of G (``animation.sample_timelapse``)."""
    video = torch.stack([f.cpu() for f in sample_timelapse(G, videos, frames, seed, motion, daytime, truncation)])
    return mean_of([animation_metrics(video[:, i]) for i in range(videos)])  # video: (T, N, 3, R, R)
