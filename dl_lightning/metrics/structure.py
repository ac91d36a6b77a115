"""Structure figures that grain cannot fool: what the scene network's per-pixel classes say about the shapes.

Fréchet distances in a network's features weigh texture energy: grain in a flat sky can pass for detail, and soft
ridge bands or blob trees barely move them. These figures read the picture through its class map (the scene
network's, :class:`~dl_lightning.models.scene_net.SceneNet`, or a renderer's true one) and measure each thing
where it is:

* ``sky_grain``: the mean |grey - its 3x3 box mean| over sky pixels at least 2 px from any other class: a
  smooth sky has almost none, fine noise a lot.
* ``edge_<a>_<b>``: the sharpness of the boundaries between classes ``a`` and ``b`` (sky/ridge, ridge/grass,
  water shores): the median over boundary pixels of the grey gradient (Sobel / 8) across them, over the step
  between the two classes' mean grey levels in that image. A step edge gives about 0.5, a blurred one less.
* trees, as the 8-connected components of the tree class of at least :data:`MIN_TREE_PX` pixels: ``tree_count``
  per image, ``tree_area`` (px), ``tree_aspect`` (bounding-box height / width) and ``tree_fill`` (area / box
  area: a triangle fills about 0.5 of its box, a disc 0.79).
* ``sun``: the share of images with a sun: a compact group (3-400 px, filling at least half its box) of sky
  pixels brighter than 0.92 in grey.

:func:`structure_stats` gives the figures of a set of images; :func:`structure_ratios` divides a set's by the
real stills'. A figure within 25% of real has a ratio in [0.75, 1.25].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from dl_lightning.data.scenes import CLASSES
from dl_lightning.metrics.pixel_stats import grey

#: Class boundaries whose sharpness is measured: (class a, class b).
BOUNDARIES = (("sky", "ridge"), ("ridge", "grass"), ("water", "grass"), ("water", "ridge"))
#: Tree components smaller than this (px) are not counted (single misread pixels).
MIN_TREE_PX = 4
SKY, TREE = CLASSES.index("sky"), CLASSES.index("tree")


def sobel(g: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, H, W) gradient magnitude (Sobel / 8, so a unit step gives 0.5; 1e-6 on a flat patch, so
    that its gradient is finite everywhere)."""
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 8
    k = torch.stack([kx, kx.T])[:, None].to(g)
    d = F.conv2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), k)
    return d.square().sum(1).add(1e-12).sqrt()


def _boundary(classes: torch.Tensor, a: int, b: int) -> torch.Tensor:
    """(B, H, W) class maps -> (B, H, W) bool: pixels of ``a`` with a 4-neighbour of ``b`` or the reverse."""
    pad = F.pad(classes[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0].long()
    neighbours = [pad[:, :-2, 1:-1], pad[:, 2:, 1:-1], pad[:, 1:-1, :-2], pad[:, 1:-1, 2:]]
    near_b = torch.stack([n == b for n in neighbours]).any(0)
    near_a = torch.stack([n == a for n in neighbours]).any(0)
    return ((classes == a) & near_b) | ((classes == b) & near_a)


def _trees(tree: np.ndarray) -> list[tuple[int, float, float]]:
    """(area, aspect, fill) of the tree components of one (H, W) bool map."""
    lab, n = ndimage.label(tree, structure=np.ones((3, 3)))
    out = []
    for i, sl in enumerate(ndimage.find_objects(lab), 1):
        area = int((lab[sl] == i).sum())
        if area >= MIN_TREE_PX:
            h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            out.append((area, h / w, area / (h * w)))
    return out


def _has_sun(g: np.ndarray, sky: np.ndarray) -> bool:
    bright = (g > 0.92) & sky
    lab, n = ndimage.label(bright, structure=np.ones((3, 3)))
    for i, sl in enumerate(ndimage.find_objects(lab), 1):
        area = int((lab[sl] == i).sum())
        box = (sl[0].stop - sl[0].start) * (sl[1].stop - sl[1].start)
        if 3 <= area <= 400 and area >= 0.5 * box:
            return True
    return False


@torch.no_grad()
def structure_stats(images: torch.Tensor, classes: torch.Tensor) -> dict[str, float]:
    """The figures of the module docstring for images (N, 3, H, W) in [-1, 1] and their class maps (N, H, W)
    (indices into :data:`~dl_lightning.data.scenes.CLASSES`, same size). Figures with nothing to measure (no
    boundary of a kind, no trees) are NaN."""
    g = grey(images)
    if classes.shape[-2:] != g.shape[-2:]:
        raise ValueError(f"class maps {tuple(classes.shape[-2:])} and images {tuple(g.shape[-2:])} differ in size")
    classes = classes.to(g.device).long()
    out: dict[str, float] = {}
    inner_sky = -F.max_pool2d(-(classes == SKY).float()[:, None], 5, 1, 2)[:, 0] > 0  # 2 px from other classes
    hf = (g - F.avg_pool2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), 3, 1))[:, 0].abs()
    out["sky_grain"] = float(hf[inner_sky].mean()) if inner_sky.any() else float("nan")
    grad = sobel(g)
    for a_name, b_name in BOUNDARIES:
        a, b = CLASSES.index(a_name), CLASSES.index(b_name)
        ratios, edges = [], _boundary(classes, a, b)
        for i in range(len(g)):
            edge, in_a, in_b = edges[i], classes[i] == a, classes[i] == b
            if edge.sum() < 3 or not in_a.any() or not in_b.any():
                continue
            step = (g[i, 0][in_a].mean() - g[i, 0][in_b].mean()).abs()
            if step > 0.05:  # too little contrast to say how sharp the edge is
                ratios.append(float(grad[i][edge].median() / step))
        out[f"edge_{a_name}_{b_name}"] = float(np.median(ratios)) if ratios else float("nan")
    trees = [_trees(m) for m in (classes == TREE).cpu().numpy()]
    flat = [t for per in trees for t in per]
    out["tree_count"] = float(np.mean([len(t) for t in trees]))
    for k, name in enumerate(("tree_area", "tree_aspect", "tree_fill")):
        out[name] = float(np.median([t[k] for t in flat])) if flat else float("nan")
    gn, sky = g[:, 0].cpu().numpy(), (classes == SKY).cpu().numpy()
    out["sun"] = float(np.mean([_has_sun(gi, si) for gi, si in zip(gn, sky)]))
    return out


def structure_ratios(stats: dict[str, float], real: dict[str, float]) -> dict[str, float]:
    """Each figure of ``stats`` over the real stills' (NaN where either is missing or real is 0)."""
    return {
        k: v / real[k] if np.isfinite(v) and np.isfinite(real.get(k, np.nan)) and real[k] != 0 else float("nan")
        for k, v in stats.items()
    }
