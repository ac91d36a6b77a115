"""SegmenterModule: trains the dynamic-region segmenter on the synthetic dataset's masks.

    dl-train fit --config configs/segmenter/synthetic64.yaml

Logs ``val/acc`` (pixel accuracy) and ``val/iou`` (intersection over union of the dynamic
region) on video frames, whose scenes the training stills never show.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dl_lightning.config import as_config
from dl_lightning.models.segmenter import Segmenter, SegmenterConfig
from dl_lightning.training.network_module import NetworkModule


class SegmenterModule(NetworkModule):
    """Args:
    segmenter: network size (see :class:`SegmenterConfig`).
    lr: Adam learning rate.
    """

    kind = "segmenter"

    def __init__(self, segmenter: SegmenterConfig | None = None, lr: float = 0.003):
        super().__init__()
        cfg = as_config(SegmenterConfig, segmenter)
        self.keep(Segmenter(cfg), segmenter=cfg, lr=lr)

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
