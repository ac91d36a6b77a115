"""EncoderModule: trains the W+ encoder against a frozen generator.

Each step: (1) latents sampled from the generator itself give images with an exact answer; the
encoder regresses their W+ and reconstructs them; (2) real photos from the static shards are
reconstructed (pixel + LPIPS). Reconstructions use zero noise, the starting point of latent
optimisation.
"""

from __future__ import annotations

from dataclasses import asdict

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from dl_lightning.checkpoints import DEFAULT_GAN, load_generator, mark_checkpoint
from dl_lightning.config import as_config, saved_hparams
from dl_lightning.frozen import KeepFrozenInEval
from dl_lightning.inversion.losses import zero_noise
from dl_lightning.metrics.reconstruction import PerceptualConfig, recon_metrics, reconstruction_loss
from dl_lightning.models.encoder import Encoder, EncoderConfig


class EncoderModule(KeepFrozenInEval, pl.LightningModule):
    """Args:
    generator_ckpt: GAN checkpoint or exported generator (frozen; its EMA weights are used); default: where
        ``make train`` leaves it (``checkpoints.DEFAULT_GAN``).
    encoder: encoder architecture.
    perceptual: LPIPS settings of the reconstruction loss.
    lr: Adam learning rate.
    latent_weight: weight of the W+ regression loss on generated images.
    recon_weight: weight of the reconstruction loss on generated images.
    real_weight: weight of the reconstruction loss on real photos (0: generated images only).
    truncation: truncation of the sampled training latents.
    """

    frozen = ("G",)

    def __init__(
        self,
        generator_ckpt: str = DEFAULT_GAN,
        encoder: EncoderConfig | None = None,
        perceptual: PerceptualConfig | None = None,
        lr: float = 0.001,
        latent_weight: float = 1.0,
        recon_weight: float = 1.0,
        real_weight: float = 1.0,
        truncation: float = 0.9,
    ):
        super().__init__()
        encoder = as_config(EncoderConfig, encoder)
        perceptual = as_config(PerceptualConfig, perceptual)
        self.save_hyperparameters(
            saved_hparams(
                self, generator_ckpt=generator_ckpt, encoder=encoder, perceptual=perceptual, lr=lr,
                latent_weight=latent_weight, recon_weight=recon_weight, real_weight=real_weight, truncation=truncation,
            )
        )  # fmt: skip
        self.G = load_generator(generator_ckpt)
        self.E = Encoder(self.G.cfg.resolution, self.G.num_ws, self.G.cfg.w_dim, self.G.mapping.w_avg, encoder)
        self._lpips = [perceptual.build()]  # a list: not a submodule, so not saved in checkpoints

    @property
    def lpips(self):
        return self._lpips[0]

    def on_fit_start(self) -> None:
        if self.lpips is not None:
            self._lpips[0] = self.lpips.to(self.device)

    def reconstruct(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ws = self.E(img)
        return self.G.synthesis(ws, zero_noise(self.G, img.shape[0]), zero_noise(self.G, img.shape[0])), ws

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        real = batch["static"]
        b = real.shape[0]
        with torch.no_grad():
            ws_true = self.G.map(*self.G.sample_z(b, device=self.device), hp.truncation)
            target = self.G.synthesis(ws_true)
        rec, ws = self.reconstruct(target)
        loss_latent = F.mse_loss(ws.float(), ws_true.float())
        loss_gen = reconstruction_loss(rec, target, self.lpips, hp.perceptual["weight"])
        loss = hp.latent_weight * loss_latent + hp.recon_weight * loss_gen
        logs = {"loss/latent": loss_latent, "loss/recon_generated": loss_gen}
        if hp.real_weight > 0:
            rec_real, _ = self.reconstruct(real)
            loss_real = reconstruction_loss(rec_real, real, self.lpips, hp.perceptual["weight"])
            loss = loss + hp.real_weight * loss_real
            logs.update(
                {"loss/recon_real": loss_real, **{f"real/{k}": v for k, v in recon_metrics(rec_real, real).items()}}
            )
        self.log_dict(logs, prog_bar=False)
        self.log("loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.E.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        mark_checkpoint(checkpoint, "encoder", self.hparams.encoder, generator=asdict(self.G.cfg))
