"""Callbacks: periodic samples (grid PNG + timelapse GIF/MP4), quality (Fréchet distance) and motion monitors, the EMA
generator export."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch

from dl_lightning.animation import DEFAULT_MOTION, METRIC_MOTION, sample_timelapse
from dl_lightning.checkpoints import save_generator
from dl_lightning.errors import UserError
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

    def __init__(
        self,
        every_n_steps: int = 500,
        num_images: int = 16,
        num_videos: int = 4,
        frames: int = 24,
        fps: int = 12,
        seed: int = 0,
        motion: str = DEFAULT_MOTION,
    ):
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
        z_st, z_dyn, noise_st, noise_dyn = G.sample_latents(self.num_images, self.seed, module.device)
        imgs = G(z_st, z_dyn, noise_st=noise_st, noise_dyn=noise_dyn, truncation=psi)
        out = run_dir(trainer) / "samples"
        paths = {"grid": save_image(make_grid(imgs), out / f"grid_{step:07d}.png")}
        frames = list(
            tile_frames(sample_timelapse(G, self.num_videos, self.frames, self.seed, self.motion, truncation=psi))
        )
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

                logger.log_metrics(
                    {
                        "samples/grid": wandb.Image(str(paths["grid"])),
                        "samples/timelapse": wandb.Video(str(paths["gif"]), format="gif"),
                    },
                    step=step,
                )

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


#: The file :class:`RunSummary` writes in a run's folder (``trainer.default_root_dir``), read by the sweep runner.
SUMMARY_FILE = "summary.json"


class RunSummary(pl.Callback):
    """Writes ``<default_root_dir>/summary.json``: every value the monitors log (``val/...``) at each step they log
    it, the last step, and ``finished`` (true once training ended). Written atomically whenever a value is added,
    so a run that dies keeps what it measured; the history travels in the checkpoints, so a resumed run
    (``--ckpt_path``) writes its whole curve, not only what it measured since. The local sweep runner ranks trials by it
    (:mod:`dl_lightning.sweep`). List it after the monitors: it records a value at the step it sees it.

    Args:
        prefixes: logged names to keep, by prefix.
    """

    def __init__(self, prefixes: tuple[str, ...] = ("val/",)):
        self.prefixes = tuple(prefixes)
        self.history: dict[str, list[list[float]]] = {}

    def _write(self, trainer, finished: bool) -> None:
        import json

        from dl_lightning.files import atomic_path

        if not trainer.is_global_zero:
            return
        summary = {"global_step": trainer.global_step, "finished": finished, "history": self.history}
        with atomic_path(Path(trainer.default_root_dir) / SUMMARY_FILE) as tmp:
            tmp.write_text(json.dumps(summary, indent=1))

    def _collect(self, trainer) -> bool:
        added = False
        for name, value in trainer.callback_metrics.items():
            if name.startswith(self.prefixes) and torch.is_tensor(value) and value.numel() == 1:
                rows = self.history.setdefault(name, [])
                if not rows or rows[-1][1] != float(value):  # a new measurement (the last one stays in the dict)
                    rows.append([trainer.global_step, float(value)])
                    added = True
        return added

    def state_dict(self) -> dict:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = {name: [list(row) for row in rows] for name, rows in state_dict.get("history", {}).items()}

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self._collect(trainer):
            self._write(trainer, finished=False)

    def on_train_end(self, trainer, module) -> None:
        self._collect(trainer)
        self._write(trainer, finished=True)


class QualityMonitor(pl.Callback):
    """Every ``every_n_steps``, the Fréchet distance of EMA samples to the training stills in ``features``, logged as
    ``val/fd_<features>`` (``val/fd_scene`` by default); with the scene network also the structure figures of the
    samples as ratios to the stills' (``val/structure_<figure>``, :mod:`~dl_lightning.metrics.structure`).

    Checkpoints can monitor it (``ModelCheckpoint(monitor="val/fd_scene", mode="min")``). Real features are
    computed once. ``features``: ``scene`` (default: the shipped scene network, which sees speckles, blur and
    missing trees; see :mod:`dl_lightning.metrics.scene_quality`), ``inception`` with ``weights`` (the standard
    FID), or ``random`` (a smoke test: an untrained network does not see picture quality).

    Args:
        every_n_steps: interval in training iterations.
        num_samples: images per side (real / generated).
        features: ``scene``, ``inception`` or ``random``.
        weights: local weights of the feature network (scene network: default the shipped one; Inception: the
            ``pt_inception-2015-12-05-6726825d.pth`` file).
        batch: generation batch size.
    """

    def __init__(
        self,
        every_n_steps: int = 500,
        num_samples: int = 512,
        features: str = "scene",
        weights: str | None = None,
        batch: int = 64,
    ):
        self.every, self.num, self.features, self.weights, self.batch = (
            every_n_steps,
            num_samples,
            features,
            weights,
            batch,
        )
        self.extractor = self.real = self.real_structure = None

    def _features(self, batches) -> tuple[torch.Tensor, dict[str, float] | None]:
        """Features of a stream of [-1, 1] batches and, with the scene network, the set's structure figures
        (:mod:`~dl_lightning.metrics.structure`; None with other features)."""
        from dl_lightning.metrics.scene_quality import read_batches
        from dl_lightning.metrics.structure import structure_stats
        from dl_lightning.metrics.video_fid import features_of

        if self.features != "scene":
            return features_of(batches, self.extractor), None
        images = torch.cat([b.cpu() for b in batches])
        feats, reads = read_batches(self.extractor.net, images.split(self.batch))
        return feats, structure_stats(images, reads["classes"])

    @torch.no_grad()
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every <= 0 or step % self.every != 0:
            return
        from dl_lightning.data.ordered import real_batches
        from dl_lightning.metrics.features import make_extractor
        from dl_lightning.metrics.fid import generated_batches
        from dl_lightning.metrics.frechet import frechet_distance
        from dl_lightning.metrics.structure import structure_ratios

        if self.extractor is None:
            try:
                self.extractor = make_extractor(self.features, self.weights)
            except UserError as err:  # no local Inception weights: train on, say once why nothing is logged
                print(f"QualityMonitor: val/fd_{self.features} is not measured: {err}")
                self.every = 0
                return
            res = module.G.cfg.resolution
            self.real, self.real_structure = self._features(
                real_batches(trainer.datamodule.static_root, "static", self.num, res, self.batch)
            )
        fake, structure = self._features(generated_batches(module.G_ema, self.num, self.batch, 1.0, seed=123))
        module.log(f"val/fd_{self.features}", frechet_distance(self.real, fake), on_step=True, prog_bar=True)
        if structure is not None:  # each structure figure as a ratio to the real stills' (1 = as real)
            ratios = structure_ratios(structure, self.real_structure)
            module.log_dict({f"val/structure_{k}": v for k, v in ratios.items() if v == v}, on_step=True)


class MotionMonitor(pl.Callback):
    """Every ``every_n_steps``, how much the EMA generator's time-lapses move, and where.

    Logs:

    * ``val/motion_dynamic``, ``val/motion_static``, ``val/motion_ratio``: mean frame-to-frame
      change inside / outside the segmenter's dynamic region of generated time-lapses (``motion``
      preset, time of day fixed, so all change comes from warping S_dyn); needs ``segmenter``;
    * ``noise/st_<layer>``, ``noise/dyn_<layer>``: mean |per-channel strength| of S_st and S_dyn;
    * ``d_dyn/score_{resampled,warped,zero}``: D_dyn's mean logit on generated pairs that differ
      only in S_dyn: drawn afresh, moved as in training (``pair_motion``), or both zero.

    Args:
        every_n_steps: interval in training iterations.
        segmenter: SegmenterModule checkpoint (``configs/segmenter``); None: the GAN module's own
            (``segmenter``, the stillness term's). Without one the motion figures are skipped (one line
            says so) and the rest is logged.
        motion: motion preset of the generated time-lapses.
        num_videos: generated time-lapses per measurement.
        frames: frames per time-lapse.
        num_pairs: generated pairs for the D_dyn scores.
    """

    def __init__(
        self,
        every_n_steps: int = 500,
        segmenter: str | None = None,
        motion: str = METRIC_MOTION,
        num_videos: int = 16,
        frames: int = 12,
        num_pairs: int = 32,
    ):
        self.every, self.segmenter_path, self.motion = every_n_steps, segmenter, motion
        self.num_videos, self.frames, self.num_pairs = num_videos, frames, num_pairs
        self.segmenter = None

    def on_fit_start(self, trainer, module) -> None:
        from dl_lightning.checkpoints import load_segmenter

        path = self.segmenter_path or getattr(module, "hparams", {}).get("segmenter")
        if path and Path(path).is_file():
            self.segmenter = load_segmenter(path)
        elif trainer.is_global_zero:
            print(
                f"MotionMonitor: no segmenter at {path}; logging noise strengths and D_dyn scores only "
                "(train one with `dl-train fit --config configs/segmenter/synthetic64.yaml`)"
            )

    @torch.no_grad()
    def d_dyn_scores(self, module) -> dict[str, float]:
        from dl_lightning.training.pairs import dyn_noise_pair

        G, b = module.G_ema, self.num_pairs
        z_st, z_dyn, noise_st, noise_dyn = G.sample_latents(b, 7, module.device)
        ws = G.map(z_st, z_dyn).repeat(2, 1, 1)
        st2 = [n.repeat(2, 1, 1, 1) for n in noise_st]
        first, second = dyn_noise_pair(noise_dyn, module.pair_motion, generator=None)
        variants = {
            "resampled": [torch.cat([n, torch.randn_like(n)]) for n in noise_dyn],
            "warped": [torch.cat([a, c]) for a, c in zip(first, second)],
            "zero": [torch.zeros_like(n).repeat(2, 1, 1, 1) for n in noise_dyn],
        }
        scores = {}
        for name, dyn in variants.items():
            pairs = G.synthesis(ws, st2, dyn).unflatten(0, (2, b)).transpose(0, 1)
            scores[f"d_dyn/score_{name}"] = float(module.D_dyn(module.crop_pairs(pairs)).float().mean())
        return scores

    @staticmethod
    def strengths(G) -> dict[str, float]:
        out = {}
        for i, layer in enumerate(G.layers):
            out[f"noise/st_{i:02d}_{G.layer_res[i]}px"] = float(layer.strength_st.abs().mean())
            out[f"noise/dyn_{i:02d}_{G.layer_res[i]}px"] = float(layer.strength_dyn.abs().mean())
        return out

    @torch.no_grad()
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self.every <= 0 or trainer.global_step % self.every != 0:
            return
        from dl_lightning.metrics.motion import generated_motion

        logs = {**self.strengths(module.G_ema), **self.d_dyn_scores(module)}
        if self.segmenter is not None:
            m = generated_motion(
                module.G_ema,
                self.segmenter,
                self.num_videos,
                self.frames,
                self.motion,
                "fixed",
                module.hparams.sample_truncation,
            )
            logs.update(
                {"val/motion_dynamic": m["dynamic"], "val/motion_static": m["static"], "val/motion_ratio": m["ratio"]}
            )
        module.log_dict(logs, on_step=True)
