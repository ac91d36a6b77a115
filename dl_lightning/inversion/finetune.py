"""FinetuneModule: pivotal tuning of a copy of G on one photo, with the latents frozen.

Loss = reconstruction of the photo from the frozen (W+, S_st, S_dyn) + ``locality_weight`` x
the distance between the tuned and the original generator on random latents, so that other
latents (and the animated ones near the pivot) still produce landscapes.
"""

from __future__ import annotations

import copy

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from dl_lightning.config import saved_hparams
from dl_lightning.frozen import KeepFrozenInEval
from dl_lightning.metrics.reconstruction import recon_metrics, reconstruction_loss
from dl_lightning.models.generator import Generator


class FinetuneModule(KeepFrozenInEval, pl.LightningModule):
    """Args:
    G: generator to copy (left untouched).
    ws, noise_st, noise_dyn: frozen inverted latents (batch 1).
    lpips_model: LPIPS module or None.
    lr: Adam learning rate of the copy's weights.
    lpips_weight: LPIPS weight in the reconstruction loss.
    locality_weight: weight of the locality regulariser.
    locality_batch: random latents per step for the regulariser.
    """

    frozen = ("G_ref", "G.mapping")

    def __init__(
        self,
        G: Generator,
        ws: torch.Tensor,
        noise_st: list[torch.Tensor],
        noise_dyn: list[torch.Tensor],
        lpips_model=None,
        lr: float = 3e-4,
        lpips_weight: float = 1.0,
        locality_weight: float = 1.0,
        locality_batch: int = 2,
    ):
        super().__init__()
        self.save_hyperparameters(
            saved_hparams(
                self, lr=lr, lpips_weight=lpips_weight, locality_weight=locality_weight, locality_batch=locality_batch
            )
        )
        self.G_ref = G.eval().requires_grad_(False)
        self.G = copy.deepcopy(G).requires_grad_(True)
        self.G.mapping.requires_grad_(False)  # the latents are fixed; only synthesis is tuned
        self.register_buffer("ws", ws.detach().clone())
        self.noise_st = [n.detach().clone() for n in noise_st]
        self.noise_dyn = [n.detach().clone() for n in noise_dyn]
        self._lpips = [lpips_model]

    def on_fit_start(self) -> None:
        self.noise_st = [n.to(self.device) for n in self.noise_st]
        self.noise_dyn = [n.to(self.device) for n in self.noise_dyn]

    def render(self, G: Generator | None = None) -> torch.Tensor:
        return (G or self.G).synthesis(self.ws, self.noise_st, self.noise_dyn)

    def training_step(self, target: torch.Tensor, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        loss = reconstruction_loss(self.render(), target, self._lpips[0], hp.lpips_weight)
        with torch.no_grad():
            ws_rand = self.G_ref.map(*self.G_ref.sample_z(hp.locality_batch, device=self.device))
            noise_st, noise_dyn = (self.G_ref.sample_noise(hp.locality_batch, device=self.device) for _ in range(2))
            ref = self.G_ref.synthesis(ws_rand, noise_st, noise_dyn)
        locality = F.mse_loss(self.G.synthesis(ws_rand, noise_st, noise_dyn), ref)
        total = loss + hp.locality_weight * locality
        self.log_dict({"loss/recon": loss, "reg/locality": locality})
        self.log("loss", total, prog_bar=True)
        return total

    def configure_optimizers(self):
        return torch.optim.Adam([p for p in self.G.parameters() if p.requires_grad], lr=self.hparams.lr)

    @torch.no_grad()
    def metrics(self, target: torch.Tensor) -> dict[str, float]:
        return recon_metrics(self.render(), target, self._lpips[0])
