"""Training-step benchmarks: images/s of full GAN iterations through the Lightning Trainer and the FLOPs one
iteration counts (the profile of an iteration: ``bench_profile.py``)."""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch
from bench_common import DEV, model_args, sync
from torch.utils.data import DataLoader, IterableDataset
from torch.utils.flop_counter import FlopCounterMode

from dl_lightning.training.gan_module import DeepLandscapeGAN


class RandomBatches(IterableDataset):
    """In-memory random batches (the data pipeline is benchmarked separately)."""

    def __init__(self, res: int, batch: int):
        self.res, self.batch = res, batch

    def __iter__(self):
        while True:
            yield {
                "static": torch.rand(self.batch, 3, self.res, self.res) * 2 - 1,
                "pairs": torch.rand(self.batch, 2, 3, self.res, self.res) * 2 - 1,
            }


class StepTimer(pl.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.times = warmup, []

    def on_train_batch_start(self, trainer, *args):
        sync()
        self.times.append(time.perf_counter())


def fit_steps(module: DeepLandscapeGAN, batch: int, steps: int, precision: str, callback: pl.Callback) -> None:
    """Train ``module`` for ``steps`` iterations on in-memory random batches, with ``callback`` and nothing else."""
    trainer = pl.Trainer(
        accelerator=DEV.type,
        devices=1,
        max_steps=steps,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[callback],
    )
    trainer.fit(module, DataLoader(RandomBatches(module.G.cfg.resolution, batch), batch_size=None))


def train_speed(config: str, batch: int, steps: int, precision: str, fused: bool) -> tuple[float, float | None]:
    """(images/s, peak GPU memory in GiB or None on CPU) of full GAN iterations."""
    args = model_args(config)
    args["generator"] = {**args["generator"], "fused_modconv": fused}
    timer = StepTimer(warmup=2)
    if DEV.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    fit_steps(DeepLandscapeGAN(**args), batch, steps + 3, precision, timer)
    t = timer.times[timer.warmup :]
    memory = torch.cuda.max_memory_allocated() / 2**30 if DEV.type == "cuda" else None
    return batch * (len(t) - 1) / (t[-1] - t[0]), memory


def step_flops(config: str, batch: int) -> float:
    """FLOPs of one iteration's forward+backward passes (without the lazy regularisers), non-fused model."""
    module = DeepLandscapeGAN(**model_args(config)).to(DEV)
    res = module.G.cfg.resolution
    real = torch.rand(batch, 3, res, res, device=DEV)
    real_pairs = torch.rand(batch, 2, 3, res, res, device=DEV)
    with FlopCounterMode(display=False) as counter:  # as training_step: one synthesis serves all three updates
        pairs = module.generate_pairs(batch).frames
        fake_pairs = pairs.detach()
        (module.D_st(real).sum() + module.D_st(fake_pairs[:, 0]).sum()).backward()
        (
            module.D_dyn(module.crop_pairs(real_pairs)).sum() + module.D_dyn(module.crop_pairs(fake_pairs)).sum()
        ).backward()
        (module.D_st(pairs[:, 0]).sum() + module.D_dyn(module.crop_pairs(pairs)).sum()).backward()
    return float(counter.get_total_flops())
