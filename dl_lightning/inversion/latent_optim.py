"""LatentOptimModule: optimise W+ and both noise sets to reconstruct one photo.

Starts from the encoder's W+ and unit-normal noise. Loss = pixel MSE + LPIPS + in-domain
regularisers (per-layer spread of W+, distance to the mapping's range via A when available) +
noise regulariser. With a dynamic mask (sky, water), S_dyn is fitted only where the photo moves
and S_st only where it stays, as the authors do, so warping S_dyn moves the sky and not the land.

Noise maps start from a unit normal (at zero the regulariser has no gradient and the maps absorb
the residual as structured texture, which does not animate like clouds) and after every step are
renormalised to zero mean and unit variance inside the region they fit (the StyleGAN2 projector).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from dl_lightning.config import saved_hparams
from dl_lightning.frozen import KeepFrozenInEval
from dl_lightning.inversion.losses import noise_regularizer, wplus_regularizer
from dl_lightning.metrics.reconstruction import recon_metrics, reconstruction_loss
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
    dynamic_mask: (1, 1, R, R) in [0, 1], 1 where the photo moves (None: both noise sets fit everywhere).
    seed: seed of the initial noise maps.
    """

    frozen = ("G",)

    def __init__(
        self,
        G: Generator,
        ws_init: torch.Tensor,
        lpips_model=None,
        A: LightingNet | None = None,
        lr: float = 0.01,
        noise_lr: float = 0.05,
        lpips_weight: float = 1.0,
        spread_weight: float = 0.01,
        domain_weight: float = 0.01,
        noise_weight: float = 1e-3,
        dynamic_mask: torch.Tensor | None = None,
        seed: int = 0,
    ):
        super().__init__()
        self.save_hyperparameters(
            saved_hparams(
                self, lr=lr, noise_lr=noise_lr, lpips_weight=lpips_weight, spread_weight=spread_weight,
                domain_weight=domain_weight, noise_weight=noise_weight, seed=seed,
            )
        )  # fmt: skip
        self.G = G.eval().requires_grad_(False)
        self.A = A.eval().requires_grad_(False) if A is not None else None
        self._lpips = [lpips_model]
        self.ws = nn.Parameter(ws_init.detach().clone().float())
        _, _, noise_st, noise_dyn = G.sample_latents(1, seed, ws_init.device)
        self.noise_st = nn.ParameterList([nn.Parameter(n) for n in noise_st])
        self.noise_dyn = nn.ParameterList([nn.Parameter(n) for n in noise_dyn])
        for name, region in (("dyn", True), ("st", False)):  # where each set may change: (1, 1, r, r) bool per layer
            regions = layer_regions(dynamic_mask, G.layer_res, region)
            for i, m in enumerate(regions):
                self.register_buffer(f"region_{name}_{i}", m)
        for params, name in ((self.noise_st, "st"), (self.noise_dyn, "dyn")):
            for i, p in enumerate(params):
                p.register_hook(lambda g, i=i, name=name: g * getattr(self, f"region_{name}_{i}"))

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

    @torch.no_grad()
    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        """Renormalise every noise map to zero mean, unit variance inside the region it fits."""
        for params, name in ((self.noise_st, "st"), (self.noise_dyn, "dyn")):
            for i, p in enumerate(params):
                m = getattr(self, f"region_{name}_{i}")
                if m.sum() >= 4:
                    inside = p[m]
                    p[m] = (inside - inside.mean()) / inside.std().clamp(min=1e-8)

    def configure_optimizers(self):
        hp = self.hparams
        return torch.optim.Adam(
            [
                {"params": [self.ws], "lr": hp.lr},
                {"params": list(self.noise_st) + list(self.noise_dyn), "lr": hp.noise_lr},
            ]
        )

    @torch.no_grad()
    def metrics(self, target: torch.Tensor) -> dict[str, float]:
        return recon_metrics(self.render(), target, self._lpips[0])


def layer_regions(mask: torch.Tensor | None, resolutions: list[int], dynamic: bool) -> list[torch.Tensor]:
    """Per-layer (1, 1, r, r) bool regions of a (1, 1, R, R) dynamic mask: where it is (``dynamic``) or is not
    at least half covered at resolution r. Without a mask, everything."""
    if mask is None:
        return [torch.ones(1, 1, r, r, dtype=torch.bool) for r in resolutions]
    out = []
    for r in resolutions:
        m = F.interpolate(mask.float(), size=(r, r), mode="area") >= 0.5
        out.append(m if dynamic else ~m)
    return out
