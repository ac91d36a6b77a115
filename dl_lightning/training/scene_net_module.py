"""SceneNetModule: trains the scene network (per-pixel classes + scene parameters) on labelled renders.

    dl-train fit --config configs/scene_net/synthetic64.yaml      # or: make scene-net

Validation reads held-out renders (:func:`dl_lightning.metrics.scene_reading.scene_reading`) and logs
``val/miou``, ``val/iou/<class>``, ``val/trees_mae``, ``val/water_acc``, ``val/ridges_acc``, ``val/daytime_error_h``.
"""

from __future__ import annotations

import torch

from dl_lightning.config import as_config
from dl_lightning.metrics.scene_reading import scene_reading
from dl_lightning.models.scene_net import SceneNet, SceneNetConfig, scene_loss
from dl_lightning.training.network_module import NetworkModule


class SceneNetModule(NetworkModule):
    """Args:
    scene_net: network size (see :class:`SceneNetConfig`).
    lr: Adam learning rate (cosine decay to 5% over ``trainer.max_steps``).
    """

    kind = "scene_net"

    def __init__(self, scene_net: SceneNetConfig | None = None, lr: float = 0.003):
        super().__init__()
        cfg = as_config(SceneNetConfig, scene_net)
        self.keep(SceneNet(cfg), scene_net=cfg, lr=lr)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, classes, targets = batch
        losses = scene_loss(self.net(x), classes, targets)
        self.log_dict({f"loss/{k}": v for k, v in losses.items()})
        loss = sum(losses.values())
        self.log("loss", loss, prog_bar=True)
        return loss

    def on_validation_epoch_end(self) -> None:
        val = self.trainer.datamodule.val_set
        was_training = self.net.training
        self.net.eval()
        metrics = scene_reading(self.net, val.images.to(self.device), val.classes.to(self.device), val.targets)
        self.net.train(was_training)
        self.log_dict({f"val/{k}": v for k, v in metrics.items() if k != "miou"})
        self.log("val/miou", metrics["miou"], prog_bar=True)

    def validation_step(self, batch, batch_idx: int) -> None:  # the whole held-out set is read at epoch end
        pass

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr)
        steps = max(1, self.trainer.max_steps if self.trainer.max_steps > 0 else 1000)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + torch.cos(torch.tensor(min(s, steps) / steps * torch.pi)).item())
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
