"""The relighting figure on frames whose answer is known, and on the renderer's own scenes."""

import math

import torch

from dl_lightning.metrics.relighting import renderer_change, structure_change


def _scene(ridge_row: int) -> torch.Tensor:
    """(1, 3, 32, 32): a dark ridge under a bright sky, the ridge's top at ``ridge_row``, with a tree."""
    x = torch.full((1, 3, 32, 32), 0.6)
    x[..., ridge_row:, :] = -0.2
    x[..., ridge_row - 4 : ridge_row, 10:12] = -0.6
    return x


def test_a_relit_copy_keeps_its_structure_and_a_moved_ridge_does_not():
    land = torch.zeros(1, 32, 32, dtype=torch.bool)
    land[:, 8:] = True
    a = _scene(16)
    relit = a * 0.4 - 0.3  # darker and lower contrast: a gain and an offset
    assert structure_change(a, relit, land) < 1e-5
    assert structure_change(a, _scene(20), land) > 0.5
    assert math.isnan(structure_change(a, relit, torch.zeros_like(land)))


def test_the_renderer_relights_without_moving_its_layout():
    """The renderer's scenes at two times of day change their land's structure little (its reference figure), far
    less than two different scenes do."""
    import numpy as np

    from dl_lightning.data.synthetic.landscape import render

    same = renderer_change(24, 32)
    scenes = [render(10**9 + i, 32, np.array([0.5]), np.zeros(1)) for i in range(25)]
    frames = torch.stack([torch.from_numpy(r.frames[0]).permute(2, 0, 1) * 2 - 1 for r in scenes])
    land = torch.stack([torch.from_numpy(~r.dynamic) for r in scenes])
    other = structure_change(frames[:-1], frames[1:], land[:-1] & land[1:])  # each scene against the next one
    assert 0 < same < 0.4 and other > 2 * same, (same, other)


def test_the_layout_term_sees_a_moved_ridge_through_grain_that_dilutes_the_full_size_figure():
    """The training term (:func:`~dl_lightning.training.pairs.layout_difference`, a quarter of the side) on known
    frames: a relit copy changes nothing, a moved ridge changes it, and the same fine grain added to both frames
    keeps the moved ridge's figure, while at full size the grain lowers it (what a generator could learn)."""
    from dl_lightning.training.pairs import layout_difference

    static = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    static[..., 8:, :] = True
    land = static[:, 0]
    a, moved = _scene(16), _scene(20)
    assert layout_difference(a, a * 0.4 - 0.3, static) < 1e-5
    clean = layout_difference(a, moved, static)
    assert clean > 0.3
    grain = 0.4 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    assert layout_difference(a + grain, moved + grain, static) > 0.5 * clean  # 0.70 of it
    assert structure_change(a + grain, moved + grain, land) < 0.2 * structure_change(a, moved, land)  # 0.12 of it
