"""Pixel statistics that see speckles and blur, with no network at all.

* isolated-pixel rate: the share of pixels whose grey value differs from the median of its 3x3
  neighbourhood by more than ``threshold`` (grey in [0, 1]). A lone dark pixel in a smooth sky counts;
  an edge does not (the median follows an edge).
* mean |Laplacian|: the mean absolute 4-neighbour Laplacian of the grey image, the high-frequency
  energy. Speckles raise it, blur lowers it.

Compare a generator's values with real images' (``pixel_stats`` of each): the ratio is what matters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Grey-level distance from the 3x3 median above which a pixel counts as isolated ([0, 1] scale).
ISOLATED_THRESHOLD = 0.12


def grey(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, 1, H, W) luma in [0, 1]."""
    x = images.float().clamp(-1, 1).add(1).mul(0.5)
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]


def isolated_pixels(images: torch.Tensor, threshold: float = ISOLATED_THRESHOLD) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, 1, H-2, W-2) bool: |grey - median of its 3x3 neighbourhood| > threshold
    (interior pixels only, so the border never counts)."""
    g = grey(images)
    patches = F.unfold(g, 3).view(g.shape[0], 9, g.shape[2] - 2, g.shape[3] - 2)
    median = patches.median(dim=1, keepdim=True).values
    return (g[..., 1:-1, 1:-1] - median).abs() > threshold


def mean_abs_laplacian(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B,) mean |4-neighbour Laplacian| of the grey image (interior pixels)."""
    g = grey(images)
    lap = g[..., 1:-1, :-2] + g[..., 1:-1, 2:] + g[..., :-2, 1:-1] + g[..., 2:, 1:-1] - 4 * g[..., 1:-1, 1:-1]
    return lap.abs().mean(dim=(1, 2, 3))


def pixel_stats(batches) -> dict[str, float]:
    """Isolated-pixel rate and mean |Laplacian| over a stream of (B, 3, H, W) batches in [-1, 1]."""
    isolated = laplacian = pixels = count = 0.0
    for x in batches:
        iso = isolated_pixels(x)
        isolated += float(iso.sum())
        pixels += iso.numel()
        laplacian += float(mean_abs_laplacian(x).sum())
        count += x.shape[0]
    if not count:
        raise ValueError("pixel_stats needs at least one image")
    return {"isolated_rate": isolated / pixels, "mean_abs_laplacian": laplacian / count}
