"""Callbacks: periodic samples (grid PNG + timelapse GIF/MP4) and the EMA generator export."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch

from dl_lightning.animation import sample_timelapse
from dl_lightning.export import save_generator
from dl_lightning.media import make_grid, save_image, tile_frames, write_video


def run_dir(trainer: pl.Trainer) -> Path:
    """The run's output folder: the logger's log_dir if it has one, else default_root_dir."""
    logger = trainer.logger
    path = getattr(logger, "log_dir", None) or (logger.save_dir if logger and logger.save_dir else None)
    return Path(path or trainer.default_root_dir)


class SampleLogger(pl.Callback):
    """Every ``every_n_steps`` (and at the end) save a grid of EMA samples and a short timelapse.

    Files go to ``<run dir>/samples/`` as ``grid_<step>.png`` and ``timelapse_<step>.gif``
    (and ``.mp4``); the W&B logger also receives them. Latents are fixed by ``seed`` so the
    images are comparable across steps.

    Args:
        every_n_steps: interval in training iterations (0 = only at the end).
        num_images: images in the grid.
        num_videos: scenes side by side in the timelapse.
        frames: timelapse length.
        fps: timelapse frame rate.
        seed: latent seed.
        motion: S_dyn motion preset for the timelapse.
    """

    def __init__(self, every_n_steps: int = 500, num_images: int = 16, num_videos: int = 4, frames: int = 24,
                 fps: int = 12, seed: int = 0, motion: str = "right_wind"):
        self.every, self.num_images, self.num_videos = every_n_steps, num_images, num_videos
        self.frames, self.fps, self.seed, self.motion = frames, fps, seed, motion
        self._last = -1

    @torch.no_grad()
    def save_samples(self, trainer: pl.Trainer, module: pl.LightningModule) -> dict[str, Path]:
        step = trainer.global_step
        if not trainer.is_global_zero or step == self._last:
            return {}
        self._last = step
        G = module.G_ema
        psi = module.hparams.sample_truncation
        gen = torch.Generator().manual_seed(self.seed)
        z_st = torch.randn(self.num_images, G.cfg.z_st_dim, generator=gen).to(module.device)
        z_dyn = torch.randn(self.num_images, G.cfg.z_dyn_dim, generator=gen).to(module.device)
        noise = [torch.randn(self.num_images, 1, r, r, generator=gen).to(module.device) for r in G.layer_res]
        imgs = G(z_st, z_dyn, noise_st=noise, noise_dyn=noise, truncation=psi)
        out = run_dir(trainer) / "samples"
        paths = {"grid": save_image(make_grid(imgs), out / f"grid_{step:07d}.png")}
        frames = list(tile_frames(sample_timelapse(G, self.num_videos, self.frames, self.seed, self.motion,
                                                   truncation=psi)))
        for ext in ("gif", "mp4"):
            paths[ext] = out / f"timelapse_{step:07d}.{ext}"
            write_video(frames, paths[ext], self.fps)
        self._log_media(trainer, paths, step)
        return paths

    @staticmethod
    def _log_media(trainer: pl.Trainer, paths: dict[str, Path], step: int) -> None:
        from pytorch_lightning.loggers import WandbLogger

        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                import wandb

                logger.experiment.log({"samples/grid": wandb.Image(str(paths["grid"])),
                                       "samples/timelapse": wandb.Video(str(paths["gif"]), format="gif")}, step=step)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self.every > 0 and trainer.global_step % self.every == 0:
            self.save_samples(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        self.save_samples(trainer, module)


class ExportGenerator(pl.Callback):
    """At the end of training, write the EMA generator alone to ``<run dir>/generator_ema.safetensors``."""

    def on_train_end(self, trainer, module) -> None:
        if trainer.is_global_zero:
            path = save_generator(module.G_ema, run_dir(trainer) / "generator_ema.safetensors")
            print(f"exported EMA generator to {path}")
