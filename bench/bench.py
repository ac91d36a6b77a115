"""``make bench``: throughput of training, generation and data loading on this machine.

Prints a table and writes ``bench/results.json``. Sections:

* train:  images/s of full GAN iterations (D_st + D_dyn + G updates, through the Lightning Trainer)
          at 64 px (default config) and 256 px (``configs/gan/256.yaml`` architecture), in fp32 and
          bf16-mixed with the non-fused modulated conv, and fp32 with the grouped ("fused") conv
          as the plain-StyleGAN2 baseline. Also FLOP/s achieved vs a measured GEMM peak.
* generate: frames/s of EMA-generator inference at 64 and 256 px, fp32 and bf16 (a batch of 8 / 2
          random latents), and of ``dl-animate``'s whole path (several scenes, warped noise, chunks).
* invert: seconds to invert one photo (200 latent-optimisation + 100 fine-tuning steps, ``dl-animate``'s
          defaults, LPIPS with a random AlexNet: the same cost as the real one) at 64 px, and at 256 px on a GPU.
* downsample: ms of each form of the discriminator's downsampling (depthwise conv, shifted adds) in fp32 and
          bf16, and which one ``layers.downsample2`` uses for that dtype here.
* data:   decoded samples/s (one static image + one frame pair) per dataloader worker at 256 px.
* precision: what ``trainer.precision: null`` chooses on this machine and why (AMX or not).
* ratios: the performance targets (iteration vs the grouped-conv fp32 baseline, share of the bf16
          GEMM peak at 256 px, generation vs the previous results file).

``--profile`` also profiles iterations (torch.profiler) in the auto-chosen precision and prints the
share of each part of the step (the ``gan/*`` record_function ranges of ``training_step``) and the
top operators; traces go to ``outputs/bench/profile_<config>.json`` (open in chrome://tracing or Perfetto).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from torch.utils.data import DataLoader, IterableDataset
from torch.utils.flop_counter import FlopCounterMode

from dl_lightning.hardware import auto_precision, has_amx
from dl_lightning.inversion.pipeline import FINETUNE_STEPS, OPTIM_STEPS, invert_photo
from dl_lightning.models import Generator, GeneratorConfig
from dl_lightning.models.layers import downsample2_adds, downsample2_conv, downsample2_form
from dl_lightning.training.gan_module import DeepLandscapeGAN

REPO = Path(__file__).resolve().parents[1]
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync() -> None:
    """Wait for queued GPU work, so host clocks measure it (a no-op on CPU)."""
    if DEV.type == "cuda":
        torch.cuda.synchronize()


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


def train_speed(config: str, batch: int, steps: int, precision: str, fused: bool) -> tuple[float, float | None]:
    """(images/s, peak GPU memory in GiB or None on CPU) of full GAN iterations."""
    args = model_args(config)
    args["generator"] = {**args["generator"], "fused_modconv": fused}
    module = DeepLandscapeGAN(**args)
    res = args["generator"]["resolution"]
    timer = StepTimer(warmup=2)
    if DEV.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    trainer = pl.Trainer(
        accelerator=DEV.type,
        devices=1,
        max_steps=steps + 3,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(module, DataLoader(RandomBatches(res, batch), batch_size=None))
    t = timer.times[timer.warmup :]
    memory = torch.cuda.max_memory_allocated() / 2**30 if DEV.type == "cuda" else None
    return batch * (len(t) - 1) / (t[-1] - t[0]), memory


class ProfilerStep(pl.Callback):
    def __init__(self, prof):
        self.prof = prof

    def on_train_batch_end(self, *args):
        self.prof.step()


def profile_steps(config: str, batch: int, precision: str, out: Path, active: int = 3) -> dict[str, float]:
    """Profile ``active`` iterations after 2 warm-up ones; returns the share of step time per part."""
    from torch.profiler import ProfilerActivity, profile, schedule

    module = DeepLandscapeGAN(**model_args(config))
    res = module.G.cfg.resolution
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    captured = {}

    def ready(p) -> None:  # at the end of the active window (after it, the profiler starts an empty one)
        captured["events"] = p.key_averages()
        out.parent.mkdir(parents=True, exist_ok=True)
        p.export_chrome_trace(str(out))

    with profile(activities=acts, schedule=schedule(wait=0, warmup=2, active=active), on_trace_ready=ready) as prof:
        trainer = pl.Trainer(
            accelerator="auto",
            devices=1,
            max_steps=2 + active,
            precision=precision,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[ProfilerStep(prof)],
        )
        trainer.fit(module, DataLoader(RandomBatches(res, batch), batch_size=None))
    events = captured["events"]
    total = sum(e.cpu_time_total for e in events if e.key.startswith("ProfilerStep"))
    parts = {e.key: e.cpu_time_total / total for e in events if e.key.startswith("gan/")}
    parts["other (Lightning, logging, data, optimizer bookkeeping)"] = 1 - sum(parts.values())
    print(f"profile {Path(config).stem} ({precision}, batch {batch}): share of iteration time")
    for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {k:58s} {100 * v:5.1f}%")
    print(events.table(sort_by="self_cpu_time_total", row_limit=15))
    print(f"trace: {out}")
    return parts


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


def gemm_peak(dtype: torch.dtype, reps: int = 5, rounds: int = 3) -> float:
    """FLOP/s of a large square matrix product on random data (the ceiling the step is compared with): the best of
    ``rounds`` timings of ``reps`` products, since a shared machine's speed drifts by 10-20% over a minute."""
    n = 8192 if DEV.type == "cuda" else 2048
    reps = reps * 4 if DEV.type == "cuda" else reps
    a, b = (torch.randn(n, n, device=DEV).to(dtype) for _ in range(2))
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(rounds):
        sync()
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync()
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best


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


def downsample_speed(dtype: torch.dtype, reps: int = 10) -> dict[str, float]:
    """Milliseconds of forward + backward of each form of ``downsample2`` on a D_st-sized activation
    (batch 32, 16 channels, 64 px, channels_last), so the choice in ``layers.downsample2`` can be checked here."""
    x = torch.randn(32, 16, 64, 64, device=DEV).to(dtype).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = {}
    for name, form in (("conv", downsample2_conv), ("adds", downsample2_adds)):
        for i in range(reps + 2):
            if i == 2:
                sync()
                t = time.perf_counter()
            form(x).float().square().sum().backward()
        sync()
        out[name] = (time.perf_counter() - t) / reps * 1e3
    return out


@torch.no_grad()
def generate_speed(config: str, batch: int, reps: int, bf16: bool) -> float:
    G = eval_generator(config)
    z = G.sample_z(batch, DEV)
    with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=bf16):
        G(*z)
        sync()
        t = time.perf_counter()
        for _ in range(reps):
            G(*z)
        sync()
    return batch * reps / (time.perf_counter() - t)


def invert_seconds(config: str) -> float:
    """Seconds of :func:`invert_photo` with ``dl-animate``'s step counts on one generated 'photo'."""
    from dl_lightning.metrics.lpips_metric import load_lpips

    G = eval_generator(config)
    with torch.no_grad():
        photo = G(*G.sample_z(1, DEV)).clamp(-1, 1)
    lpips_model = load_lpips("alex", random_backbone=True).to(DEV)
    sync()
    t = time.perf_counter()
    invert_photo(photo, G, lpips_model=lpips_model, progress=False)  # its default steps, which dl-animate uses
    sync()
    return time.perf_counter() - t


def data_speed(res: int, samples: int) -> float:
    from data_prep.make_synthetic import build_synthetic
    from dl_lightning.data.shards import shard_urls
    from dl_lightning.data.stream import LandscapeStream

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


def ratios(results: dict, previous: dict) -> dict[str, float]:
    """The issue's targets as measured ratios (same machine, same run; generation vs the previous results file)."""
    out = {}
    t64 = results.get("train_synthetic64")
    if t64 and "speedup_vs_grouped_fp32" in t64:
        target = "3x with AMX" if results["machine"]["amx"] else "1.5x without AMX"
        out[f"64px iteration / grouped fp32 baseline (target {target})"] = t64["speedup_vs_grouped_fp32"]
    t256 = results.get("train_256")
    if t256 and "share_of_gemm_peak" in t256.get("bf16", {}):
        out["256px bf16 share of bf16 GEMM peak (target 0.40)"] = t256["bf16"]["share_of_gemm_peak"]
    before = previous.get("generate_synthetic64", {}) if previous.get("machine", {}).get("gpu") is None else {}
    if before and "generate_synthetic64" in results and not results["machine"]["gpu"]:
        best = lambda d: max(d.values())  # noqa: E731
        out["64px generation / previous results file (target 2x)"] = best(results["generate_synthetic64"]) / best(
            before
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="64 px only, fewer steps")
    p.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    p.add_argument("--profile", action="store_true", help="also profile iterations (torch.profiler; table + trace)")
    args = p.parse_args()
    torch.set_float32_matmul_precision("high")
    precision, why = auto_precision()
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    results: dict = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "gpu": torch.cuda.get_device_name() if DEV.type == "cuda" else None,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
            "amx": has_amx(),
            "auto_precision": precision,
            "auto_precision_reason": why,
        }
    }
    gpu = DEV.type == "cuda"
    print(
        f"machine: {results['machine']['gpu'] or 'CPU'}; AMX {'present' if has_amx() else 'absent'}; "
        f"precision auto -> {precision} ({why})"
    )
    peak32, peak16 = gemm_peak(torch.float32), gemm_peak(torch.bfloat16)
    results["gemm_peak_gflops"] = {"fp32": peak32 / 1e9, "bf16": peak16 / 1e9}
    if gpu:  # fp16 shares the bf16 tensor-core rate on current GPUs; fp32 runs as tf32 (matmul precision "high")
        results["gemm_peak_gflops"]["fp16"] = gemm_peak(torch.float16) / 1e9
    # (config, batch, timed steps): a GPU gets the configs' own batch sizes
    cases = [("configs/gan/synthetic64.yaml", 16, 20 if gpu else (6 if args.quick else 32))]  # 32: two R1 cycles
    cases += [] if args.quick else [("configs/gan/256.yaml", 8 if gpu else 2, 20 if gpu else 2)]
    variants = [("fp32", "32-true", False), ("bf16", "bf16-mixed", False)]
    variants += [("fp16", "16-mixed", False)] if gpu else []
    variants += [("fp32_grouped", "32-true", True)]
    for config, batch, steps in cases:
        name = Path(config).stem
        flops = step_flops(config, batch)
        row = {"batch": batch, "gflop_per_iteration": flops / 1e9}
        for label, precision, fused in variants:
            try:
                ips, memory = train_speed(config, batch, steps, precision, fused)
            except Exception as e:  # e.g. fp16 overflowing in R1 (nan_policy: raise): report, go on
                row[label] = {"error": f"{type(e).__name__}: {e}"[:300]}
                print(f"train {name:12s} {label:13s} failed: {row[label]['error']}", flush=True)
                continue
            peak = {"bf16": peak16, "fp16": results["gemm_peak_gflops"].get("fp16", 0) * 1e9}.get(label, peak32)
            row[label] = {
                "images_per_s": ips,
                "s_per_kimg": 1000 / ips,
                "share_of_gemm_peak": flops / batch * ips / peak,
            }
            if memory is not None:
                row[label]["gpu_memory_gib"] = memory
            print(
                f"train {name:12s} {label:13s} {ips:8.2f} img/s  {1000 / ips:8.1f} s/kimg  "
                f"({100 * row[label]['share_of_gemm_peak']:.1f}% of GEMM peak)"
                + (f"  peak memory {memory:.1f} GiB" if memory is not None else ""),
                flush=True,
            )
        ips = {k: v.get("images_per_s", 0.0) for k, v in row.items() if isinstance(v, dict)}
        if ips.get("fp32_grouped"):
            row["speedup_vs_grouped_fp32"] = max(ips.get("fp32", 0), ips.get("bf16", 0)) / ips["fp32_grouped"]
        results[f"train_{name}"] = row
        if args.profile:
            row["profile"] = profile_steps(
                config, batch, precision, REPO / "outputs" / "bench" / f"profile_{name}.json"
            )
        for bf16 in (False, True):
            gen_batch, reps = (8, 40) if "64" in name else (2, 2)  # 64 px: 320 frames, about a second
            gen_batch, reps = (gen_batch * 4, reps * 4) if gpu else (gen_batch, reps)
            fps = generate_speed(config, batch=gen_batch, reps=reps, bf16=bf16)
            results.setdefault(f"generate_{name}", {})["bf16" if bf16 else "fp32"] = fps
            print(f"generate {name:9s} {'bf16' if bf16 else 'fp32':13s} {fps:8.2f} frames/s", flush=True)
            scenes, frames, chunk = (4, 32, 8) if "64" in name else ((4, 32, 8) if gpu else (2, 4, 2))
            fps = animate_speed(config, scenes, frames, chunk, bf16)
            results.setdefault(f"animate_{name}", {})["bf16" if bf16 else "fp32"] = fps
            label = f"{scenes} scenes x {chunk}-frame chunks, {'bf16' if bf16 else 'fp32'}"
            print(f"animate  {name:9s} {label:28s} {fps:8.2f} frames/s", flush=True)
        if "64" in name or gpu:  # inverting at 256 px on a 2-core CPU takes many minutes
            sec = invert_seconds(config)
            results[f"invert_{name}_seconds"] = sec
            print(f"invert   {name:9s} {OPTIM_STEPS} + {FINETUNE_STEPS} steps{'':14s} {sec:8.1f} s", flush=True)
    for dtype in (torch.float32, torch.bfloat16):
        ms = downsample_speed(dtype)
        used = downsample2_form(dtype, DEV.type)
        results.setdefault("downsample_ms", {})[str(dtype).split(".")[1]] = {**ms, "used": used}
        faster = min(ms, key=ms.get)
        print(
            f"downsample2 {str(dtype).split('.')[1]:9s} conv {ms['conv']:6.2f} ms, adds {ms['adds']:6.2f} ms: "
            f"uses {used}" + ("" if used == faster else f" (slower here: the {faster} form would win)"),
            flush=True,
        )
    sps = data_speed(256, 200 if not args.quick else 50)
    results["data_256px_samples_per_s_per_worker"] = sps
    print(f"data 256 px: {sps:.0f} samples/s per worker (1 static + 1 pair each)")
    if "train_256" in results:  # each iteration consumes `batch` samples
        best = max(
            v["images_per_s"] for v in results["train_256"].values() if isinstance(v, dict) and "images_per_s" in v
        )
        results["data_workers_needed_256px"] = math.ceil(best / sps)
        print(f"data workers needed for the 256 px step here ({best:.2f} samples/s): {math.ceil(best / sps)}")
    print(f"GEMM peak: fp32 {peak32 / 1e9:.0f} GFLOP/s, bf16 {peak16 / 1e9:.0f} GFLOP/s")
    results["ratios"] = ratios(results, previous)
    for k, v in results["ratios"].items():
        print(f"ratio {k:52s} {v:6.2f}")
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
