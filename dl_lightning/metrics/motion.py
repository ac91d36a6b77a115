"""Dynamic-region motion: does a time-lapse move where it should (sky, water) and stay still elsewhere?

For each video, the mean absolute consecutive-frame change (pixels in [0, 1]) inside the dynamic
region and outside it. Generated videos get their region from the segmenter (on the first
frame); real synthetic videos are measured with their true masks and with predicted ones, so
the two are comparable. Reported per set of videos:

* ``dynamic``, ``static``: mean change inside / outside the region (averaged over videos);
* ``ratio``: dynamic / static (the ground nearly still: large);
* ``excess``: dynamic - static, the motion beyond what the whole frame does (lighting).

Videos whose region is empty or covers the whole frame cannot be split and are counted in
``skipped``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from tqdm import tqdm

from dl_lightning.animation import METRIC_MOTION, Motion, sample_timelapse
from dl_lightning.models.generator import VIEW_TRUNCATION, Generator
from dl_lightning.models.segmenter import Segmenter


def region_change(video: torch.Tensor, dynamic: torch.Tensor) -> tuple[float, float] | None:
    """Mean |x[t+1] - x[t]| (in [0, 1] units) inside and outside ``dynamic`` (H, W) bool for a video
    (T, 3, H, W) in [-1, 1]; None if the mask is empty or full."""
    if video.dim() != 4 or video.shape[0] < 2 or dynamic.shape != video.shape[-2:]:
        raise ValueError(
            f"video must be (T>=2, 3, H, W) with an (H, W) mask, got {tuple(video.shape)}, {tuple(dynamic.shape)}"
        )
    return split_change(pixel_change(video[:-1], video[1:]).mean(0), dynamic)


def pixel_change(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|b - a| per pixel, averaged over the colour channels, in [0, 1] units, of frames (..., 3, H, W) in [-1, 1]:
    (..., H, W)."""
    return (b.float() - a.float()).abs().mean(dim=-3) / 2


def split_change(change: torch.Tensor, dynamic: torch.Tensor) -> tuple[float, float] | None:
    """Mean of a per-pixel change map (H, W) inside and outside ``dynamic``; None if the mask is empty or full."""
    m = dynamic.bool()
    if m.all() or not m.any():
        return None
    return float(change[m].mean()), float(change[~m].mean())


class RegionChange:
    """Running mean frame-to-frame change (pixels in [0, 1]) of a stream of frames (1, 3, H, W) in [-1, 1] inside
    the static (``alpha`` 0) and dynamic (``alpha`` > 0.5) parts of a photo's alpha (1, 1, H, W) in [0, 1]."""

    def __init__(self, alpha: torch.Tensor):
        self.static, self.dynamic = alpha[0, 0] == 0, alpha[0, 0] > 0.5
        self.prev, self.sums, self.n = None, {"static": 0.0, "dynamic": 0.0}, 0

    def add(self, frame: torch.Tensor) -> None:
        if self.prev is not None:
            d = pixel_change(self.prev, frame[0])
            for name, m in (("static", self.static), ("dynamic", self.dynamic)):
                self.sums[name] += float(d[m].mean()) if m.any() else 0.0
            self.n += 1
        self.prev = frame[0]

    def result(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {f"change_{k}": v / n for k, v in self.sums.items()} | {
            "static_share": float(self.static.float().mean()),
            "dynamic_share": float(self.dynamic.float().mean()),
        }


def summarise(pairs: Iterable[tuple[float, float] | None]) -> dict[str, float]:
    """Mean dynamic / static change over videos, their ratio and difference, and how many were skipped."""
    pairs = list(pairs)
    kept = [p for p in pairs if p is not None]
    if not kept:
        return {
            "dynamic": float("nan"),
            "static": float("nan"),
            "ratio": float("nan"),
            "excess": float("nan"),
            "videos": 0,
            "skipped": len(pairs),
        }
    dyn = sum(p[0] for p in kept) / len(kept)
    st = sum(p[1] for p in kept) / len(kept)
    return {
        "dynamic": dyn,
        "static": st,
        "ratio": dyn / max(st, 1e-8),
        "excess": dyn - st,
        "videos": len(kept),
        "skipped": len(pairs) - len(kept),
    }


@torch.no_grad()
def generated_motion(
    G: Generator,
    segmenter: Segmenter,
    num: int = 16,
    frames: int = 16,
    motion: str | Motion = METRIC_MOTION,
    daytime: str = "fixed",
    truncation: float = VIEW_TRUNCATION,
    seed: int = 0,
    batch: int = 16,
) -> dict[str, float]:
    """Motion figures of ``num`` generated time-lapses (``motion`` preset, ``daytime`` path).

    Masks come from ``segmenter`` on the first frame, ``batch`` videos at a time. Frames are consumed as
    they are rendered (memory: two frames of every video, not the whole videos)."""
    if frames < 2:
        raise ValueError(f"frames must be >= 2, got {frames}")
    seg, masks, prev, total = segmenter, None, None, 0.0
    for frame in sample_timelapse(G, num, frames, seed, motion, daytime, truncation):  # (N, 3, R, R)
        if masks is None:
            seg = seg.to(frame.device)
            masks = torch.cat([seg.predict(frame[i : i + batch]) for i in range(0, num, batch)])
        else:
            total = total + (frame.float() - prev.float()).abs().mean(dim=1)  # (N, R, R)
        prev = frame
    change = total / (frames - 1) / 2  # mean over time, [-1, 1] -> [0, 1] units
    pairs = [split_change(change[i], masks[i]) for i in range(num)]
    return summarise(pairs)


@torch.no_grad()
def motion_by_layer(G: Generator, segmenter: Segmenter, **kwargs) -> dict[str, dict[str, float]]:
    """:func:`generated_motion` with S_dyn acting in one synthesis layer at a time: rows ``<i>_<res>px``.

    Every other layer's S_dyn strength is zeroed (on one copy of ``G``), so a row says how much sky and land
    motion that layer's S_dyn makes on its own: which layers carry the clouds, and which move the ground.
    ``kwargs``: those of :func:`generated_motion` (videos, frames, preset, daytime path, ...)."""
    only, rows = copy.deepcopy(G), {}
    for i, res in enumerate(G.layer_res):
        if not G.layers[i].dynamic:
            continue
        for j, layer in enumerate(only.layers):
            layer.strength_dyn.copy_(G.layers[j].strength_dyn if j == i else 0)
        rows[f"{i:02d}_{res}px"] = generated_motion(only, segmenter, **kwargs)
    return rows


@torch.no_grad()
def real_motion(
    videos: Iterable[tuple[torch.Tensor, torch.Tensor | None]], segmenter: Segmenter | None = None
) -> dict[str, dict[str, float]]:
    """Motion figures of real videos (T, 3, H, W) with their true masks and, given a segmenter, predicted ones."""
    true, pred = [], []
    for video, mask in videos:
        if mask is not None:
            true.append(region_change(video, mask))
        if segmenter is not None:
            pred.append(
                region_change(video, segmenter.predict(video[:1].to(next(segmenter.parameters()).device))[0].cpu())
            )
    out = {"true_masks": summarise(true)} if true else {}
    if segmenter is not None:
        out["predicted_masks"] = summarise(pred)
    return out


def motion_table(
    G: Generator,
    segmenter: Segmenter,
    real_videos: Iterable[tuple[torch.Tensor, torch.Tensor | None]],
    presets: list[str],
    daytimes: list[str],
    num: int = 32,
    frames: int = 16,
    truncation: float = VIEW_TRUNCATION,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Rows ``generated/<preset>/<daytime>`` (every pair of ``presets`` x ``daytimes``) and ``real/true_masks``,
    ``real/predicted_masks`` for ``real_videos``: the dynamic-region motion table of ``dl-eval gan``."""
    settings = [(m, d) for m in presets for d in daytimes]
    table = {
        f"generated/{m}/{d}": generated_motion(G, segmenter, num, frames, m, d, truncation, seed)
        for m, d in tqdm(settings, desc="motion", unit="setting")
    }
    table.update({f"real/{k}": v for k, v in real_motion(real_videos, segmenter).items()})
    return table
