"""Water on a photo's coarse moving region (step 3 of :mod:`dl_lightning.photo.region`): still water that mirrors a
coloured sky (:func:`mirrored_sky`), the rest of a lake that its found part continues into (:func:`calm_water`), and
"water" coloured like the land (:func:`drop_land_coloured`). Masks are (h, w) at the coarse side; ``lab`` is the photo
there in CIELAB (3, h, w)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

#: Calm water: a step between coarse pixels costs its CIELAB difference beyond this (a smooth gradient costs nothing).
WATER_FLOOR = 1.0
#: Calm water: a step up costs this many times more (a lake's far shore, and the hazy hill above it, lie above it).
WATER_UPHILL = 3.0
#: Calm water: a moving region apart from the sky is water when it holds at least this share of the coarse pixels.
WATER_SHARE = 0.005
#: Mirrored sky: a still pixel below the sky reflects it when its chroma (CIELAB a, b) lies within this of the sky's
#: pixel as far above the horizon as it lies below, ...
MIRROR_CHROMA = 6.0
#: ... its lightness lies within this range of that sky pixel's (a reflection is darker; up to 45 darker, 5 lighter),
MIRROR_LIGHTNESS = (-45.0, 5.0)
#: ... the sky pixel has at least this chroma (a grey sky says nothing: grey boards under fog would pass),
MIRROR_SKY_CHROMA = 10.0
#: ... and the lightness varies by less than this (standard deviation over 3 x 3 coarse pixels: calm water is smooth).
MIRROR_TEXTURE = 2.5


def regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 4-connected regions of a (h, w) bool ``mask``: labels (h, w) int (0 = outside it, 1..n), and per label
    0..n its size in pixels (0 for label 0) and whether it touches the top row (the sky's regions do)."""
    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    sky = np.zeros(n + 1, bool)
    sky[labels[0]] = True
    sky[0] = False
    return labels, sizes, sky


def mirrored_sky(moving: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """(h, w) bool: the still pixels of a coarse mask ``moving`` (h, w) bool that reflect the sky above them.

    In each column whose top pixel is sky (the moving region touching the top row), the horizon is the sky's first
    still pixel; a still pixel ``d`` rows below it is compared with the sky pixel ``d`` rows above it (``lab`` (3, h,
    w), the photo at the coarse size): it reflects it when that sky pixel has a colour (:data:`MIRROR_SKY_CHROMA`),
    the still pixel is smooth (:data:`MIRROR_TEXTURE`), has nearly its chroma (:data:`MIRROR_CHROMA`) and a lightness
    near it (:data:`MIRROR_LIGHTNESS`). Groups of such pixels holding at least :data:`WATER_SHARE` of the pixels are
    water.
    """
    h, w = moving.shape
    labels, _, is_sky = regions(moving)
    sky = is_sky[labels]
    horizon = np.where(sky.all(0), h, np.argmin(sky, axis=0))  # (w,) the first non-sky row of each column
    rows = np.arange(h)[:, None]
    mirror = 2 * horizon[None] - 1 - rows  # (h, w) the sky row as far above the horizon
    cols = np.broadcast_to(np.arange(w)[None], (h, w))
    below = sky[0][None] & (rows >= horizon[None]) & (mirror >= 0) & ~moving
    above = lab[:, mirror.clip(0, h - 1), cols]  # (3, h, w)
    light = lab[0]
    spread = np.sqrt(np.clip(ndimage.uniform_filter(light**2, 3) - ndimage.uniform_filter(light, 3) ** 2, 0, None))
    dl = light - above[0]
    reflects = (
        below
        & (np.hypot(*above[1:]) >= MIRROR_SKY_CHROMA)
        & (spread < MIRROR_TEXTURE)
        & (np.hypot(*(lab[1:] - above[1:])) < MIRROR_CHROMA)
        & (dl > MIRROR_LIGHTNESS[0])
        & (dl < MIRROR_LIGHTNESS[1])
    )
    groups, sizes, _ = regions(reflects)
    return (sizes >= WATER_SHARE * moving.size)[groups]  # label 0 (size 0) never


def calm_water(moving: np.ndarray, lab: np.ndarray, reach: float) -> np.ndarray:
    """(h, w) bool: the still pixels of a coarse mask ``moving`` (h, w) bool that its water continues into.

    Water is each moving region that does not touch the top row (the sky does) and holds at least
    :data:`WATER_SHARE` of the pixels. A still pixel joins it when a path of 4-neighbours leads to it from the water
    whose steps' CIELAB differences (``lab`` (3, h, w), the photo at the coarse size), each less :data:`WATER_FLOOR`
    and times :data:`WATER_UPHILL` for a step up, sum to less than ``reach``: the rest of a lake across a smooth
    gradient, not its shore, a boat or a far hill behind an edge.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    if not moving.any() or moving.all():
        return np.zeros_like(moving)
    labels, sizes, sky = regions(moving)
    water = ((sizes >= WATER_SHARE * moving.size) & ~sky)[labels]
    if not water.any():
        return np.zeros_like(moving)
    h, w = moving.shape
    index = np.arange(h * w).reshape(h, w)
    across = np.linalg.norm(lab[:, :, 1:] - lab[:, :, :-1], axis=0)  # (h, w - 1)
    along = np.linalg.norm(lab[:, 1:] - lab[:, :-1], axis=0)  # (h - 1, w)
    moves = [  # (from, to, CIELAB difference, cost factor): right, left, down, up
        (index[:, :-1], index[:, 1:], across, 1.0),
        (index[:, 1:], index[:, :-1], across, 1.0),
        (index[:-1], index[1:], along, 1.0),
        (index[1:], index[:-1], along, WATER_UPHILL),
    ]
    start, end = (np.concatenate([m[k].ravel() for m in moves]) for k in (0, 1))
    cost = np.concatenate([(np.maximum(d - WATER_FLOOR, 0) * f).ravel() for _, _, d, f in moves])
    cost += 1e-3  # a zero weight would be read as no edge
    graph = coo_matrix((cost, (start, end)), shape=(h * w, h * w)).tocsr()
    distance = dijkstra(graph, indices=np.flatnonzero(water), min_only=True, limit=reach).reshape(h, w)
    return (distance < reach) & ~moving


def drop_land_coloured(mask: torch.Tensor, photo: torch.Tensor, margin: float = 0.5) -> tuple[torch.Tensor, int]:
    """Remove from a predicted (1, 1, R, R) dynamic mask the regions that look like the land, not the sky.

    A real photo can fool a segmenter trained on synthetic scenes (sunlit grass read as water). Regions
    that touch the top edge are sky and always stay. Any other region (water candidates) is dropped when
    its mean chromaticity (r, g, b over their sum: brightness does not count) is nearer the land's
    (the static pixels) than ``margin`` times its distance to the sky's. On the true masks of 256 frames of
    the embedded synthetic videos it keeps 153 of the 154 water regions not joined to the sky. Without a sky
    region there is no reference and nothing is dropped. Returns the mask and the number of pixels dropped
    (at R x R).
    """
    dyn = mask[0, 0] > 0.5
    labels, sizes, sky = regions(dyn.cpu().numpy())
    n, top = len(sizes) - 1, set(np.flatnonzero(sky).tolist())
    labels = torch.from_numpy(labels.astype(np.int64)).to(mask.device)
    if not top or n == len(top) or not (~dyn).any():
        return mask, 0
    rgb = photo[0].float().add(1)
    chroma = rgb / rgb.sum(0, keepdim=True).clamp_min(1e-6)  # (3, R, R)
    sky = chroma[:, torch.isin(labels, torch.tensor(sorted(top), device=labels.device))].mean(1)
    land = chroma[:, ~dyn].mean(1)
    keep = dyn.clone()
    for k in set(range(1, n + 1)) - top:
        c = chroma[:, labels == k].mean(1)
        if (c - land).norm() < margin * (c - sky).norm():
            keep &= labels != k
    return keep.to(mask.dtype)[None, None], int((dyn & ~keep).sum())
