"""The scene-aware quality metric: labels through shards, the scene network, distances, pixel statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dl_lightning.checkpoints import load_scene_net
from dl_lightning.data.ordered import dataset_samples
from dl_lightning.data.scenes import CLASSES, decode_classes, load_scenes
from dl_lightning.data.synthetic.dataset import build_synthetic, reference_stills, render_still
from dl_lightning.data.synthetic.landscape import render
from dl_lightning.metrics.frechet import frechet_distance, kernel_distance
from dl_lightning.metrics.pixel_stats import isolated_pixels, mean_abs_laplacian, pixel_stats
from dl_lightning.metrics.precision_recall import precision_recall
from dl_lightning.metrics.scene_quality import damage, distances, reference_sets, upsample_to


def test_scene_labels_round_trip_through_shards(tmp_path):
    root = tmp_path / "lab"
    build_synthetic(root, resolution=32, num_static=6, num_videos=2, frames=3, shard_size=4, fmt="png", workers=1)
    stills = list(dataset_samples(str(root), "static"))
    assert len(stills) == 6
    for s in stills:
        meta = json.loads(s["json"])
        r, tau = render_still(meta["seed"], 32)  # the labels as the renderer made them
        assert meta["scene"] == json.loads(json.dumps(r.scene)) and meta["daytime"] == tau
        assert torch.equal(decode_classes(s["classes.png"], 32), torch.from_numpy(r.classes[0]))
        assert meta["scene"]["ridges"] == len(meta["scene"]["ridge_heights"]) >= 1
        assert meta["scene"]["trees"] == len(meta["scene"]["tree_positions"])
    video = next(iter(dataset_samples(str(root), "videos")))
    assert "classes.png" in video and "scene" in json.loads(video["json"])
    images, classes, targets = load_scenes(str(root), 32, limit=4, skip=2)
    assert images.shape == (4, 3, 32, 32) and classes.shape == (4, 32, 32) and int(classes.max()) < len(CLASSES)
    assert targets["trees"].tolist() == [json.loads(s["json"])["scene"]["trees"] for s in stills[2:6]]


def test_class_maps_keep_thin_trees_and_follow_the_scene():
    taus, times = np.array([0.5]), np.array([0.0])
    for seed in range(40):
        r = render(seed, 32, taus, times)
        tree_px = int((r.classes[0] == CLASSES.index("tree")).sum())
        assert (tree_px > 0) == (r.scene["trees"] > 0), seed  # every visible tree, however thin, is in the map
        assert (r.scene["class_shares"]["water"] > 0) == r.scene["water"]
        assert r.dynamic[r.classes[0] == CLASSES.index("grass")].mean() < 0.2  # grass is land
    bare = render(3, 32, taus, times, without=("trees", "ridges", "water"))
    assert bare.scene["trees"] == bare.scene["ridges"] == 0 and not bare.scene["water"]
    assert (bare.classes[0] == CLASSES.index("ridge")).sum() == 0
    same = render(3, 32, taus, times)
    sky = lambda r: r.classes[0] <= CLASSES.index("cloud")  # noqa: E731
    assert (sky(bare) >= sky(same)).all() and sky(bare).sum() > sky(
        same
    ).sum()  # the same scene, its sky down to the horizon


def test_isolated_pixel_counter_and_laplacian_on_known_images():
    flat = torch.zeros(1, 3, 16, 16)
    assert not isolated_pixels(flat).any() and float(mean_abs_laplacian(flat)) == 0.0
    speckled = flat.clone()
    for y, x in ((3, 4), (8, 8), (12, 5)):
        speckled[0, :, y, x] = -1.0  # black lone pixels in a mid-grey sky
    iso = isolated_pixels(speckled)
    assert int(iso.sum()) == 3 and iso[0, 0, 2, 3] and iso[0, 0, 7, 7]
    edge = flat.clone()
    edge[..., 8:] = 1.0  # a clean step edge is not a speckle
    assert not isolated_pixels(edge).any()
    assert pixel_stats([speckled])["isolated_rate"] == pytest.approx(3 / 14**2)
    sharp = torch.rand(2, 3, 32, 32) * 2 - 1
    assert float(mean_abs_laplacian(damage(sharp, 1.0)).mean()) < 0.5 * float(mean_abs_laplacian(sharp).mean())


def test_frechet_kernel_and_precision_recall_on_known_distributions():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, 4, generator=gen), torch.randn(4000, 4, generator=gen)
    shifted = b + torch.tensor([2.0, 0, 0, 0])
    assert frechet_distance(a, b) < 0.05
    assert frechet_distance(a, shifted) == pytest.approx(4.0, abs=0.2)  # |mu|^2 with equal covariances
    assert frechet_distance(a, 3 * b) == pytest.approx(4 * 4.0, rel=0.1)  # tr(1 + 9 - 2*3) per dimension
    assert abs(kernel_distance(a, b, subsets=5, subset_size=500)[0]) < 0.01 < kernel_distance(a, shifted, 5, 500)[0]
    pr = precision_recall(a[:800], b[:800])
    assert pr["precision"] > 0.9 and pr["recall"] > 0.9
    far = precision_recall(a[:800], b[:800] + 10)
    assert far == {"precision": 0.0, "recall": 0.0}
    collapsed = precision_recall(a[:800], 0.05 * b[:800])  # every sample near the mode: precise, no recall
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3


def test_shipped_scene_network_reads_held_out_renders_and_orders_the_ladder():
    net = load_scene_net()
    real = reference_sets(96, 64, ladder=False, workers=1)[0]
    frames = reference_stills(96, 64, workers=1)[0]
    assert torch.equal(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1, real)
    other = torch.from_numpy(np.stack([render_still(7 * 10**8 + i, 64)[0].frames[0] for i in range(96)]))
    other = other.permute(0, 3, 1, 2).float() * 2 - 1  # other scenes, never quantised: the floor
    low = torch.from_numpy(np.stack([render_still(7 * 10**8 + i, 16)[0].frames[0] for i in range(96)]))
    low = upsample_to(low.permute(0, 3, 1, 2).float() * 2 - 1, 64)
    feats = {
        k: net.features(x) for k, x in {"real": real, "floor": other, "blur": damage(other, 1.0), "low": low}.items()
    }
    fd = {k: frechet_distance(feats["real"], f) for k, f in feats.items() if k != "real"}
    assert fd["floor"] < fd["blur"] < fd["low"], fd


def test_scene_net_trains_and_exports(tiny_data, tmp_path):
    import pytorch_lightning as pl

    from dl_lightning.checkpoints import save_scene_net
    from dl_lightning.data.scenes import SceneDataModule
    from dl_lightning.metrics.features import make_extractor
    from dl_lightning.training.scene_net_module import SceneNetModule

    module = SceneNetModule({"width": 4, "depth": 2, "hidden": 8, "resolution": 32}, lr=0.01)
    data = SceneDataModule(str(tiny_data), resolution=32, batch_size=8, num_train=16, num_val=8)
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=6, val_check_interval=3, check_val_every_n_epoch=None, logger=False,
        enable_progress_bar=False,
        enable_model_summary=False, enable_checkpointing=False,
    )  # fmt: skip
    trainer.fit(module, datamodule=data)
    for k in ("val/miou", "val/trees_mae", "val/water_acc", "val/ridges_acc", "val/daytime_error_h", "val/iou/tree"):
        assert k in trainer.callback_metrics
    trainer.save_checkpoint(tmp_path / "s.ckpt")
    path = save_scene_net(module.net, tmp_path / "s.safetensors")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for p in (tmp_path / "s.ckpt", path):
        torch.testing.assert_close(load_scene_net(p).features(x), module.net.eval().features(x))
    extractor = make_extractor("scene", str(path))
    assert extractor(torch.zeros(2, 3, 32, 32, dtype=torch.uint8)).shape == (2, extractor.num_features)


def test_distances_rank_a_damaged_set_below_a_clean_one():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(300, 8, generator=gen)
    close, far = torch.randn(300, 8, generator=gen), torch.randn(300, 8, generator=gen) * 2 + 1
    d_close, d_far = distances(real, close, kid_subset=100), distances(real, far, kid_subset=100)
    assert d_close["fd"] < d_far["fd"] and d_close["kid"] < d_far["kid"] and d_close["precision"] > d_far["precision"]
