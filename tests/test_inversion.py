"""Photo inversion on frames the generator made itself (where an exact answer exists)."""

import io
import json
import struct
import zlib

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from PIL import Image

from dl_lightning.animation import get_motion
from dl_lightning.checkpoints import load_inversion, save_generator, save_inversion
from dl_lightning.cli.animate import main as animate
from dl_lightning.cli.eval import main as dl_eval
from dl_lightning.data.datamodule import LandscapeDataModule
from dl_lightning.data.photos import prepare_photo
from dl_lightning.errors import UserError
from dl_lightning.inversion.pipeline import invert_photo
from dl_lightning.metrics.lpips_metric import load_lpips
from dl_lightning.models import Generator, GeneratorConfig
from dl_lightning.photo.frames import animate_inversion
from dl_lightning.training.encoder_module import EncoderModule
from dl_lightning.training.lighting_module import LightingNetModule
from tests.conftest import TINY_G


def tiny_generator(seed=0) -> Generator:
    torch.manual_seed(seed)
    G = Generator(GeneratorConfig(**TINY_G)).eval().requires_grad_(False)
    for layer in G.layers:
        layer.strength_st.fill_(0.3)
        layer.strength_dyn.fill_(0.3)
    return G


@pytest.fixture(scope="module")
def gen_ckpt(tmp_path_factory):
    return save_generator(tiny_generator(), tmp_path_factory.mktemp("g") / "g.safetensors")


def quiet_trainer(steps):
    return pl.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def test_each_stage_lowers_reconstruction_error():
    G = tiny_generator()
    with torch.no_grad():
        target = G(*G.sample_z(1), noise_st=G.sample_noise(1), noise_dyn=G.sample_noise(1))
    lp = load_lpips("alex", random_backbone=True)
    inv = invert_photo(
        target,
        G,
        optim_steps=40,
        finetune_steps=30,
        lpips_model=lp,
        lpips_weight=0.1,
        progress=False,
        finetune={"lr": 2e-3},
    )
    mse = [inv.metrics[s]["mse"] for s in ("encoder", "optimised", "finetuned")]
    assert mse[0] > mse[1] > mse[2], mse
    assert inv.metrics["finetuned"]["psnr"] > inv.metrics["encoder"]["psnr"]
    assert "lpips" in inv.metrics["optimised"] and inv.metrics["optimised"]["seconds"] > 0


def test_finetuning_changes_only_the_copy():
    G = tiny_generator()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with torch.no_grad():
        target = G(*G.sample_z(1))
    inv = invert_photo(target + 0.3, G, optim_steps=2, finetune_steps=5, progress=False, finetune={"lr": 1e-2})
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items()), "original G must be untouched"
    tuned = inv.G.state_dict()
    assert any(not torch.equal(before[k], tuned[k]) for k in before if not k.startswith("mapping"))
    assert all(torch.equal(before[k], tuned[k]) for k in before if k.startswith("mapping."))


def test_saved_inversion_reloads_to_identical_frames(tmp_path):
    G = tiny_generator()
    with torch.no_grad():
        target = G(*G.sample_z(1))
    inv = invert_photo(target, G, optim_steps=3, finetune_steps=2, progress=False)
    path = save_inversion(inv, tmp_path / "inv.safetensors")
    back = load_inversion(path)
    torch.testing.assert_close(back.render(), inv.render(), rtol=0, atol=0)
    m = get_motion("fast", horizon=0.0)
    for a, b in zip(animate_inversion(inv, m, 3), animate_inversion(back, m, 3)):
        assert torch.equal(a, b)
    assert back.metrics == inv.metrics


def test_encoder_training_reduces_latent_error(gen_ckpt, tiny_data):
    module = EncoderModule(
        str(gen_ckpt),
        encoder={"channel_base": 256, "channel_max": 32},
        perceptual={"weight": 0.0},
        lr=2e-3,
        real_weight=0.5,
    )
    G = module.G

    def latent_error():
        torch.manual_seed(123)
        with torch.no_grad():
            ws = G.map(*G.sample_z(32), 0.9)
            return torch.nn.functional.mse_loss(module.E(G.synthesis(ws)), ws).item()

    before = latent_error()
    dm = LandscapeDataModule(
        str(tiny_data), resolution=32, batch_size=8, num_workers=0, epoch_length=100, shuffle_buffer=4
    )
    quiet_trainer(60).fit(module, datamodule=dm)
    assert latent_error() < 0.7 * before
    assert all(not p.requires_grad for p in G.parameters())


def test_lighting_network_inverts_the_mapping_on_held_out_samples(gen_ckpt, tmp_path):
    """Stated accuracy on the tiny test generator: held-out z_dyn cosine > 0.8 after 300 steps (0.86 measured)."""
    module = LightingNetModule(str(gen_ckpt), hidden=128, layers=3, lr=3e-3, batch_size=256, epoch_length=300)
    trainer = quiet_trainer(300)
    trainer.fit(module)
    G, A = module.G, module.A.eval()
    torch.manual_seed(999)  # held-out latents
    z_st, z_dyn = G.sample_z(512)
    with torch.no_grad():
        p_st, p_dyn = A(G.mapping(z_st, z_dyn))
    cos = torch.nn.functional.cosine_similarity(p_dyn, z_dyn, dim=1)  # joint normalisation keeps the direction
    assert cos.mean() > 0.8, cos.mean()
    assert all(not p.requires_grad for p in G.parameters())
    assert G.mapping.w_avg.abs().sum() == 0, "the frozen mapping's w_avg must not move during A's training"
    ckpt = tmp_path / "A.ckpt"
    trainer.save_checkpoint(ckpt)
    out = tmp_path / "a.json"
    dl_eval(["lighting", "--ckpt", str(gen_ckpt), "--lighting", str(ckpt), "--num", "512", "--json", str(out)])
    report = json.loads(out.read_text())
    assert report["zdyn_cosine"] > 0.8 and 0 <= report["relative_cycle_error"] < 1


def _png_header_only(width, height) -> bytes:
    """A PNG whose header claims width x height (decompression-bomb probe); no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_bad_photos(tmp_path, hills):
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(UserError, match="not a readable image"):
        prepare_photo(tmp_path / "text.jpg", 32)
    good = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(good, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(good.getvalue()[:200])
    with pytest.raises(UserError):
        prepare_photo(tmp_path / "cut.jpg", 32)
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(UserError, match="too small"):
        prepare_photo(tmp_path / "dot.png", 32)
    (tmp_path / "bomb.png").write_bytes(_png_header_only(60000, 60000))
    with pytest.raises(UserError, match="over the|too large"):
        prepare_photo(tmp_path / "bomb.png", 32)
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 70, 3), dtype=np.uint8))
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.full((40, 70), 40000, np.uint16)).save(tmp_path / "deep.png")
    for name in ("cmyk.jpg", "rgba.png", "deep.png"):
        x = prepare_photo(tmp_path / name, 32)
        assert x.shape == (1, 3, 32, 32) and -1 <= x.min() and x.max() <= 1
    assert prepare_photo(hills, 32, fit="pad").shape == (1, 3, 32, 32)


def test_animate_a_photo_cli_and_reanimate(gen_ckpt, tmp_path, hills, capsys):
    out = tmp_path / "photo"
    flags = "--optim-steps 3 --finetune-steps 2 --frames 4 --formats gif --size 0 --no-train".split()
    animate(["--ckpt", str(gen_ckpt), "--image", str(hills), "--out", str(out)] + flags)  # LPIPS: falls back offline
    names = sorted(p.name for p in out.iterdir())
    assert names == ["inversion.safetensors", "metrics.json", "photo.gif", "reconstruction.png"]
    text = capsys.readouterr().out
    assert "optimised" in text and "finetuned" in text and "psnr" in text
    again = tmp_path / "again"
    flags = "--frames 3 --formats mp4 --motion left_wind".split()
    animate(["--inversion", str(out / "inversion.safetensors"), "--out", str(again)] + flags)
    assert (again / "photo.mp4").is_file()
    with pytest.raises(SystemExit):
        animate(
            ["--ckpt", str(gen_ckpt), "--image", str(hills), "--out", str(tmp_path / "x"), "--encoder", str(gen_ckpt)]
            + ["--no-train"]
        )
    assert "not a dl_lightning encoder checkpoint" in capsys.readouterr().err
