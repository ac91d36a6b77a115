"""The training precision, chosen by timing this model's own step on this machine (``trainer.precision: null``).

A CPU flag does not decide: on one AMX machine bf16 was slower than fp32 in this code. So at the start of a
run, G's synthesis and D_st's forward and backward at the run's shapes are timed a few times in fp32 and in
bf16 autocast, and the faster wins (bf16 only when it is at least ``MARGIN`` faster: it costs accuracy). The
answer is cached per machine (CPU model or GPU name), torch version, device and model shape in
``~/.cache/dl_lightning/precision.json`` (``DL_PRECISION_CACHE`` overrides the path), so later runs start at
once. fp16 (``16-mixed``) is never chosen: it needs loss scaling and is only used when asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import torch

from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path
from dl_lightning.hardware import cpu_name
from dl_lightning.models.discriminator import Discriminator, DiscriminatorConfig
from dl_lightning.models.generator import Generator, GeneratorConfig

#: bf16 is chosen only when its step is at least this much faster than fp32's.
MARGIN = 1.05
CANDIDATES = {"32-true": None, "bf16-mixed": torch.bfloat16}


def cache_path() -> Path:
    return Path(os.environ.get("DL_PRECISION_CACHE", Path.home() / ".cache" / "dl_lightning" / "precision.json"))


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def step_seconds(G: Generator, D: Discriminator, batch: int, dtype: torch.dtype | None, reps: int = 3) -> float:
    """Median seconds of one forward + backward of G's synthesis and D_st on ``batch`` images (autocast ``dtype``)."""
    device = G.const.device
    z_st, z_dyn, s_st, s_dyn = G.sample_latents(batch, 0, device)
    times = []
    for _ in range(reps + 1):  # the first run warms up (allocations, kernel choices)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = D(G(z_st, z_dyn, noise_st=s_st, noise_dyn=s_dyn)).float().mean()
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return sorted(times[1:])[len(times[1:]) // 2]


def measured_precision(
    generator: dict, discriminator: dict, batch: int, device: str | torch.device = "cpu", use_cache: bool = True
) -> tuple[str, str]:
    """(Lightning precision, reason with the timings) for the GAN of ``generator``/``discriminator`` (config
    dicts) at per-device ``batch`` on ``device``; cached (see the module docstring)."""
    device = torch.device(device)
    shape = json.dumps([generator, discriminator, batch], sort_keys=True, default=str)
    digest = hashlib.sha1(shape.encode()).hexdigest()[:12]
    key = f"{machine(device)} | torch {torch.__version__} | {device.type} | {digest}"
    cache = cache_path()
    known = json.loads(cache.read_text()) if use_cache and cache.is_file() else {}
    if key in known:
        hit = known[key]
        return hit["precision"], f"measured before on this machine: {hit['why']} (cache {cache})"
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # the run's seed stays intact
        G = Generator(GeneratorConfig(**generator)).to(device)
        D = Discriminator(DiscriminatorConfig(**discriminator)).to(device)
        seconds = {name: step_seconds(G, D, batch, dtype) for name, dtype in CANDIDATES.items()}
    fp32, bf16 = seconds["32-true"], seconds["bf16-mixed"]
    choice = "bf16-mixed" if fp32 / bf16 >= MARGIN else "32-true"
    why = f"step {fp32 * 1e3:.1f} ms in fp32, {bf16 * 1e3:.1f} ms in bf16 on {machine(device)}"
    if use_cache:
        try:
            with atomic_path(cache) as tmp:
                tmp.write_text(json.dumps({**known, key: {"precision": choice, "why": why}}, indent=2))
        except (OSError, UserError):  # a read-only home: measure again next time
            pass
    return choice, why
