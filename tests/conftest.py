"""Shared fixtures: a tiny synthetic dataset and tiny model configs (seconds on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dl_lightning.data.synthetic.dataset import build_synthetic

REPO = Path(__file__).resolve().parents[1]
# the DeepLandscape project page's hills.jpg (MIT licence), re-encoded at JPEG quality 80: always in the checkout
HILLS = REPO / "tests" / "data" / "hills.jpg"

TINY_G = dict(resolution=32, z_st_dim=16, z_dyn_dim=3, w_dim=32, mapping_layers=2, channel_base=256, channel_max=32)
TINY_D = dict(resolution=32, channel_base=256, channel_max=32, dyn_resolution=16, dyn_merge_res=8)


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    torch.set_num_threads(2)  # the CI machine's cores; numerical tolerances hold for this reduction order


@pytest.fixture(autouse=True, scope="session")
def _precision_cache(tmp_path_factory):
    """dl-train's measured-precision cache goes to a temporary file, never the user's ~/.cache."""
    import os

    os.environ["DL_PRECISION_CACHE"] = str(tmp_path_factory.mktemp("cache") / "precision.json")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """32 px dataset: 24 stills, 8 videos of 6 frames, fixed lighting within videos, PNG (lossless)."""
    root = tmp_path_factory.mktemp("data") / "tiny32"
    build_synthetic(
        root, resolution=32, num_static=24, num_videos=8, frames=6, daytime_span=0.0, shard_size=8, fmt="png", workers=1
    )
    return root


@pytest.fixture
def hills() -> Path:
    """A real landscape photo (1024 x 1024 JPEG)."""
    return HILLS


@pytest.fixture(scope="session")
def segmenter_ckpt(tiny_data, tmp_path_factory):
    """A small segmenter trained on the tiny dataset's masks: (checkpoint path, validation metrics)."""
    import pytorch_lightning as pl

    from dl_lightning.data.masks import MaskDataModule
    from dl_lightning.training.segmenter_module import SegmenterModule

    path = tmp_path_factory.mktemp("seg") / "seg.ckpt"
    pl.seed_everything(0)
    module = SegmenterModule({"width": 8, "depth": 2}, lr=0.01)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=120,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=MaskDataModule(str(tiny_data), resolution=32, batch_size=8))
    trainer.save_checkpoint(path)
    validator = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    metrics = validator.validate(
        module, datamodule=MaskDataModule(str(tiny_data), resolution=32, batch_size=8), verbose=False
    )[0]
    return path, metrics
