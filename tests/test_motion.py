"""The motion machinery: exact noise shifts, training pairs, the D_dyn merge, joint z normalisation,
and the dynamic-region metric with a segmenter trained on the synthetic masks."""

import numpy as np
import pytest
import torch

from dl_lightning.animation import Motion
from dl_lightning.checkpoints import load_segmenter
from dl_lightning.data.ordered import dataset_videos
from dl_lightning.data.synthetic.landscape import render_scene
from dl_lightning.metrics.animation_metrics import frame_change
from dl_lightning.metrics.motion import RegionChange, generated_motion, motion_by_layer, real_motion, region_change
from dl_lightning.models import Generator, PairDiscriminator
from dl_lightning.noise_warp import bilinear_warp_noise, fourier_shift, warp_noise_map
from dl_lightning.training.pairs import PairMotionConfig, dyn_noise_pair, sample_shifts
from tests.conftest import TINY_D, TINY_G


def neighbour_corr(x: torch.Tensor) -> float:
    return float((x[..., :, 1:] * x[..., :, :-1]).mean() / x.var())


def without_nyquist(x: torch.Tensor) -> torch.Tensor:
    """The maps with their Nyquist row/column removed, each normalised to unit variance."""
    f = torch.fft.rfft2(x.double())
    f[..., :, -1] = 0
    f[..., x.shape[-2] // 2, :] = 0
    y = torch.fft.irfft2(f, s=x.shape[-2:])
    return y / y.std(dim=(-2, -1), keepdim=True)  # per map: the shift gain differs per sample


def test_fourier_shift_is_exact_white_and_unit_variance():
    x = torch.randn(256, 1, 32, 32)
    torch.testing.assert_close(
        fourier_shift(x, torch.tensor([[0.25, -0.125]]).expand(256, 2)),
        torch.roll(x, (-2, 4), dims=(-2, -1)),
        atol=1e-5,
        rtol=0,
    )  # 4 px right, 2 px up
    half = torch.tensor([[1 / 32, 0.0]]).expand(256, 2)  # half a pixel at 32 px
    y = fourier_shift(x, half)
    assert abs(y.var().item() - 1) < 0.03 and abs(neighbour_corr(y)) < 0.06
    H = Motion(shift=(1 / 32, 0.0)).homography(1)
    torch.testing.assert_close(warp_noise_map(x, H), y, atol=1e-6, rtol=0), "translations take the exact path"
    assert neighbour_corr(bilinear_warp_noise(x, H)) > 0.3, "the bilinear fallback blurs; the Fourier shift does not"
    a, b = torch.tensor([[0.013, 0.007]]), torch.tensor([[0.021, -0.004]])
    torch.testing.assert_close(
        without_nyquist(fourier_shift(fourier_shift(x[:1], a), b)),
        without_nyquist(fourier_shift(x[:1], a + b)),
        atol=1e-6,
        rtol=0,
    )


def test_pair_s_dyn_frame_two_is_frame_one_moved():
    cfg = PairMotionConfig(zoom_prob=0.0, mirror_prob=0.0)
    G = Generator(**TINY_G)
    noise = G.sample_noise(6)
    first, second = dyn_noise_pair(noise, cfg, torch.Generator().manual_seed(3))
    m = sample_shifts(6, cfg, generator=torch.Generator().manual_seed(3))  # the same draw
    assert (m.norm(dim=1) > 0).all() and (m[:, 0].abs() > m[:, 1].abs()).all(), "mostly horizontal drift"
    for a, b in zip(first, second):
        assert abs(a.std().item() - 1) < 0.25 and abs(b.std().item() - 1) < 0.25
        if a.shape[-1] >= 8:
            torch.testing.assert_close(without_nyquist(fourier_shift(a, m)), without_nyquist(b), atol=1e-5, rtol=0)
    far = dyn_noise_pair(noise, PairMotionConfig(zoom_prob=1.0, max_zoom=1.3), torch.Generator().manual_seed(0))
    assert all(abs(n.std().item() - 1) < 0.3 for n in far[1][-4:]), "zoomed pairs keep unit variance"


@pytest.mark.parametrize("merge", ["square", "concat", "abs"])
def test_d_dyn_merge_is_symmetric_and_smooth_unless_abs(merge):
    torch.manual_seed(0)
    D = PairDiscriminator(**{**TINY_D, "dyn_merge": merge}).double()
    x, d = torch.randn(4, 3, 16, 16, dtype=torch.double), torch.randn(4, 3, 16, 16, dtype=torch.double)
    torch.testing.assert_close(D(torch.stack([x, x + d], 1)), D(torch.stack([x + d, x], 1)), atol=1e-12, rtol=0)

    def response(eps):  # frames apart by 2 eps d around the same midpoint: only their difference changes
        return (D(torch.stack([x - eps * d, x + eps * d], 1)) - D(torch.stack([x, x], 1))).abs().mean().item()

    slope = response(1e-5) / 1e-5  # -> 0 for a response smooth at f1 = f2; stays finite at a kink (L1-like)
    assert (slope > 1e-2) if merge == "abs" else (slope < 1e-4), slope


def test_z_is_normalised_jointly_so_a_small_z_dyn_stays_small():
    G = Generator(**{**TINY_G, "z_dyn_dim": 1})
    z_st = torch.randn(8, TINY_G["z_st_dim"])
    w = {v: G.mapping(z_st, torch.full((8, 1), v)) for v in (-1.0, -0.01, 0.01, 1.0)}
    near, far = (w[0.01] - w[-0.01]).norm(), (w[1.0] - w[-1.0]).norm()
    assert near < 0.05 * far, "a 1-d z_dyn of +-0.01 must not be blown up to +-1"


def synthetic_video(moving: bool, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    frames, mask = render_scene(11, size, np.full(8, 0.45), np.arange(8.0) * (1.5 if moving else 0.0))
    return torch.from_numpy(frames).permute(0, 3, 1, 2) * 2 - 1, torch.from_numpy(mask)


def test_region_change_on_known_videos():
    video, mask = synthetic_video(moving=True)
    dyn, st = region_change(video, mask)
    assert dyn > 0.005 and st == 0.0, "clouds move, the land does not (fixed lighting)"
    still, still_mask = synthetic_video(moving=False)
    assert region_change(still, still_mask) == (0.0, 0.0)
    assert region_change(video, torch.ones_like(mask)) is None
    # the photo job's running count and the animation metrics measure the same change (one pixel_change)
    running = RegionChange(mask.float()[None, None])
    for frame in video:
        running.add(frame[None])
    got = running.result()
    assert got["change_dynamic"] == pytest.approx(dyn, rel=1e-5) and got["change_static"] == 0.0
    assert frame_change(video, mask)["change_dynamic"] == pytest.approx(dyn, rel=1e-5)


def test_segmenter_learns_the_masks_and_measures_real_motion(segmenter_ckpt, tiny_data):
    path, metrics = segmenter_ckpt
    assert metrics["val/acc"] > 0.85, metrics  # held-out video frames (scenes the stills never show)
    seg = load_segmenter(path)
    real = real_motion(dataset_videos(str(tiny_data), 8, 32), seg)
    for kind in ("true_masks", "predicted_masks"):
        assert real[kind]["videos"] >= 6 and real[kind]["ratio"] > 3, real
    video, mask = synthetic_video(moving=False)
    assert real_motion([(video, mask)], seg)["predicted_masks"]["dynamic"] == 0.0


class TopHalf(torch.nn.Module):
    """A fixed region (top half = dynamic), so the test isolates the time-lapse side of the metric."""

    def predict(self, images):
        m = torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool)
        m[:, : images.shape[-2] // 2] = True
        return m


def test_generated_motion_comes_from_warping_s_dyn_and_z_dyn():
    G = Generator(**TINY_G).eval()
    with torch.no_grad():
        for layer in G.layers:  # S_st off, S_dyn on
            layer.strength_st.zero_()
            layer.strength_dyn.fill_(0.5)
    moving = generated_motion(G, TopHalf(), num=6, frames=4, motion="clouds", daytime="fixed")
    still = generated_motion(G, TopHalf(), num=6, frames=4, motion="still", daytime="fixed")
    relit = generated_motion(G, TopHalf(), num=6, frames=4, motion="still", daytime="slerp")
    assert moving["videos"] == still["videos"] == 6
    assert moving["dynamic"] > 0.001 and moving["static"] > 0.001, "warping S_dyn moves the whole (untrained) frame"
    # frames share a batch, and per-sample conv results may differ in the last bits across threads: 1e-6, not 0
    assert still["dynamic"] < 1e-6 and still["static"] < 1e-6, "no motion and a fixed time of day: nothing changes"
    assert relit["dynamic"] > 0 and relit["static"] > 0, "a moving z_dyn changes the light"
    with torch.no_grad():
        for layer in G.layers:
            layer.strength_dyn.zero_()
    assert generated_motion(G, TopHalf(), num=2, frames=3, motion="clouds")["dynamic"] < 1e-6, "S_dyn off: no motion"


def test_motion_by_layer_isolates_each_layers_s_dyn():
    G = Generator(**{**TINY_G, "dyn_min_res": 8}).eval()
    with torch.no_grad():
        for layer in G.layers:
            layer.strength_st.zero_()
        G.layers[2].strength_dyn.fill_(0.5)  # S_dyn acts in layer 2 (8 px) only
    rows = motion_by_layer(G, TopHalf(), num=4, frames=3, motion="clouds")
    assert list(rows) == [f"{i:02d}_{r}px" for i, r in enumerate(G.layer_res) if r >= 8], "no row for the 4 px layer"
    whole = generated_motion(G, TopHalf(), num=4, frames=3, motion="clouds")
    assert rows["02_8px"]["dynamic"] == pytest.approx(whole["dynamic"]) and whole["dynamic"] > 1e-3
    assert all(r["dynamic"] < 1e-6 for name, r in rows.items() if name != "02_8px")
    assert (G.layers[2].strength_dyn == 0.5).all(), "the copies are zeroed, not G"


def test_eval_gan_cli_reports_the_motion_table_and_motion_by_layer(segmenter_ckpt, tiny_data, tmp_path):
    import json

    from dl_lightning.checkpoints import save_generator
    from dl_lightning.cli.eval import main as dl_eval

    G = Generator(**{**TINY_G, "dyn_min_res": 8})
    ckpt, out = save_generator(G, tmp_path / "g.safetensors"), tmp_path / "g.json"
    flags = "--num 8 --batch 8 --features random --kid-subset-size 4 --videos 2 --frames 3 --motion-videos 2"
    flags += " --motion-presets clouds --motion-daytimes fixed --motion-by-layer"
    dl_eval(
        ["gan", "--ckpt", str(ckpt), "--data", str(tiny_data), "--segmenter", str(segmenter_ckpt[0])]
        + flags.split()
        + ["--json", str(out)]
    )
    r = json.loads(out.read_text())
    assert {"generated/clouds/fixed", "real/true_masks", "real/predicted_masks"} <= set(r["motion"])
    assert list(r["motion_by_layer"]) == [f"{i:02d}_{res}px" for i, res in enumerate(G.layer_res) if res >= 8]
