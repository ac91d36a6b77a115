"""Shared pieces of the benchmarks: the device, GPU-synced timing, and the configs' models with random weights."""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import yaml

from dl_lightning.models import Generator, GeneratorConfig

REPO = Path(__file__).resolve().parents[1]
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync() -> None:
    """Wait for queued GPU work, so host clocks measure it (a no-op on CPU)."""
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def seconds_per_call(fn: Callable[[], object], reps: int, warmup: int = 1, rounds: int = 1) -> float:
    """Wall seconds per call of ``fn`` (GPU work included): ``warmup`` untimed calls, then the best of ``rounds``
    means over ``reps`` calls (the best, since a shared machine's speed drifts by 10-20% over a minute)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(rounds):
        sync()
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def model_args(config: str) -> dict:
    """The config's model arguments; a missing segmenter (stillness term) is replaced by an untrained one."""
    args = yaml.safe_load((REPO / config).read_text())["model"]["init_args"]
    if args.get("still_weight", 0) > 0 and not Path(args.get("segmenter") or "").is_file():
        args["segmenter"] = untrained_segmenter()
    return args


@functools.cache
def untrained_segmenter() -> str:
    """A segmenter checkpoint with random weights: the stillness term costs the same whatever they are."""
    from dl_lightning.training.segmenter_module import SegmenterModule

    path = Path(tempfile.gettempdir()) / "dl_lightning_bench_segmenter.ckpt"
    module = SegmenterModule()
    ckpt = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return str(path)


def eval_generator(config: str) -> Generator:
    """The config's generator (random weights), frozen, in eval mode, on the bench's device."""
    return Generator(GeneratorConfig(**model_args(config)["generator"])).eval().requires_grad_(False).to(DEV)
