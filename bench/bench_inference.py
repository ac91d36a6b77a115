"""Inference and data benchmarks: generation and ``dl-animate``'s path in frames/s, the photo inversion in
seconds, and decoded samples/s of one dataloader worker."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from bench_common import DEV, eval_generator, seconds_per_call, sync

from dl_lightning.inversion.pipeline import invert_photo


@torch.no_grad()
def animate_speed(config: str, scenes: int, frames: int, chunk: int, bf16: bool) -> float:
    """Frames/s of ``dl-animate``'s path (:func:`sample_timelapse`: warped S_dyn, slerped z_dyn), all scenes."""
    from dl_lightning.animation import sample_timelapse

    G = eval_generator(config)
    with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=bf16):
        next(iter(sample_timelapse(G, scenes, chunk, chunk=chunk)))
        sync()
        t = time.perf_counter()
        n = sum(f.shape[0] for f in sample_timelapse(G, scenes, frames, chunk=chunk))
        sync()
    return n / (time.perf_counter() - t)


@torch.no_grad()
def generate_speed(config: str, batch: int, reps: int, bf16: bool) -> float:
    """Frames/s of the EMA generator on ``batch`` random latents (noise maps drawn afresh each call), the best of
    three rounds of ``reps`` calls."""
    G = eval_generator(config)
    z = G.sample_z(batch, device=DEV)
    with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=bf16):
        return batch / seconds_per_call(lambda: G(*z), reps, rounds=3)


def invert_seconds(config: str) -> float:
    """Seconds of :func:`invert_photo` with ``dl-animate``'s step counts on one generated 'photo'."""
    from dl_lightning.metrics.lpips_metric import load_lpips

    G = eval_generator(config)
    with torch.no_grad():
        photo = G(*G.sample_z(1, device=DEV)).clamp(-1, 1)
    lpips_model = load_lpips("alex", random_backbone=True).to(DEV)
    sync()
    t = time.perf_counter()
    invert_photo(photo, G, lpips_model=lpips_model, progress=False)  # its default steps, which dl-animate uses
    sync()
    return time.perf_counter() - t


def data_speed(res: int, samples: int) -> float:
    from dl_lightning.data.shards import shard_urls
    from dl_lightning.data.stream import LandscapeStream
    from dl_lightning.data.synthetic.dataset import build_synthetic

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "d"
        build_synthetic(root, resolution=res, num_static=48, num_videos=12, frames=8, shard_size=16, workers=2)
        stream = LandscapeStream(
            shard_urls(root, "static"), shard_urls(root, "videos"), res, samples, shuffle_buffer=32
        )
        it = iter(stream)
        next(it)
        t = time.perf_counter()
        n = sum(1 for _ in it)
        return n / (time.perf_counter() - t)
