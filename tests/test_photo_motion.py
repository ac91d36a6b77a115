"""The photo's own sky moves (``--sky photo``): frame 0 is the photo, known patterns move by the preset's
displacement, loops close, thin towers stay, and the library job runs without the CLI."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from dl_lightning.animation import get_motion
from dl_lightning.data.photos import photo_at, photo_square
from dl_lightning.errors import UserError
from dl_lightning.metrics.photo_fidelity import PhotoFidelity, isolated_map, phase_shift, speckle_count
from dl_lightning.metrics.pixel_stats import grey
from dl_lightning.photo.job import PhotoNetworks, PhotoOptions, animate_photo
from dl_lightning.photo.motion import PhotoMotion, shift_image, sky_plate
from tests.helpers import alpha_from_mask
from tests.test_inversion import tiny_generator


def cloudy_photo(h: int, w: int, land: float = 0.5, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8: a textured sky (smooth random clouds with fine detail) over flat green land."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(1, 1, h // 8, w // 8, generator=g), size=(h, w), mode="bicubic")
    fine = F.interpolate(torch.rand(1, 1, h // 2, w // 2, generator=g), size=(h, w), mode="bicubic")  # camera-sharp
    sky = (0.55 + 0.3 * coarse + 0.1 * fine).clamp(0, 1)[0, 0]
    img = torch.stack([sky * 0.8, sky * 0.9, sky], -1)
    img[round(land * h) :] = torch.tensor([0.2, 0.45, 0.15])
    return (img.numpy() * 255).round().astype(np.uint8)


def sky_mask(r: int, land: float = 0.5) -> torch.Tensor:
    m = torch.zeros(1, 1, r, r)
    m[..., : round(land * r), :] = 1
    return m


def motion_of(img: np.ndarray, size: int, preset: str, fit: str = "crop", **scaled):
    square, geometry = photo_square(Image.fromarray(img), fit)
    photo = photo_at(square, geometry, size)
    alpha = alpha_from_mask(sky_mask(32), photo, geometry)
    return photo, alpha, geometry, get_motion(preset, horizon=None).scaled(**scaled)


def test_shift_image_moves_by_whole_and_fractional_pixels():
    x = torch.rand(1, 3, 24, 40)
    assert torch.equal(shift_image(x, 5, 0)[..., 5:], x[..., :-5]), "whole pixels: exact"
    assert torch.equal(shift_image(x, 0, -3)[..., :-3, :], x[..., 3:, :])
    assert torch.equal(shift_image(x, 0, 0), x)
    ramp = torch.linspace(0, 1, 40).expand(1, 1, 24, 40)
    half = shift_image(ramp, 0.5, 0)
    assert torch.allclose(half[..., 6:-6], ramp[..., 6:-6] - 0.5 / 39, atol=1e-4), "a ramp moves by half a step"
    smooth = F.interpolate(torch.rand(1, 3, 6, 10), size=(24, 40), mode="bicubic", align_corners=False)
    twice = shift_image(shift_image(smooth, 0.25, 0.5), 0.75, 0.5)
    assert torch.allclose(twice[..., 8:-8, 8:-8], shift_image(smooth, 1, 1)[..., 8:-8, 8:-8], atol=0.01)


def test_speckles_count_dots_not_pixels_and_a_half_pixel_shift_keeps_them():
    sky = torch.zeros(1, 3, 32, 32)
    mask = torch.ones(32, 32, dtype=torch.bool)
    for y, x in ((5, 5), (5, 20), (20, 12)):
        sky[0, :, y, x] = -1.0  # three dark dots in a mid-grey sky
    assert speckle_count(sky, mask) == 3 and int(isolated_map(sky).sum()) == 3
    assert speckle_count(sky, mask.tril()) == 2, "the dot above the diagonal is outside"
    half = shift_image(sky, 0.5, 0)  # every dot spread over two pixels by the interpolation
    assert int(isolated_map(half).sum()) >= 6, "two isolated pixels per dot"
    assert speckle_count(half, mask) == 3, "but still one speckle each"
    noisy = sky.clone()
    noisy[0, :, 26:30:2, 4:30:4] = 1.0  # new droplets are new speckles
    assert speckle_count(noisy, mask) == 3 + 14
    fid = PhotoFidelity(sky, mask, ~mask)
    fid.add(half, reference=shift_image(sky, 1, 0))  # against the frame moved by whole pixels: nothing added
    assert fid.result()["speckles_vs_reference"] == 1.0
    fid.add(noisy, reference=sky)
    assert fid.result()["speckles_vs_reference"] == pytest.approx((3 + 17 + 1) / (3 + 3 + 1))


def test_plate_fills_the_land_with_the_sky_and_keeps_the_sky():
    photo = torch.from_numpy(cloudy_photo(64, 64)).permute(2, 0, 1)[None].float() / 127.5 - 1
    alpha = sky_mask(64)
    plate = sky_plate(photo, alpha)
    assert torch.equal(plate[..., :32, :], photo[..., :32, :])
    land_colour = photo[..., 40:, :].mean((-2, -1))
    sky_colour = photo[..., :32, :].mean((-2, -1))
    filled = plate[..., 40:, :].mean((-2, -1))
    assert (filled - sky_colour).norm() < 0.25 * (land_colour - sky_colour).norm(), "no land colour in the fill"


@pytest.mark.parametrize("size,fit,shape", [(256, "crop", (200, 300)), (150, "pad", (180, 320))])
def test_frame0_is_the_photo_and_the_sky_moves_by_the_preset(size, fit, shape):
    photo, alpha, geometry, motion = motion_of(cloudy_photo(*shape), size, "right_wind", fit, speed=2.0)
    pm = PhotoMotion(photo, alpha, geometry, motion)
    moving, static = alpha[0, 0] >= 0.99, alpha[0, 0] == 0
    h, w = photo.shape[-2:]
    fid = PhotoFidelity(photo, moving, static, window=(0, w // 4, h // 4, w // 2))
    for t in range(6):
        fid.add(pm.frame(t))
    r = fid.result()
    assert torch.equal(pm.frame(0), photo), "frame 0 is the photo, bit for bit"
    assert r["frame0_psnr"] == float("inf") and r["static_change_max"] == 0.0
    expected = motion.shift[0] / 2 * geometry.side * w / geometry.box[2]  # normalised -> output pixels
    assert r["dx"] == pytest.approx(expected, rel=0.05) and abs(r["dy"]) < 0.1, (r, expected)
    assert r["detail_min"] > 0.85, "the sky keeps its detail"


def test_direction_and_water_move_where_asked():
    img = cloudy_photo(128, 128, land=0.4)
    img[96:] = img[:32]  # a textured lake at the bottom (below the horizon)
    photo, _, geometry, _ = motion_of(img, 128, "right_wind")
    alpha = torch.zeros(1, 1, 128, 128)
    alpha[..., :51, :], alpha[..., 96:, :] = 1, 1
    up = get_motion("right_wind", horizon=0.2).scaled(2.0, direction=90)
    water = get_motion("right_wind").scaled(3.0, direction=180)
    pm = PhotoMotion(photo, alpha, geometry, up, water)
    f0, f1 = (grey(pm.frame(t))[0, 0] for t in (0, 1))
    sky_dx, sky_dy = phase_shift(f0[4:44, 24:104], f1[4:44, 24:104])
    lake_dx, lake_dy = phase_shift(f0[100:124, 24:104], f1[100:124, 24:104])
    assert sky_dy == pytest.approx(-2 * 0.012 / 2 * 128, abs=0.3) and abs(sky_dx) < 0.3, "90 degrees: upwards"
    assert lake_dx == pytest.approx(-3 * 0.012 / 2 * 128, abs=0.3) and abs(lake_dy) < 0.3, "the water's own motion"
    mirrored = PhotoMotion(photo, alpha, geometry, get_motion("right_wind", horizon=0.2).scaled(2.0, 45))
    g1 = grey(mirrored.frame(1))[0, 0]
    _, sky_dy = phase_shift(f0[4:44, 24:104], g1[4:44, 24:104])
    _, lake_dy = phase_shift(f0[100:124, 24:104], g1[100:124, 24:104])
    assert sky_dy < -0.5 and lake_dy == pytest.approx(-sky_dy, abs=0.3), "by default water mirrors the sky"


def test_loop_closes_without_a_jump():
    photo, alpha, geometry, motion = motion_of(cloudy_photo(128, 128), 128, "fast")
    pm = PhotoMotion(photo, alpha, geometry, motion, period=12, loop=True)
    fid = PhotoFidelity(photo, alpha[0, 0] >= 0.99, alpha[0, 0] == 0)
    for t in range(12):
        fid.add(pm.frame(t))
    r = fid.result()
    assert torch.equal(pm.frame(12), photo), "frame T is frame 0 again"
    assert r["loop_closure"] <= 1.5, r
    plain = PhotoFidelity(photo, alpha[0, 0] >= 0.99, alpha[0, 0] == 0)
    for t in range(12):
        plain.add(PhotoMotion(photo, alpha, geometry, motion).frame(t))
    closure = plain.result()["loop_closure"]
    assert closure > 2.5 and closure > 2 * r["loop_closure"], "without --loop the last frame is far from the first"


def test_a_thin_tower_against_the_sky_stays_still():
    img = cloudy_photo(256, 256)
    img[40:128, 100:102] = (30, 30, 35)  # a 2 px dark mast rising from the land into the sky
    photo, alpha, geometry, motion = motion_of(img, 256, "fast")
    assert (alpha[0, 0, 40:128, 100:102] == 0).all(), "the mast is static at full resolution"
    assert (alpha[0, 0, 20:100, 30:60] > 0.99).all(), "the sky around it still moves"
    pm = PhotoMotion(photo, alpha, geometry, motion)
    frames = [pm.frame(t) for t in range(5)]
    for f in frames[1:]:
        assert torch.equal(f[..., 40:128, 100:102], photo[..., 40:128, 100:102]), "the mast does not move"
        assert (f[..., 20:100, 30:60] - photo[..., 20:100, 30:60]).abs().mean() > 0.01
    loose = alpha_from_mask(sky_mask(32), photo, geometry, keep_thin=False)
    assert (loose[0, 0, 40:100, 100:102] > 0.5).all(), "without the thin-structure step the coarse mask moves it"


def test_the_library_job_animates_a_photo_without_the_cli(tmp_path):
    Image.fromarray(cloudy_photo(90, 150)).save(tmp_path / "photo.png")
    mask = np.zeros((90, 150), np.uint8)
    mask[:45] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    opts = PhotoOptions(fit="pad", size=90, frames=4, optim_steps=2, finetune_steps=1, lpips_weight=0.0, loop=True,
                        formats=("gif",), motion="fast")  # fmt: skip
    written, report = animate_photo(
        tmp_path / "photo.png", tmp_path / "out", PhotoNetworks(tiny_generator()), opts, mask=tmp_path / "mask.png"
    )
    names = sorted(p.name for p in written)
    assert names == ["mask.png", "metrics.json", "photo.gif", "reconstruction.png"], names
    assert report["size"] == [90, 150] and report["sky"] == "photo" and report["loop"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["region_change"]["change_static"] == 0.0
    gif = Image.open(tmp_path / "out" / "photo.gif")
    assert gif.size == (150, 90) and gif.n_frames == 4
    first = np.asarray(gif.convert("RGB"), np.int16)
    assert np.abs(first[50:] - cloudy_photo(90, 150)[50:]).mean() < 6, "frame 0's land is the photo (GIF palette)"
    with pytest.raises(UserError, match="--loop needs --sky photo"):
        PhotoOptions(sky="generator", loop=True)
