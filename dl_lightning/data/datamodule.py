"""LightningDataModule over two shard sources: static images and video-frame pairs."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from dl_lightning.data.shards import shard_urls
from dl_lightning.data.stream import LandscapeStream


class LandscapeDataModule(pl.LightningDataModule):
    """Batches ``{"static": (B,3,H,W), "pairs": (B,2,3,H,W)}`` in [-1, 1] from WebDataset shards.

    Args:
        static_root: dataset folder (with manifest.json) whose ``static`` shards give single images.
        video_root: dataset folder whose ``videos`` shards give frame pairs; defaults to ``static_root``.
        resolution: training resolution; shards at another size are centre-cropped/resized.
        batch_size: per-GPU batch size.
        num_workers: dataloader worker processes per rank.
        epoch_length: batches per epoch per rank (the streams are endless; this sets epoch boundaries).
        max_gap: largest frame distance between the two frames of a pair; None = any two frames of a clip.
        pairs_per_video: pairs drawn from one decoded clip.
        flip: random horizontal flips (identical for both frames of a pair).
        shuffle_buffer: per-worker shuffle buffer in samples.
        seed: data seed (combined with epoch, rank and worker).
    """

    def __init__(
        self,
        static_root: str = "data/synthetic64",
        video_root: str | None = None,
        resolution: int = 64,
        batch_size: int = 16,
        num_workers: int = 2,
        epoch_length: int = 500,
        max_gap: int | None = None,
        pairs_per_video: int = 4,
        flip: bool = True,
        shuffle_buffer: int = 256,
        seed: int = 0,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.static_root, self.video_root = static_root, video_root or static_root
        self.stream: LandscapeStream | None = None
        self.start_epoch = 0  # the stream's first epoch: after a resume, the one after the checkpoint's

    def state_dict(self) -> dict:
        """Saved in every checkpoint: the stream epoch a resumed run starts from (the next unseen one, so a
        resumed run does not replay the sample order it has already trained on)."""
        return {"stream_epoch": (self.trainer.current_epoch + 1) if self.trainer is not None else self.start_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.start_epoch = int(state.get("stream_epoch", 0))
        if self.stream is not None:
            self.stream.epoch = self.start_epoch

    def setup(self, stage: str | None = None) -> None:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        hp = self.hparams
        self.stream = LandscapeStream(
            shard_urls(self.static_root, "static"),
            shard_urls(self.video_root, "videos"),
            hp.resolution,
            samples_per_epoch=hp.epoch_length * hp.batch_size,
            max_gap=hp.max_gap,
            pairs_per_video=hp.pairs_per_video,
            flip=hp.flip,
            shuffle_buffer=hp.shuffle_buffer,
            seed=hp.seed,
            rank=rank,
            world_size=world,
            batch_size=hp.batch_size,
        )
        self.stream.epoch = self.start_epoch

    def train_dataloader(self) -> DataLoader:
        if self.stream is None:
            self.setup("fit")
        nw = self.hparams.num_workers
        return DataLoader(
            self.stream,
            batch_size=self.hparams.batch_size,
            num_workers=nw,
            drop_last=True,
            persistent_workers=nw > 0,
            pin_memory=torch.cuda.is_available(),
            prefetch_factor=4 if nw > 0 else None,
        )
