import math

import av
import pytest
import torch

from dl_lightning.animation import (
    Motion,
    get_motion,
    load_motions,
    render_frames,
    slerp,
    ws_path,
    zdyn_path,
)
from dl_lightning.errors import UserError
from dl_lightning.models import Generator, GeneratorConfig
from dl_lightning.noise_warp import warp_noise_map
from tests.conftest import TINY_G


def test_identity_warp_leaves_noise_unchanged():
    n = torch.randn(2, 1, 16, 16)
    assert torch.equal(warp_noise_map(n, torch.eye(3)), n)
    assert torch.equal(warp_noise_map(n, torch.eye(3), horizon=0.0), n)


def test_integer_shift_is_a_roll_and_wraps():
    n = torch.randn(1, 1, 8, 8)
    shift_one_pixel = Motion(shift=(2 / 8, 0.0)).homography(1)  # 2/8 normalised = 1 pixel at 8 px
    torch.testing.assert_close(warp_noise_map(n, shift_one_pixel), torch.roll(n, 1, dims=-1))


def test_warp_is_consistent_across_scales_and_keeps_unit_variance():
    m = get_motion("towards_viewer", horizon=None)
    big = torch.randn(256, 1, 32, 32)
    warped = warp_noise_map(big, m.homography(2.5))
    assert abs(warped.std().item() - 1) < 0.03 and abs(warped.mean().item()) < 0.03

    # one smooth pattern sampled at two resolutions moves the same way at both
    def pattern(r):
        y, x = torch.meshgrid((torch.arange(r) + 0.5) / r, (torch.arange(r) + 0.5) / r, indexing="ij")
        return torch.sin(2 * torch.pi * x)[None, None]

    shift = Motion(shift=(0.25, 0.0)).homography(1)
    lo, hi = warp_noise_map(pattern(16), shift), warp_noise_map(pattern(64), shift)
    torch.testing.assert_close(torch.nn.functional.avg_pool2d(hi, 4), lo, atol=0.08, rtol=0)


def test_mirrored_motion_below_horizon():
    n = torch.randn(1, 1, 16, 16)
    up = Motion(shift=(0.0, -0.25)).homography(1)  # content moves up by 2 px above the horizon
    w = warp_noise_map(n, up, horizon=0.0)
    torch.testing.assert_close(w[..., 2:6, :], n[..., 4:8, :])  # top half moved up
    torch.testing.assert_close(w[..., 10:14, :], n[..., 8:12, :])  # bottom half moved down (mirrored)


def test_presets_and_daytime_paths():
    assert {"left_wind", "right_wind", "towards_viewer", "slow", "fast"} <= set(load_motions())
    with pytest.raises(UserError, match="unknown motion"):
        get_motion("sideways")
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    assert torch.equal(zdyn_path("fixed", a, b, 4)[3], a)
    torch.testing.assert_close(zdyn_path("linear", a, b, 5)[-1], b)
    torch.testing.assert_close(zdyn_path("slerp", a, b, 5)[-1], b, atol=1e-5, rtol=1e-5)
    cyc = zdyn_path("cycle", a, b, 8)
    assert cyc.shape == (8, 2, 3) and torch.allclose(cyc[0], a)
    # slerp walks the great circle: between orthogonal unit vectors the norm stays 1 (a straight line dips to
    # 0.71) and the angle from the start grows linearly with t
    e0, e1 = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    for t in (0.25, 0.5, 0.8):
        p = slerp(e0, e1, t)
        torch.testing.assert_close(p, torch.tensor([[math.cos(t * math.pi / 2), math.sin(t * math.pi / 2), 0.0]]))
    same_norm = b / b.norm(dim=-1, keepdim=True) * a.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(slerp(a, same_norm, 0.5).norm(dim=-1), a.norm(dim=-1))


def _frames(G, motion, daytime, frames=5, chunk=2):
    gen = torch.Generator().manual_seed(0)
    z_st = torch.randn(2, G.cfg.z_st_dim, generator=gen)
    z0, z1 = torch.randn(2, 2, G.cfg.z_dyn_dim, generator=gen)
    n_st = [torch.randn(2, 1, r, r, generator=gen) for r in G.layer_res]
    n_dyn = [torch.randn(2, 1, r, r, generator=gen) for r in G.layer_res]
    return list(render_frames(G, ws_path(G, z_st, zdyn_path(daytime, z0, z1, frames)), n_st, n_dyn, motion, chunk))


def test_frames_equal_without_motion_and_differ_with_it():
    G = Generator(GeneratorConfig(**TINY_G)).eval()
    for layer in G.layers:
        layer.strength_dyn.data.fill_(1.0)
    still = _frames(G, get_motion("still"), "fixed")
    assert len(still) == 5 and still[0].shape == (2, 3, 32, 32)
    # the last chunk is a smaller batch, which may pick another conv kernel: fp32 rounding only
    assert all(torch.allclose(f, still[0], atol=2e-5) for f in still)
    moving = _frames(G, get_motion("fast", horizon=0.0), "fixed")
    assert all((f - moving[0]).abs().mean() > 1e-3 for f in moving[1:])
    relit = _frames(G, get_motion("still"), "linear")
    assert (relit[-1] - relit[0]).abs().mean() > 1e-3
    chunked = _frames(G, get_motion("fast", horizon=0.0), "fixed", chunk=5)  # chunking does not change frames
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(moving, chunked))


def test_read_back_video_properties(tmp_path):
    import numpy as np

    from dl_lightning.media import write_video

    frames = [np.full((30, 40, 3), i * 10, np.uint8) for i in range(7)]
    assert write_video(iter(frames), tmp_path / "v.mp4", fps=9) == 7
    with av.open(str(tmp_path / "v.mp4")) as c:
        s = c.streams.video[0]
        decoded = list(c.decode(video=0))
        assert (s.width, s.height, int(s.average_rate)) == (40, 30, 9) and len(decoded) == 7
    assert write_video(iter(frames), tmp_path / "v.gif", fps=9) == 7
    with pytest.raises(UserError, match="mp4 or .gif"):
        write_video(iter(frames), tmp_path / "v.avi")
    assert not list(tmp_path.glob(".*partial*"))
