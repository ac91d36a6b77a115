"""Networks that photo animation needs are trained on the spot, kept beside the GAN, retrained when stale."""

import json
import os
import time
from pathlib import Path

import torch
from PIL import Image

from dl_lightning.checkpoints import (
    DEFAULT_PHOTO_SEGMENTER,
    DEFAULT_SEGMENTER,
    load_encoder,
    load_generator,
    load_lighting,
)
from dl_lightning.cli.animate import main as animate
from dl_lightning.training import companions
from dl_lightning.training.companions import ensure_companion, is_current
from tests.conftest import REPO
from tests.test_inversion import gen_ckpt  # noqa: F401  (fixture)


def test_missing_companions_are_trained_once_then_used_by_dl_animate(gen_ckpt, tiny_data, tmp_path, capsys):  # noqa: F811
    quick = ["--trainer.max_steps=2", "--trainer.enable_progress_bar=false"]
    lighting = ensure_companion("lighting", gen_ckpt, quick + ["--model.init_args.batch_size=8"])
    assert lighting == gen_ckpt.parent / "companions" / "lighting.ckpt"
    G = load_generator(gen_ckpt)
    load_lighting(lighting, G)  # a real lighting checkpoint for this generator
    encoder = ensure_companion(
        "encoder", gen_ckpt, quick + [f"--data.init_args.static_root={tiny_data}", "--data.init_args.batch_size=4"]
    )
    load_encoder(encoder, G)
    assert "training it now" in capsys.readouterr().out
    stamp = lighting.stat().st_mtime_ns
    assert ensure_companion("lighting", gen_ckpt) == lighting and lighting.stat().st_mtime_ns == stamp, "kept"
    assert "training it now" not in capsys.readouterr().out

    # dl-animate picks both up from beside the GAN without being told
    Image.new("RGB", (48, 40), (90, 140, 200)).save(tmp_path / "p.png")
    Image.new("L", (48, 40), 255).save(tmp_path / "m.png")
    out = tmp_path / "out"
    args = [
        "--ckpt",
        str(gen_ckpt),
        "--image",
        str(tmp_path / "p.png"),
        "--out",
        str(out),
        "--mask",
        str(tmp_path / "m.png"),
    ]
    animate(args + "--optim-steps 1 --finetune-steps 1 --frames 2 --size 0 --formats gif --daytime slerp".split())
    report = json.loads((out / "metrics.json").read_text())
    assert report["encoder"] == str(encoder) and report["lighting"] == str(lighting)
    assert "training it now" not in capsys.readouterr().out

    # at the photo's size, the land is relit smoothly when the daytime moves, and exactly still when it does not
    land = Image.new("RGB", (48, 40), (90, 140, 200))
    land.paste((60, 120, 40), (0, 20, 48, 40))
    land.save(tmp_path / "p.png")
    half = Image.new("L", (48, 40), 0)
    half.paste(255, (0, 0, 48, 20))
    half.save(tmp_path / "m.png")
    flags = "--optim-steps 1 --finetune-steps 1 --frames 3 --size 40 --fit pad --formats gif".split()
    for daytime in ("slerp", "fixed"):
        animate(args + flags + ["--daytime", daytime, "--zdyn-end", ",".join(["3"] * G.cfg.z_dyn_dim)])
        rc = json.loads((out / "metrics.json").read_text())["region_change"]
        assert (rc["change_static"] > 0) == (daytime == "slerp"), (daytime, rc)

    # a GAN checkpoint newer than its companions makes them stale (times set apart, so no clock race)
    now = time.time()
    for path, age in ((lighting, 100), (encoder, 100), (gen_ckpt, 50)):
        os.utime(path, (now - age, now - age))
    assert not is_current("lighting", gen_ckpt) and not is_current("encoder", gen_ckpt)
    ensure_companion("lighting", gen_ckpt, quick + ["--model.init_args.batch_size=8"])
    assert "older than the GAN checkpoint" in capsys.readouterr().out and is_current("lighting", gen_ckpt)

    # a checkpoint from before an option was added to GeneratorConfig still fits (the option at its default);
    # one made for another generator shape is stale
    ckpt = torch.load(lighting, weights_only=True)
    ckpt["dl_lightning"]["generator"].pop("dyn_gate_norm")
    torch.save(ckpt, lighting)
    assert is_current("lighting", gen_ckpt) and load_lighting(lighting, G) is not None
    ckpt["dl_lightning"]["generator"]["w_dim"] += 1
    torch.save(ckpt, lighting)
    assert not is_current("lighting", gen_ckpt)


def test_the_default_photo_path_trains_the_segmenter_then_uses_it(gen_ckpt, tiny_data, tmp_path, monkeypatch, capsys):  # noqa: F811
    """Without the shipped photo segmenter, `make animate IMAGE=...` in a fresh folder trains the motion segmenter
    (here 2 steps) where `make train` keeps it, and dl-animate, given no mask and no segmenter, finds it there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(companions, "DEFAULT_PHOTO_SEGMENTER", str(tmp_path / "not_shipped.safetensors"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "synthetic64").symlink_to(tiny_data)
    assert not is_current("segmenter", gen_ckpt)
    quick = ["--trainer.max_steps=2", "--trainer.enable_progress_bar=false", "--data.init_args.resolution=32"]
    seg = ensure_companion("segmenter", gen_ckpt, quick + ["--data.init_args.batch_size=4"])
    assert seg == Path(DEFAULT_SEGMENTER) and seg.is_file() and "training it now" in capsys.readouterr().out
    photo = Image.new("RGB", (64, 48), (90, 140, 200))
    photo.paste((60, 120, 40), (0, 24, 64, 48))
    photo.save(tmp_path / "p.png")
    out = tmp_path / "out"
    animate(f"--ckpt {gen_ckpt} --image p.png --out {out} --optim-steps 1 --finetune-steps 1 --frames 2 "
            "--size 48 --fit pad --formats gif --daytime fixed".split())  # fmt: skip
    report = json.loads((out / "metrics.json").read_text())
    assert report["segmenter"] == str(seg) and report["mask"].startswith("segmenter (32 px)")
    assert "training it now" not in capsys.readouterr().out  # kept from the first time
    assert Image.open(out / "mask.png").size == (64, 48)


def test_the_default_photo_path_uses_the_shipped_segmenter_and_trains_nothing(gen_ckpt, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # a fresh folder: no runs/, no data/ to train anything from
    Image.open(REPO / "tests" / "data" / "hills.jpg").resize((96, 64)).save(tmp_path / "p.png")
    animate(f"--ckpt {gen_ckpt} --image p.png --out out --optim-steps 1 --finetune-steps 1 --frames 2 "
            "--size 48 --fit pad --formats gif --daytime fixed".split())  # fmt: skip
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["segmenter"] == DEFAULT_PHOTO_SEGMENTER and report["mask"].startswith("segmenter (128 px)")
    assert "training" not in capsys.readouterr().out and not (tmp_path / "runs").exists()
    assert 0 < report["region"]["moving_share"] < 1 and (tmp_path / "out" / "uncertain.png").is_file()
