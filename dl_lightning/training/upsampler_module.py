"""UpsamplerModule: trains the x4 super-resolution net on synthetic high/low-resolution pairs.

    dl-train fit --config configs/upsampler/synthetic256.yaml

Logs ``val/psnr`` and ``val/psnr_bicubic`` (dB, held-out video frames, 64 -> 256 px) and their
difference ``val/psnr_gain``; ``dl-eval upsampler`` adds LPIPS when its weights are present.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dl_lightning.config import as_config
from dl_lightning.metrics.reconstruction import recon_metrics
from dl_lightning.models.upsampler import Upsampler, UpsamplerConfig, bicubic
from dl_lightning.training.network_module import NetworkModule


class UpsamplerModule(NetworkModule):
    """Args:
    upsampler: network size (see :class:`UpsamplerConfig`).
    lr: Adam learning rate.
    """

    kind = "upsampler"

    def __init__(self, upsampler: UpsamplerConfig | None = None, lr: float = 0.001):
        super().__init__()
        cfg = as_config(UpsamplerConfig, upsampler)
        self.keep(Upsampler(cfg), upsampler=cfg, lr=lr)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        low, high = batch
        loss = F.l1_loss(self.net(low), high)
        self.log("loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        low, high = batch
        ours, base = recon_metrics(self.net(low).clamp(-1, 1), high), recon_metrics(bicubic(low).clamp(-1, 1), high)
        self.log_dict(
            {"val/psnr": ours["psnr"], "val/psnr_bicubic": base["psnr"], "val/psnr_gain": ours["psnr"] - base["psnr"]},
            prog_bar=True,
        )
