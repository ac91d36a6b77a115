"""Animating a real photo at its own resolution: masked noise fitting, horizon, compositing, the one command."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from dl_lightning.cli.animate import main as animate
from dl_lightning.data.photos import photo_at, photo_square
from dl_lightning.inversion.latent_optim import LatentOptimModule
from dl_lightning.inversion.pipeline import repeat_target
from dl_lightning.photo.composite import composite, frame_to_output
from dl_lightning.photo.frames import horizon_from_mask
from tests.helpers import alpha_from_mask
from tests.test_inversion import gen_ckpt, quiet_trainer, tiny_generator  # noqa: F401  (fixture)


def half_sky_mask(r: int, sky: float = 0.4, water: float = 0.0) -> torch.Tensor:
    m = torch.zeros(1, 1, r, r)
    m[..., : round(sky * r), :] = 1
    if water:
        m[..., r - round(water * r) :, :] = 1
    return m


def test_masked_noise_fitting_keeps_each_set_in_its_region():
    G = tiny_generator()
    with torch.no_grad():
        target = G(*G.sample_z(1), noise_st=G.sample_noise(1), noise_dyn=G.sample_noise(1))
    mask = half_sky_mask(32)
    module = LatentOptimModule(G, G.mapping.w_avg[None, None].expand(1, G.num_ws, -1), dynamic_mask=mask, noise_lr=0.1)
    start_st = [n.detach().clone() for n in module.noise_st]
    start_dyn = [n.detach().clone() for n in module.noise_dyn]
    assert all(abs(n.std().item() - 1) < 0.5 for n in start_dyn[-3:]), "noise starts from a unit normal, not zero"
    quiet_trainer(15).fit(module, repeat_target(target, 15))
    for i, r in enumerate(G.layer_res):
        m = torch.nn.functional.interpolate(mask, size=(r, r), mode="area") >= 0.5
        dyn, st = module.noise_dyn[i].detach(), module.noise_st[i].detach()
        assert torch.equal(dyn[~m], start_dyn[i][~m]), f"S_dyn changed outside the mask at {r} px"
        assert torch.equal(st[m], start_st[i][m]), f"S_st changed inside the mask at {r} px"
        if r >= 16:
            assert not torch.equal(dyn[m], start_dyn[i][m]) and not torch.equal(st[~m], start_st[i][~m])
            inside = dyn[m]
            assert abs(inside.mean().item()) < 1e-4 and abs(inside.std().item() - 1) < 1e-4, (
                "renormalised in its region"
            )


def test_horizon_comes_from_the_mask():
    assert horizon_from_mask(half_sky_mask(32, 0.4)) is None, "no water: nothing to mirror"
    assert horizon_from_mask(half_sky_mask(32, 0.25, water=0.3)) == pytest.approx(-0.5)
    assert horizon_from_mask(half_sky_mask(32, 0.6, water=0.2)) == pytest.approx(0.1875, abs=0.01)
    assert horizon_from_mask(torch.zeros(1, 1, 32, 32)) is None


def test_pad_continues_the_sky_above_and_the_ground_below():
    img = np.zeros((60, 100, 3), np.uint8)
    img[:30] = (90, 140, 230)  # sky
    img[30:] = (60, 160, 40)  # grass
    square, geometry = photo_square(Image.fromarray(img), "pad")
    arr = np.asarray(square)
    assert square.size == (100, 100) and geometry.box == (0, 20, 100, 60)
    assert (arr[:20] == (90, 140, 230)).all() and (arr[80:] == (60, 160, 40)).all()
    assert (np.asarray(photo_at(square, geometry, 60)[0].permute(1, 2, 0).add(1).mul(127.5).round()) == img).all()


@pytest.mark.parametrize("size,fit", [((300, 180), "pad"), ((180, 300), "crop"), ((257, 257), "crop")])
def test_compositing_keeps_static_pixels_identical(size, fit):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    square, geometry = photo_square(img, fit)
    photo = photo_at(square, geometry, 1024)
    assert photo.shape[-2:] == ((size[1], size[0]) if fit == "pad" else (min(size),) * 2), "the photo's own resolution"
    mask = half_sky_mask(32, 0.3)
    alpha = alpha_from_mask(mask, photo, geometry, keep_thin=False)  # random pixels: all of them "thin"
    frames = [torch.rand(1, 3, 32, 32) * 2 - 1 for _ in range(3)]
    out = [composite(photo, frame_to_output(f, geometry, tuple(photo.shape[-2:])), alpha) for f in frames]
    static = alpha[0, 0] == 0
    assert static.float().mean() > 0.4 and (alpha[0, 0] > 0.5).float().mean() > 0.1
    for o in out:
        assert o.shape == photo.shape
        assert torch.equal(o[..., static], photo[..., static]), "static region is the photo, bit for bit"
    assert (out[1] - out[0]).abs()[..., alpha[0, 0] > 0.5].mean() > 0.05, "the dynamic region follows the frames"


def test_one_command_animates_a_photo_at_its_resolution(gen_ckpt, tmp_path, hills):  # noqa: F811
    photo = Image.open(hills)
    crop = photo.crop((500, 100, 500 + 300, 100 + 180))  # off-centre, non-square
    crop.save(tmp_path / "crop.jpg")
    mask = np.zeros((180, 300), np.uint8)
    mask[:60] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    photo_args = ["--ckpt", str(gen_ckpt), "--image", str(tmp_path / "crop.jpg"), "--out", str(out)]
    # no --fit: the default animates the whole 300 x 180 photo, as the page does
    flags = "--optim-steps 3 --finetune-steps 2 --frames 4 --size 120 --motion fast --daytime fixed"
    flags = (flags + " --no-train").split()  # networks trained on the spot: tests/test_companions.py
    animate(photo_args + ["--mask", str(tmp_path / "mask.png")] + flags)
    assert sorted(p.name for p in out.iterdir()) == [
        "inversion.safetensors",
        "mask.png",
        "metrics.json",
        "photo.gif",
        "photo.mp4",
        "reconstruction.png",
    ]
    report = json.loads((out / "metrics.json").read_text())
    assert report["size"] == [120, 200] and report["mask"].startswith("--mask")
    rc = report["region_change"]
    assert rc["change_static"] == 0.0 and rc["change_dynamic"] > 0, rc
    assert set(report["seconds"]) >= {"mask", "inversion", "animation"}
    gif = Image.open(out / "photo.gif")
    assert gif.size == (200, 120) and gif.n_frames == 4
    with pytest.raises(SystemExit):
        animate(photo_args + ["--mask", str(hills)])


@pytest.mark.parametrize("size,fit", [((300, 180), "pad"), ((180, 300), "pad"), ((300, 180), "crop")])
def test_generator_frames_land_where_the_photo_lies(size, fit):
    """``frame_to_output`` puts the generator's square back where the photo lies on it: a frame drawn from the
    square itself comes back as the photo (not flipped, not shifted by the photo's offset, not stretched)."""
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    smooth = np.stack([xx / size[0], yy / size[1], (xx + 2 * yy) % 97 / 97], -1)  # a ramp + stripes: no symmetry
    img = Image.fromarray((smooth * 255).astype(np.uint8))
    square, geometry = photo_square(img, fit)
    photo = photo_at(square, geometry, 1024)
    frame = torch.from_numpy(np.asarray(square.resize((128, 128), Image.BILINEAR)).copy()).permute(2, 0, 1)[None]
    out = frame_to_output(frame.float() / 127.5 - 1, geometry, tuple(photo.shape[-2:]))
    err = (out - photo).abs().mean().item()
    flipped = (out.flip(-2) - photo).abs().mean().item()
    assert err < 0.05 and flipped > 4 * err, (err, flipped)
    stretched = F.interpolate(frame.float() / 127.5 - 1, size=tuple(photo.shape[-2:]), mode="bilinear")
    if fit == "pad":
        assert (stretched - photo).abs().mean().item() > 4 * err, "the photo's box, not the whole square"
