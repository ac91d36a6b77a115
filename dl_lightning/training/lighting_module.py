"""LightingNetModule: trains A ~ M^-1 on samples of the (frozen) mapping network."""

from __future__ import annotations

from dataclasses import asdict

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from dl_lightning.checkpoints import DEFAULT_GAN, load_generator, mark_checkpoint
from dl_lightning.config import saved_hparams
from dl_lightning.frozen import KeepFrozenInEval
from dl_lightning.models.generator import normalize_z
from dl_lightning.models.lighting import LightingNet


class LightingNetModule(KeepFrozenInEval, pl.LightningModule):
    """Args:
    generator_ckpt: GAN checkpoint or exported generator (its mapping network is inverted); default: where
        ``make train`` leaves it (``checkpoints.DEFAULT_GAN``).
    hidden: width of A.
    layers: depth of A.
    lr: Adam learning rate.
    batch_size: latents per step.
    cycle_weight: weight of ||M(A(w)) - w||^2 next to the latent regression loss.
    zdyn_weight: extra weight of the z_dyn part (the part relighting needs).
    epoch_length: steps per epoch (latents are sampled on the fly).
    """

    frozen = ("G",)

    def __init__(
        self,
        generator_ckpt: str = DEFAULT_GAN,
        hidden: int = 256,
        layers: int = 4,
        lr: float = 0.001,
        batch_size: int = 256,
        cycle_weight: float = 1.0,
        zdyn_weight: float = 4.0,
        epoch_length: int = 500,
    ):
        super().__init__()
        self.save_hyperparameters(
            saved_hparams(
                self, generator_ckpt=generator_ckpt, hidden=hidden, layers=layers, lr=lr, batch_size=batch_size,
                cycle_weight=cycle_weight, zdyn_weight=zdyn_weight, epoch_length=epoch_length,
            )
        )  # fmt: skip
        self.G = load_generator(generator_ckpt)
        self.A = LightingNet(self.G.cfg.w_dim, self.G.cfg.z_st_dim, self.G.cfg.z_dyn_dim, hidden, layers)

    def losses(self, batch: int) -> dict[str, torch.Tensor]:
        z_st, z_dyn = self.G.sample_z(batch, device=self.device)
        with torch.no_grad():
            w = self.G.mapping(z_st, z_dyn)
        p_st, p_dyn = self.A(w)
        t_st, t_dyn = normalize_z(z_st, z_dyn)
        return {
            "z_st": F.mse_loss(p_st, t_st),
            "z_dyn": F.mse_loss(p_dyn, t_dyn),
            "cycle": F.mse_loss(self.G.mapping(p_st, p_dyn), w),
        }

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        parts = self.losses(hp.batch_size)
        loss = parts["z_st"] + hp.zdyn_weight * parts["z_dyn"] + hp.cycle_weight * parts["cycle"]
        self.log_dict({f"loss/{k}": v for k, v in parts.items()})
        self.log("loss", loss, prog_bar=True)
        return loss

    def train_dataloader(self) -> DataLoader:
        return DataLoader(range(self.hparams.epoch_length), batch_size=None)

    def configure_optimizers(self):
        return torch.optim.Adam(self.A.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        lighting = {"hidden": self.hparams.hidden, "layers": self.hparams.layers}
        mark_checkpoint(checkpoint, "lighting", lighting, generator=asdict(self.G.cfg))
