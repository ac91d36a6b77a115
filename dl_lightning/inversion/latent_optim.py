"""LatentOptimModule: optimise W+ and both noise sets to reconstruct one photo.

Starts from the encoder's W+ and zero noise. Loss = pixel MSE + LPIPS + in-domain regularisers
(per-layer spread of W+, distance to the mapping's range via A when available) + noise
regulariser (keeps the maps white and unit-variance, so that warping S_dyn still makes sense).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from dl_lightning.inversion.frozen import KeepFrozenInEval
from dl_lightning.inversion.losses import (
    noise_regularizer,
    recon_metrics,
    reconstruction_loss,
    wplus_regularizer,
    zero_noise,
)
from dl_lightning.models.generator import Generator
from dl_lightning.models.lighting import LightingNet


def repeat_target(image: torch.Tensor, steps: int) -> DataLoader:
    """A dataloader yielding the same (1,3,R,R) target ``steps`` times."""
    return DataLoader([image[0]] * steps, batch_size=1)


class LatentOptimModule(KeepFrozenInEval, pl.LightningModule):
    """Args:
        G: frozen generator.
        ws_init: (1, num_ws, w_dim) starting W+ (encoder output or w_avg).
        lpips_model: LPIPS module or None (pixel loss only).
        A: lighting network for the domain regulariser (optional).
        lr: Adam learning rate for W+ (noise uses ``noise_lr``).
        noise_lr: Adam learning rate for the noise maps.
        lpips_weight, spread_weight, domain_weight, noise_weight: loss weights.
    """

    frozen = ("G",)

    def __init__(self, G: Generator, ws_init: torch.Tensor, lpips_model=None, A: LightingNet | None = None,
                 lr: float = 0.01, noise_lr: float = 0.05, lpips_weight: float = 1.0, spread_weight: float = 0.01,
                 domain_weight: float = 0.01, noise_weight: float = 1e-3):
        super().__init__()
        self.save_hyperparameters(ignore=["G", "ws_init", "lpips_model", "A"])
        self.G = G.eval().requires_grad_(False)
        self.A = A.eval().requires_grad_(False) if A is not None else None
        self._lpips = [lpips_model]
        self.ws = nn.Parameter(ws_init.detach().clone().float())
        self.noise_st = nn.ParameterList([nn.Parameter(n) for n in zero_noise(G, 1, ws_init.device)])
        self.noise_dyn = nn.ParameterList([nn.Parameter(n) for n in zero_noise(G, 1, ws_init.device)])

    def render(self) -> torch.Tensor:
        return self.G.synthesis(self.ws, list(self.noise_st), list(self.noise_dyn))

    def training_step(self, target: torch.Tensor, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        rec = self.render()
        loss = reconstruction_loss(rec, target, self._lpips[0], hp.lpips_weight)
        spread, domain = wplus_regularizer(self.ws, self.G, self.A)
        noise = noise_regularizer(list(self.noise_st) + list(self.noise_dyn))
        total = loss + hp.spread_weight * spread + hp.domain_weight * domain + hp.noise_weight * noise
        self.log_dict({"loss/recon": loss, "reg/spread": spread, "reg/domain": domain, "reg/noise": noise})
        self.log("loss", total, prog_bar=True)
        return total

    def configure_optimizers(self):
        hp = self.hparams
        return torch.optim.Adam([{"params": [self.ws], "lr": hp.lr},
                                 {"params": list(self.noise_st) + list(self.noise_dyn), "lr": hp.noise_lr}])

    @torch.no_grad()
    def metrics(self, target: torch.Tensor) -> dict[str, float]:
        return recon_metrics(self.render(), target, self._lpips[0])
