"""Photo -> latents: the three inversion stages (their result, :class:`dl_lightning.models.inversion.Inversion`).

1. encoder: W+ from the encoder (or the mean latent without one), zero noise;
2. latent optimisation (:class:`LatentOptimModule`): W+, S_st, S_dyn;
3. fine-tuning (:class:`FinetuneModule`): a copy of G, latents frozen.

The result (:class:`Inversion`) is saved as one safetensors file (latents + tuned weights +
config), so a photo can be re-animated with other motion or daytime without inverting again.
"""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch

from dl_lightning.inversion.finetune import FinetuneModule
from dl_lightning.inversion.latent_optim import LatentOptimModule, repeat_target
from dl_lightning.inversion.losses import zero_noise
from dl_lightning.metrics.reconstruction import recon_metrics
from dl_lightning.models.encoder import Encoder
from dl_lightning.models.generator import Generator
from dl_lightning.models.inversion import Inversion
from dl_lightning.models.lighting import LightingNet

#: the inversion's default step counts (``dl-animate --optim-steps / --finetune-steps``)
OPTIM_STEPS, FINETUNE_STEPS = 200, 100


def _fit(module: pl.LightningModule, photo: torch.Tensor, steps: int, progress: bool) -> None:
    trainer = pl.Trainer(
        accelerator="auto",
        devices=1,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
    )
    trainer.fit(module, repeat_target(photo, steps))
    module.to(photo.device)  # Lightning hands the module back on the CPU after fit; the stages go on on the GPU


def invert_photo(
    photo: torch.Tensor,
    G: Generator,
    encoder: Encoder | None = None,
    A: LightingNet | None = None,
    optim_steps: int = OPTIM_STEPS,
    finetune_steps: int = FINETUNE_STEPS,
    lpips_model=None,
    lpips_weight: float = 1.0,
    progress: bool = True,
    dynamic_mask: torch.Tensor | None = None,
    **stage_kwargs,
) -> Inversion:
    """Run the three stages on ``photo`` (1,3,R,R); records MSE/PSNR/LPIPS and seconds after each.

    ``dynamic_mask`` (1,1,R,R) in [0, 1]: fit S_dyn only where the photo moves, S_st elsewhere.
    ``stage_kwargs`` may hold ``optim={...}`` / ``finetune={...}`` extra module arguments.
    """
    metrics, stages = {}, {}
    t0 = time.perf_counter()
    with torch.no_grad():
        ws0 = encoder(photo) if encoder is not None else G.mapping.w_avg[None, None].expand(1, G.num_ws, -1).clone()
        zeros = zero_noise(G, 1, photo.device)
        stages["encoder"] = G.synthesis(ws0, zeros, zeros)
    metrics["encoder"] = {**recon_metrics(stages["encoder"], photo, lpips_model), "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    opt = LatentOptimModule(
        G, ws0, lpips_model, A, lpips_weight=lpips_weight, dynamic_mask=dynamic_mask, **stage_kwargs.get("optim", {})
    )
    if optim_steps > 0:
        _fit(opt, photo, optim_steps, progress)
    ws = opt.ws.detach()
    noise_st = [n.detach() for n in opt.noise_st]
    noise_dyn = [n.detach() for n in opt.noise_dyn]
    stages["optimised"] = opt.render().detach()
    metrics["optimised"] = {**opt.metrics(photo), "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    ft = FinetuneModule(
        G, ws, noise_st, noise_dyn, lpips_model, lpips_weight=lpips_weight, **stage_kwargs.get("finetune", {})
    )
    if finetune_steps > 0:
        _fit(ft, photo, finetune_steps, progress)
    stages["finetuned"] = ft.render().detach()
    metrics["finetuned"] = {**ft.metrics(photo), "seconds": time.perf_counter() - t0}
    G_tuned = ft.G.eval().requires_grad_(False)
    return Inversion(ws, noise_st, noise_dyn, G_tuned, photo, metrics, stages)
