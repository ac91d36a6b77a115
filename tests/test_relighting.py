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
