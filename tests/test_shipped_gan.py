"""The GAN shipped in dl_lightning/assets/ (the long recipe's generator and its lighting network A): it loads and
makes landscapes, A inverts its mapping, and a fresh folder animates and relights a photo with it, training nothing."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from dl_lightning import checkpoints
from dl_lightning.checkpoints import (
    DEFAULT_GAN,
    SHIPPED_GAN,
    SHIPPED_LIGHTING,
    find_gan,
    load_generator,
    load_lighting,
    load_scene_net,
)
from dl_lightning.cli.animate import main as animate
from dl_lightning.data.scenes import CLASSES
from dl_lightning.errors import UserError
from dl_lightning.metrics.lighting_accuracy import lighting_accuracy
from dl_lightning.models.generator import Generator
from dl_lightning.training.companions import ensure_companion, ship_gan
from tests.conftest import REPO
from tests.test_inversion import gen_ckpt  # noqa: F401  (fixture)

SKY = [CLASSES.index("sky"), CLASSES.index("cloud")]


def _sky_on_top_land_below(G: Generator, n: int = 16) -> tuple[float, float]:
    """Share of the top and bottom fifths of ``n`` samples that the scene network reads as sky / as land."""
    z_st, z_dyn, s_st, s_dyn = G.sample_latents(n, 0)
    with torch.no_grad():
        classes = load_scene_net()(G(z_st, z_dyn, noise_st=s_st, noise_dyn=s_dyn))["classes"].argmax(1)
    sky = torch.isin(classes, torch.tensor(SKY)).float()
    rows = classes.shape[1] // 5
    return float(sky[:, :rows].mean()), float(1 - sky[:, -rows:].mean())


def test_the_shipped_gan_makes_landscapes_and_its_lighting_network_inverts_its_mapping():
    G = load_generator(SHIPPED_GAN)
    top, bottom = _sky_on_top_land_below(G)
    assert top > 0.95 and bottom > 0.95, (top, bottom)
    untrained = _sky_on_top_land_below(Generator(G.cfg).eval())  # the same check on the same shape, untrained
    assert min(untrained) < 0.85, untrained

    A = load_lighting(SHIPPED_LIGHTING, G)
    acc = lighting_accuracy(G, A, num=512)
    chance = lighting_accuracy(G, type(A)(G.cfg.w_dim, G.cfg.z_st_dim, G.cfg.z_dyn_dim, A.hidden, A.layers), num=512)
    assert acc["zdyn_cosine"] > 0.4 and acc["zdyn_cosine"] > chance["zdyn_cosine"] + 0.3, (acc, chance)
    assert acc["relative_cycle_error"] < 0.5 * chance["relative_cycle_error"], (acc, chance)


def test_find_gan_takes_the_given_then_make_trains_then_the_shipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_gan("mine.ckpt")[0] == "mine.ckpt"
    path, what = find_gan(None)
    assert path == SHIPPED_GAN and "shipped" in what
    Path(DEFAULT_GAN).parent.mkdir(parents=True)
    Path(DEFAULT_GAN).touch()
    assert find_gan(None)[0] == DEFAULT_GAN
    Path(DEFAULT_GAN).unlink()
    monkeypatch.setattr(checkpoints, "SHIPPED_GAN", str(tmp_path / "gone.safetensors"))
    with pytest.raises(UserError, match="make train"):
        find_gan(None)


def test_a_fresh_folder_animates_and_relights_with_the_shipped_gan_training_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no runs/, no data/: nothing to train from
    Image.open(REPO / "tests" / "data" / "hills.jpg").resize((96, 64)).save("p.png")
    flags = "--optim-steps 2 --finetune-steps 1 --frames 3 --size 64 --formats gif --daytime slerp --zdyn-end 3,3,3"
    animate(["--image", "p.png", "--out", "out", *flags.split()])
    said = capsys.readouterr().out
    report = json.loads(Path("out/metrics.json").read_text())
    assert f"model: {SHIPPED_GAN} (the shipped" in said and "training" not in said, said
    assert report["generator"] == SHIPPED_GAN and report["lighting"] == SHIPPED_LIGHTING
    assert report["region_change"]["change_static"] > 0, "a moving daytime relights the land"
    assert not Path("runs").exists() and not list(Path(SHIPPED_GAN).parent.glob("companions"))


def test_ship_gan_writes_a_pair_that_loads_and_refuses_another_generator(gen_ckpt, tmp_path):  # noqa: F811
    quick = ["--trainer.max_steps=2", "--trainer.enable_progress_bar=false", "--model.init_args.batch_size=8"]
    lighting = ensure_companion("lighting", gen_ckpt, quick)  # trained quickly here; ship_gan finds it current
    out = ship_gan(gen_ckpt, tmp_path / "g.safetensors")
    G, G2 = load_generator(gen_ckpt), load_generator(out)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values(), strict=True))
    A, A2 = load_lighting(lighting, G), load_lighting(out.with_name(Path(SHIPPED_LIGHTING).name), G2)
    w = G.mapping(*G.sample_z(4, 0))
    assert all(torch.equal(a, b) for a, b in zip(A(w), A2(w), strict=True))
    with pytest.raises(UserError, match="another generator"):
        load_lighting(out.with_name(Path(SHIPPED_LIGHTING).name), load_generator(SHIPPED_GAN))
