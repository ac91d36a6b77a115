"""How well a predicted moving region matches a true one (the real-photo benchmark's figures).

All masks are (H, W) bool, True = moves. With ``pred`` the prediction (an alpha thresholded at 0.5) and
``truth`` the hand mask:

* ``iou``: intersection over union of the moving region;
* ``boundary_f``: F-score of the two edges, an edge pixel matching when the other edge lies within
  ``tolerance`` x the image diagonal (0.0075, as DAVIS);
* ``sky_still``: share of the true moving region left still;
* ``structures_moving``: share of the still things against the sky or water that move: ``structures`` when given
  (the hard cases know their towers and trees), else the still pixels within ``band`` x the short side of the
  true moving region (the tree tops, ridge lines, boats and piers of a photo).

Both leak figures leave out the pixels within ``margin`` px of the true edge, where a hand mask is itself unsure,
except given ``structures``: they are exact (drawn by the renderer), and a tower 1-2 px wide lies within the margin
whole.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def edge(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` with a 4-neighbour outside it (the image border does not count)."""
    padded = np.pad(mask, 1, mode="edge")
    return mask & ~ndimage.binary_erosion(padded, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool))[1:-1, 1:-1]


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 0.0075) -> float:
    """F-score of the edges of ``pred`` and ``truth`` (1 when both have none)."""
    ep, et = edge(pred), edge(truth)
    if not ep.any() and not et.any():
        return 1.0
    if not ep.any() or not et.any():
        return 0.0
    d = tolerance * float(np.hypot(*pred.shape))
    precision = float((ndimage.distance_transform_edt(~et)[ep] <= d).mean())
    recall = float((ndimage.distance_transform_edt(~ep)[et] <= d).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def region_scores(
    pred: np.ndarray, truth: np.ndarray, structures: np.ndarray | None = None, margin: int = 2, band: float = 0.02
) -> dict[str, float]:
    """The figures of the module docstring for one image."""
    union = (pred | truth).sum()
    near_edge = ndimage.distance_transform_edt(~edge(truth)) <= margin if margin > 0 else np.zeros_like(truth)
    sky = truth & ~near_edge
    if structures is None:
        structures = ~truth & (ndimage.distance_transform_edt(~truth) <= band * min(truth.shape)) & ~near_edge
    structures = structures & ~truth
    return {
        "iou": float((pred & truth).sum() / union) if union else 1.0,
        "boundary_f": boundary_f(pred, truth),
        "sky_still": float((sky & ~pred).sum() / max(sky.sum(), 1)),
        "structures_moving": float((structures & pred).sum() / max(structures.sum(), 1)),
    }
