"""Still things that rise from the land into the sky, found at the photo's full resolution (step 5 of
:mod:`dl_lightning.photo.region`): masts, wires and twigs (:func:`thin_structures`), towers, minarets and trunks
that stand out from the sky on either side (:func:`towers`), upright things that show only by their two
straight sides (:func:`paired_edges`), and distant hills under a ridge line (:func:`ridge_bands`). Each takes the
alpha so far (< 0.5: land) and the photo (1, 3, H, W) in [-1, 1] and returns (1, 1, H, W) bool: the pixels to keep
still."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def cielab(photo: torch.Tensor) -> torch.Tensor:
    """``photo`` (B, 3, H, W) in [-1, 1] as CIELAB (B, 3, H, W): L in [0, 100], a and b about [-100, 100]."""
    import kornia

    return kornia.color.rgb_to_lab(((photo.float() + 1) / 2).clamp(0, 1))


def thin_structures(
    alpha: torch.Tensor, photo: torch.Tensor, width: float = 1 / 200, contrast: float = 0.08
) -> torch.Tensor:
    """(1, 1, h, w) bool: thin things against the sky that rise from the land (towers, masts, antennas, tree tops,
    roof edges), too thin for the generator's 64 px mask.

    A pixel is a candidate when it stands out from its surroundings by more than ``contrast`` (grey, [0, 1]) at
    a scale up to ``width`` x the short side (4-5 px at 1024: the black and white top-hats, a closing or an
    opening with that square less the photo). Candidates are kept only when connected, through candidates, to
    the land (``alpha`` < 0.5): a mast or a tree top is, the texture inside a cloud is not.
    """
    h, w = photo.shape[-2:]
    k = 2 * max(1, round(width * min(h, w))) + 1

    def dilate(x: torch.Tensor) -> torch.Tensor:  # a square's max is separable: a row, then a column
        return F.max_pool2d(F.max_pool2d(x, (1, k), 1, (0, k // 2)), (k, 1), 1, (k // 2, 0))

    def erode(x: torch.Tensor) -> torch.Tensor:
        return -dilate(-x)

    grey = ((photo.float() + 1) / 2).mean(1, keepdim=True)
    standout = torch.maximum(erode(dilate(grey)) - grey, grey - dilate(erode(grey)))
    land = (alpha < 0.5)[0, 0].cpu().numpy()
    labels, _ = ndimage.label((standout[0, 0] > contrast).cpu().numpy() | land, np.ones((3, 3)))  # 8-connected
    thin = np.isin(labels, np.unique(labels[land])) & ~land
    thin = torch.from_numpy(thin).to(alpha.device)[None, None].float()
    return F.max_pool2d(thin, 3, 1, 1) > 0  # their anti-aliased edges too


def towers(
    alpha: torch.Tensor, photo: torch.Tensor, width: float = 1 / 50, contrast: float = 0.08, aspect: float = 3.0
) -> torch.Tensor:
    """(1, 1, h, w) bool: narrow upright things (towers, minarets, chimneys, trunks) up to ``width`` x the short side
    wide, standing out in some colour channel by more than ``contrast`` from the sky on either side of them (a top-hat
    with a horizontal line), that rise from the land (``alpha`` < 0.5) and are at least ``aspect`` times taller than
    wide. Clouds are wider than tall and do not pass."""
    h, w = photo.shape[-2:]
    k = 2 * max(1, round(width * min(h, w))) + 1
    rgb = (photo.float() + 1) / 2
    row_max = lambda x: F.max_pool2d(x, (1, k), 1, (0, k // 2))  # noqa: E731
    standout = torch.maximum(-row_max(-row_max(rgb)) - rgb, rgb - row_max(-row_max(-rgb))).amax(1, keepdim=True)
    land = (alpha < 0.5)[0, 0].cpu().numpy()
    candidates = (standout[0, 0] > contrast).cpu().numpy() & ~land
    labels, n = ndimage.label(candidates, np.ones((3, 3)))
    if n == 0:
        return torch.zeros_like(alpha, dtype=torch.bool)
    touching = np.unique(labels[ndimage.binary_dilation(land, np.ones((3, 3))) & candidates])
    keep = np.zeros(n + 1, bool)
    for i, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is not None and i in touching:
            keep[i] = (box[0].stop - box[0].start) >= aspect * (box[1].stop - box[1].start)
    return torch.from_numpy(keep[labels]).to(alpha.device)[None, None]


def paired_edges(
    alpha: torch.Tensor,
    photo: torch.Tensor,
    width: float = 1 / 25,
    contrast: float = 0.03,
    agree: float = 0.7,
    aspect: float = 2.0,
    straight: float = 0.7,
    blur: float = 1 / 400,
) -> torch.Tensor:
    """(1, 1, H, W) bool: upright things up to ``width`` x the short side wide that show only by their two straight
    sides (a white tower against white clouds, which the segmenter and the top-hats of :func:`towers` take for sky),
    rising from the land (``alpha`` < 0.5).

    1. The horizontal colour difference across ``k`` columns, averaged over ``L`` rows (about the widest width): a
       straight vertical edge keeps its contrast while noise and cloud texture average out.
    2. Pairs: an edge at column x and an opposite one (difference vectors with cosine below -``agree``) at most
       ``width`` to its right, both stronger than ``contrast`` ([0, 1] colour), with moving pixels just outside both;
       the columns between the two edges' middles are candidates.
    3. Candidates closed vertically over ``2 L`` rows (a tower in front of a cloud of its own colour has no sides for
       a while) are kept when they touch the land, are ``aspect`` times taller than wide and have straight sides: at
       least ``straight`` of their rows with the left and right ends within 15% of the width (2 px at least) of
       their medians; of those, the columns within 15% of the median width (2 px at least) of the median sides. The
       gap between two leaning branches is not straight and does not pass.

    Two passes, their union: sharp sides (``k`` = 1), and sides that the lens or haze spread over a few pixels
    (``k`` = ``blur`` x the short side, when that is 2 px or more), which a one-column difference sees at a fraction
    of their contrast; that weaker evidence must be twice as tall for its width (two cloud edges facing each other
    over a gap of sky can pass at ``aspect``).
    """
    h, w = photo.shape[-2:]
    k = round(blur * min(h, w))
    found = _paired_edges_at(alpha, photo, 1, width, contrast, agree, aspect, straight)
    if k >= 2:
        found |= _paired_edges_at(alpha, photo, k, width, contrast, agree, 2 * aspect, straight)
    return torch.from_numpy(found).to(alpha.device)[None, None]


def _paired_edges_at(
    alpha: torch.Tensor,
    photo: torch.Tensor,
    k: int,
    width: float,
    contrast: float,
    agree: float,
    aspect: float,
    straight: float,
) -> np.ndarray:
    """One pass of :func:`paired_edges` with the difference across ``k`` columns: (H, W) bool."""
    h, w = photo.shape[-2:]
    widest = max(2, round(width * min(h, w)))
    L = 2 * max(3, widest // 2) + 1
    rgb = (photo[0].float().cpu() + 1) / 2
    gx = rgb[:, :, k:] - rgb[:, :, :-k]  # (3, H, W - k): the edge between columns x and x + k
    v = F.avg_pool2d(gx[None], (L, 1), 1, (L // 2, 0), count_include_pad=False)[0]
    norm = v.norm(dim=0)
    strong = norm > contrast
    moving = alpha[0, 0].cpu() > 0.5
    starts = torch.zeros(h, w + 1)  # +1 where a pair's inside begins, -1 after it ends: a running sum marks it
    n = v.shape[2]
    for d in range(1, min(widest, n - 1) + 1):
        cos = (v[:, :, : n - d] * v[:, :, d:]).sum(0) / (norm[:, : n - d] * norm[:, d:]).clamp_min(1e-8)
        pair = (cos < -agree) & strong[:, : n - d] & strong[:, d:] & moving[:, : n - d] & moving[:, d + k :]
        ys, xs = torch.nonzero(pair, as_tuple=True)
        starts.index_put_((ys, xs + k // 2 + 1), torch.ones(len(ys)), accumulate=True)
        starts.index_put_((ys, xs + d + k // 2 + 1), -torch.ones(len(ys)), accumulate=True)
    inside = (starts.cumsum(1)[:, :w] > 0).numpy()
    land = ~moving.numpy()
    candidates = ndimage.binary_closing(inside, np.ones((2 * L, 1))) & ~land
    labels, count = ndimage.label(candidates, np.ones((3, 3)))
    if count == 0:
        return np.zeros((h, w), bool)
    touching = set(np.unique(labels[ndimage.binary_dilation(land, np.ones((L, 3))) & candidates]).tolist())
    found = np.zeros((h, w), bool)
    for i, box in enumerate(ndimage.find_objects(labels), start=1):  # labels are 1..count: every box exists
        bw = box[1].stop - box[1].start
        if i not in touching or box[0].stop - box[0].start < aspect * bw:
            continue
        part = labels[box] == i
        rows = part[part.any(1)]
        left, right = rows.argmax(1), bw - 1 - rows[:, ::-1].argmax(1)
        tol = max(2.0, 0.15 * bw)
        ok = (np.abs(left - np.median(left)) <= tol) & (np.abs(right - np.median(right)) <= tol)
        if ok.mean() >= straight:  # the straight part: a patch of sky that a row's pairs joined to it stays out
            lo, hi = np.median(left), np.median(right)
            margin = max(2.0, 0.15 * (hi - lo + 1))
            x0, x1 = int(np.floor(lo - margin)), int(np.ceil(hi + margin)) + 1
            part[:, : max(x0, 0)] = part[:, x1:] = False
            found[box] |= part
    return found


def ridge_bands(
    alpha: torch.Tensor,
    photo: torch.Tensor,
    depth: float = 0.05,
    contrast: float = 6.0,
    ratio: float = 3.0,
    darker: float = 3.0,
    min_width: float = 0.03,
) -> torch.Tensor:
    """(1, 1, h, w) bool: a distant hill or tree line that the sky took in, the band between a ridge and the land.

    Edges are CIELAB differences between the pixels 2 px below and 2 px above, averaged over 1% of the width (a
    ridge line counts, a speck does not). In each column whose moving region reaches the top of the frame, the
    strongest edge that is darker below (lightness falling by more than ``darker``) within ``depth`` x the height
    above the first still pixel, and above the land's own top edge, is a ridge when it exceeds ``contrast`` and
    ``ratio`` x the median edge of the sky above it, and when it is an edge of its own (the edges between it and
    the land fall below half of it: not the upper flank of a blurred land edge). The band from the ridge down to
    the land then stays still, unless an edge lighter below inside it says it holds sky under a cloud (a cloud's
    lower edge is lighter below; a ridge is darker). Bands narrower than ``min_width`` x the width are dropped.
    """
    h, w = photo.shape[-2:]
    d = 2
    k = max(2 * d + 2, round(depth * h))  # the search window ends 2d above the land: keep it non-empty
    lab = cielab(photo.cpu())[0]
    below_minus_above = lab[:, 2 * d :] - lab[:, : -2 * d]
    edge, fall = torch.zeros(h, w), torch.zeros(h, w)
    edge[d : h - d], fall[d : h - d] = below_minus_above.norm(dim=0), below_minus_above[0]
    smooth = max(3, round(0.01 * w)) | 1
    edge, fall = (F.avg_pool1d(x[:, None], smooth, 1, smooth // 2, count_include_pad=False)[:, 0] for x in (edge, fall))
    edge, fall = edge.numpy(), fall.numpy()
    ridge_edge = np.where(fall < -darker, edge, 0.0)
    moving = (alpha[0, 0] >= 0.5).cpu().numpy()
    first_still = np.argmax(~moving, axis=0)
    still = np.zeros((h, w), bool)
    for x in np.flatnonzero(moving[0] & ~moving.all(0) & (first_still > k + 2 * d)):
        b = first_still[x]
        r = b - k + int(np.argmax(ridge_edge[b - k : b - 2 * d, x]))  # above the land's own top edge
        sky = np.median(edge[max(r - k, 0) : max(r - d, 1), x])
        between = edge[r + 1 : b - 1, x]
        own = len(between) > 0 and between.min() < 0.5 * edge[r, x]
        if own and ridge_edge[r, x] > max(contrast, ratio * sky) and not (fall[r + d : b, x] > darker).any():
            still[r:b, x] = True
    labels, _ = ndimage.label(still)
    wide = [False] + [cols.stop - cols.start >= min_width * w for _, cols in ndimage.find_objects(labels)]
    return torch.from_numpy(np.array(wide)[labels]).to(alpha.device)[None, None]
