"""The base of the LightningModules that train one network on its own (segmenter, scene network, upsampler): the
network as ``self.net``, its hyper-parameters saved plainly, Adam on it, and checkpoints marked with the network's
kind and config (:data:`dl_lightning.checkpoints.KINDS`)."""

from __future__ import annotations

from dataclasses import asdict

import pytorch_lightning as pl
import torch
from torch import nn

from dl_lightning.checkpoints import mark_checkpoint
from dl_lightning.config import saved_hparams


class NetworkModule(pl.LightningModule):
    """Subclasses set ``kind`` (a key of ``checkpoints.KINDS``) and call :meth:`keep` with their network and the
    ``__init__`` arguments to save; ``lr`` among them is Adam's learning rate."""

    kind: str = ""

    def keep(self, net: nn.Module, **hparams) -> None:
        self.save_hyperparameters(saved_hparams(self, **hparams))
        self.net = net

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        mark_checkpoint(checkpoint, self.kind, asdict(self.net.cfg))
