"""SegmenterModule: trains the dynamic-region segmenter on the synthetic dataset's masks.

    dl-train fit --config configs/segmenter/synthetic64.yaml

Logs ``val/acc`` (pixel accuracy) and ``val/iou`` (intersection over union of the dynamic
region) on video frames, whose scenes the training stills never show.
"""

from __future__ import annotations

from dataclasses import asdict

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from dl_lightning.checkpoints import mark_checkpoint
from dl_lightning.config import as_config, saved_hparams
from dl_lightning.models.segmenter import Segmenter, SegmenterConfig


class SegmenterModule(pl.LightningModule):
    """Args:
    segmenter: network size (see :class:`SegmenterConfig`).
    lr: Adam learning rate.
    """

    def __init__(self, segmenter: SegmenterConfig | None = None, lr: float = 0.003):
        super().__init__()
        cfg = as_config(SegmenterConfig, segmenter)
        self.save_hyperparameters(saved_hparams(self, segmenter=cfg, lr=lr))
        self.net = Segmenter(cfg)

    def on_fit_start(self) -> None:
        data = getattr(self.trainer, "datamodule", None)
        if data is not None and "resolution" in data.hparams:
            self.net.cfg.resolution = int(data.hparams.resolution)  # saved with the network (checkpoints.KINDS)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, m = batch
        loss = F.binary_cross_entropy_with_logits(self.net(x)[:, 0], m)
        self.log("loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        x, m = batch
        pred, m = self.net.predict(x), m.bool()
        inter, union = (pred & m).sum().float(), (pred | m).sum().float()
        self.log_dict({"val/acc": (pred == m).float().mean(), "val/iou": inter / union.clamp(min=1)}, prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        mark_checkpoint(checkpoint, "segmenter", asdict(self.net.cfg))
