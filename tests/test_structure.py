"""The structure figures on images whose answer is known: a sharp edge against the same edge blurred, a triangle
tree against a disc, a flat sky with and without grain, a sun."""

import torch

from dl_lightning.data.scenes import CLASSES
from dl_lightning.metrics.scene_quality import damage
from dl_lightning.metrics.structure import structure_ratios, structure_stats

SKY, RIDGE, GRASS, TREE = (CLASSES.index(c) for c in ("sky", "ridge", "grass", "tree"))


def scene(tree: str = "triangle", grain: float = 0.0, sun: bool = False, n: int = 4):
    """n 64 px images: a flat sky over a ridge (rows 30-44) over grass, one tree; with their class maps."""
    g = torch.Generator().manual_seed(0)
    img = torch.empty(n, 3, 64, 64)
    img[:, :, :30], img[:, :, 30:45], img[:, :, 45:] = 0.6, -0.4, 0.1
    cls = torch.full((n, 64, 64), GRASS)
    cls[:, :30], cls[:, 30:45] = SKY, RIDGE
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    if tree == "triangle":  # a conifer: 16 px high, 8 px wide at its base
        shape = (yy >= 14) & (yy < 30) & ((xx - 20).abs() <= (yy - 14) / 4)
    else:  # a disc of about the same area
        shape = (yy - 24) ** 2 + (xx - 20) ** 2 <= 5.3**2
    img[:, :, shape], cls[:, shape] = -0.8, TREE
    if sun:
        disc = (yy - 8) ** 2 + (xx - 50) ** 2 <= 9
        img[:, :, disc] = 1.0
    img = img + grain * 2 * torch.randn(img.shape, generator=g)
    return img.clamp(-1, 1), cls


def test_blur_softens_edges_and_grain_shows_in_the_sky_only():
    img, cls = scene()
    sharp, soft = structure_stats(img, cls), structure_stats(damage(img, 1.0), cls)
    assert sharp["edge_sky_ridge"] > 0.45 and sharp["edge_ridge_grass"] > 0.45  # a step edge: about 0.5
    assert soft["edge_sky_ridge"] < 0.8 * sharp["edge_sky_ridge"]
    assert sharp["sky_grain"] < 1e-6
    grainy = structure_stats(scene(grain=0.03)[0], cls)
    assert grainy["sky_grain"] > 0.01
    ratio = structure_ratios(grainy, sharp)
    assert abs(ratio["tree_count"] - 1) < 1e-9 and abs(ratio["edge_sky_ridge"] - 1) < 0.3


def test_tree_shape_tells_a_conifer_from_a_disc_and_the_sun_is_found():
    tri, disc = structure_stats(*scene("triangle")), structure_stats(*scene("disc"))
    assert tri["tree_count"] == disc["tree_count"] == 1
    assert tri["tree_aspect"] > 1.6 and 0.9 < disc["tree_aspect"] < 1.1
    assert tri["tree_fill"] < 0.6 < 0.7 < disc["tree_fill"]
    assert tri["sun"] == 0 and structure_stats(*scene(sun=True))["sun"] == 1
