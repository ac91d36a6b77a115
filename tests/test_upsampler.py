"""x4 super-resolution: starts as bicubic, learns on synthetic pairs, round-trips, feeds photo animation."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from dl_lightning.checkpoints import load_upsampler
from dl_lightning.cli.animate import main as animate
from dl_lightning.cli.eval import main as dl_eval
from dl_lightning.data.superres import SuperResDataModule, downscale
from dl_lightning.models.upsampler import Upsampler, bicubic
from dl_lightning.training.upsampler_module import UpsamplerModule
from tests.test_inversion import gen_ckpt, quiet_trainer, tiny_generator  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def upsampler_ckpt(tiny_data, tmp_path_factory):
    """(checkpoint path, module, datamodule): 40 steps on 16 px crops of the 32 px tiny dataset."""
    torch.manual_seed(0)
    dm = SuperResDataModule(str(tiny_data), resolution=32, crop=16, batch_size=8)
    module = UpsamplerModule({"channels": 8, "blocks": 1}, lr=0.003)
    trainer = quiet_trainer(40)
    trainer.fit(module, datamodule=dm)
    path = tmp_path_factory.mktemp("up") / "up.ckpt"
    trainer.save_checkpoint(path)
    return path, module, dm


def test_untrained_upsampler_is_bicubic_at_any_shape():
    net = Upsampler(channels=8, blocks=2)
    x = torch.rand(2, 3, 10, 14) * 2 - 1
    y = net(x)
    assert y.shape == (2, 3, 40, 56)
    assert torch.equal(y, bicubic(x)), "zero-initialised tail: exactly bicubic before training"
    y.square().mean().backward()
    assert net.tail.weight.grad.abs().sum() > 0, "the residual branch learns"


def test_pairs_are_box_downscaled_crops(tiny_data):
    dm = SuperResDataModule(str(tiny_data), resolution=32, crop=16, batch_size=4)
    dm.setup()
    low, high = dm.train_set[0]
    assert low.shape == (3, 4, 4) and high.shape == (3, 16, 16)
    assert torch.allclose(low, high.reshape(3, 4, 4, 4, 4).mean((2, 4)), atol=1e-6)
    low, high = dm.val_set[0]
    assert high.shape == (3, 32, 32) and torch.equal(low, downscale(high[None])[0])
    with pytest.raises(ValueError):
        SuperResDataModule(str(tiny_data), resolution=32, crop=18)


def test_training_beats_bicubic_on_training_crops_and_round_trips(upsampler_ckpt):
    path, module, dm = upsampler_ckpt
    low, high = next(iter(dm.train_dataloader()))
    net = load_upsampler(path)
    with torch.no_grad():
        ours, base = (net(low) - high).abs().mean(), (bicubic(low) - high).abs().mean()
        assert torch.equal(net(low), module.net.eval()(low)), "the checkpoint holds the trained weights"
    assert ours < base, (float(ours), float(base))


def test_eval_reports_gain_over_bicubic(upsampler_ckpt, tiny_data, tmp_path):
    path, _, _ = upsampler_ckpt
    dl_eval(
        [
            "upsampler",
            "--upsampler",
            str(path),
            "--data",
            str(tiny_data),
            "--resolution",
            "32",
            "--num",
            "8",
            "--json",
            str(tmp_path / "sr.json"),
        ]
    )
    r = json.loads((tmp_path / "sr.json").read_text())
    assert r["frames"] == 8 and set(r["upsampler"]) == {"mse", "psnr"}
    assert r["psnr_gain_db"] == pytest.approx(r["upsampler"]["psnr"] - r["bicubic"]["psnr"])
    assert r["psnr_gain_db"] > 0, "the trained upsampler beats bicubic on held-out frames, as its loss says"


def test_photo_animation_uses_the_upsampler(upsampler_ckpt, gen_ckpt, tmp_path):  # noqa: F811
    path, _, _ = upsampler_ckpt
    Image.new("RGB", (96, 64), (90, 140, 200)).save(tmp_path / "p.png")
    out = tmp_path / "out"
    args = ["--ckpt", str(gen_ckpt), "--image", str(tmp_path / "p.png"), "--out", str(out)]
    args += "--optim-steps 2 --finetune-steps 1 --frames 2 --size 64 --formats gif --daytime fixed --no-train".split()
    args += ["--sky", "generator"]  # the photo's own sky (the default) needs no upsampler
    animate(args + ["--upsampler", str(path)])
    report = json.loads((out / "metrics.json").read_text())
    assert report["upsampler"] == str(path) and report["size"] == [64, 96], "the whole photo, at a short side of 64"
    with_net = np.asarray(Image.open(out / "photo.gif").convert("RGB"), np.float32)
    animate(args + ["--upsampler", "none"])
    bicubic = np.asarray(Image.open(out / "photo.gif").convert("RGB"), np.float32)
    assert np.abs(with_net - bicubic).mean() > 0.5, "the upsampler's frames are not bicubic's"
    with pytest.raises(SystemExit):  # a checkpoint of another kind: one line, no traceback
        animate(args + ["--upsampler", str(gen_ckpt)])
