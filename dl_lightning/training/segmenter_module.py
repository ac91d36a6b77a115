"""SegmenterModule: trains the dynamic-region segmenter on the synthetic dataset's masks.

    dl-train fit --config configs/segmenter/synthetic64.yaml

Logs ``val/acc`` (pixel accuracy) and ``val/iou`` (intersection over union of the dynamic
region) on video frames, whose scenes the training stills never show.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from dl_lightning.checkpoints import read_checkpoint, submodule_state
from dl_lightning.models.segmenter import Segmenter, SegmenterConfig

#: Where ``make segmenter`` (run by ``make train``) leaves the segmenter; the CLIs look here when not told.
DEFAULT_SEGMENTER = "runs/segmenter64/checkpoints/last.ckpt"


class SegmenterModule(pl.LightningModule):
    """Args:
        segmenter: network size (see :class:`SegmenterConfig`).
        lr: Adam learning rate.
    """

    def __init__(self, segmenter: SegmenterConfig | None = None, lr: float = 0.003):
        super().__init__()
        cfg = segmenter if isinstance(segmenter, SegmenterConfig) else SegmenterConfig(**(segmenter or {}))
        self.save_hyperparameters({"segmenter": asdict(cfg), "lr": lr})
        self.net = Segmenter(cfg)

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
        checkpoint["dl_lightning"] = {"kind": "segmenter", "segmenter": asdict(self.net.cfg)}


def load_segmenter(path: str | Path) -> Segmenter:
    """The segmenter of a SegmenterModule checkpoint, in eval mode."""
    ckpt = read_checkpoint(path, "segmenter")
    net = Segmenter(SegmenterConfig(**ckpt["dl_lightning"]["segmenter"]))
    net.load_state_dict(submodule_state(ckpt, "net"))
    return net.eval().requires_grad_(False)
