"""``make bench``: throughput of training, generation and data loading on this machine.

Prints a table and writes ``outputs/bench/results.json`` (untracked: ``make bench`` changes no tracked file).
The measurements live in ``bench_training.py``, ``bench_profile.py``, ``bench_inference.py``, ``bench_kernels.py``
and ``bench_against.py`` (shared pieces: ``bench_common.py``). Sections:

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
* precision: what ``trainer.precision: null`` chooses on this machine (the faster of fp32 and bf16 for the
          default model's own step, ``training/precision.py``), and whether the full 64 px iteration agrees.
* against: the 64 px iteration and generation of another commit's code (default: the code when the
          performance issue was filed), timed in alternation with this checkout's (``bench_against.py``).
* ratios: the performance targets (iteration vs the grouped-conv fp32 baseline, of this code and of the
          ``--against`` commit; share of the bf16 GEMM peak at 256 px; generation vs the ``--against`` commit).

``--profile`` also profiles iterations (torch.profiler, ``bench_profile.py``) in the auto-chosen precision and
prints the share of an iteration per part of the step (the ``gan/*`` ranges of ``training_step``, the lazy
regularisers amortised), the share of operator time per kind (convolutions, elementwise passes, dtype casts, ...)
and the top operators; traces go to ``outputs/bench/profile_<config>.json`` (chrome://tracing or Perfetto).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import torch
from bench_against import GENERATION, ITERATION_VS_GROUPED, Unavailable, against
from bench_common import DEV, REPO, model_args
from bench_inference import animate_speed, data_speed, generate_speed, invert_seconds
from bench_kernels import downsample_speed, gemm_peak
from bench_profile import profile_steps
from bench_training import step_flops, train_speed

from dl_lightning.hardware import cpu_name, has_amx
from dl_lightning.inversion.pipeline import FINETUNE_STEPS, OPTIM_STEPS
from dl_lightning.models.layers import downsample2_form
from dl_lightning.training.gan_module import DeepLandscapeGAN
from dl_lightning.training.precision import measured_precision

#: The code when the performance issue was filed: ``--against``'s default, "today's" figures of its targets.
BASELINE_REV = "676d041"


def ratios(results: dict) -> dict[str, float]:
    """The issue's targets as measured ratios (same machine, same run)."""
    out = {}
    target = "3x with AMX" if results["machine"]["amx"] else "1.5x without AMX"
    t64 = results.get("train_synthetic64")
    if t64 and "speedup_vs_grouped_fp32" in t64:
        out[f"64px iteration / grouped fp32, this code (target {target})"] = t64["speedup_vs_grouped_fp32"]
    ag = results.get("against")
    if ag:
        rev = ag["rev"][:8]
        out[f"64px iteration / grouped fp32 at {rev} (target {target})"] = ag["ratios"][ITERATION_VS_GROUPED]
        out[f"64px generation / at {rev} (target 2x)"] = ag["ratios"][GENERATION]
    t256 = results.get("train_256")
    if t256 and "share_of_gemm_peak" in t256.get("bf16", {}):
        out["256px bf16 share of bf16 GEMM peak (target 0.40)"] = t256["bf16"]["share_of_gemm_peak"]
    return out


def measure_peaks(peaks: dict[str, float], gpu: bool) -> dict[str, float]:
    """``peaks`` (GFLOP/s of a dense GEMM per dtype label) updated with a fresh measurement, the best kept: the
    shares of peak use the machine's best, not a measurement taken while a neighbour was busy."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16} | ({"fp16": torch.float16} if gpu else {})
    for label, dtype in dtypes.items():  # on a GPU, fp32 runs as tf32 (matmul precision "high")
        peaks[label] = max(peaks.get(label, 0.0), gemm_peak(dtype) / 1e9)
    return peaks


def train_rows(config: str, batch: int, steps: int, rounds: int, variants: list, peaks: dict[str, float]) -> dict:
    """Images/s of each variant (label, precision, grouped modulated conv or not) of ``config``'s iteration: the
    median of ``rounds`` rounds that alternate the variants (so a drift of the machine's speed falls on all of
    them, not on one), with its share of the dtype's GEMM peak (``peaks``, re-measured each round)."""
    name, gpu = Path(config).stem, DEV.type == "cuda"
    flops = step_flops(config, batch)
    runs: dict[str, list[tuple[float, float | None]]] = {}
    row: dict = {"batch": batch, "gflop_per_iteration": flops / 1e9, "rounds": rounds}
    for _ in range(rounds):
        for label, precision, fused in variants:
            if "error" in row.get(label, {}):
                continue
            try:
                runs.setdefault(label, []).append(train_speed(config, batch, steps, precision, fused))
            except Exception as e:  # e.g. fp16 overflowing in R1 (nan_policy: raise): report, go on
                row[label] = {"error": f"{type(e).__name__}: {e}"[:300]}
                print(f"train {name:12s} {label:13s} failed: {row[label]['error']}", flush=True)
        measure_peaks(peaks, gpu)
    for label, measured in runs.items():
        if "error" in row.get(label, {}):
            continue
        ips, memory = statistics.median(m[0] for m in measured), measured[-1][1]
        share = flops / batch * ips / (peaks.get(label.split("_")[0], peaks["fp32"]) * 1e9)
        row[label] = {"images_per_s": ips, "s_per_kimg": 1000 / ips, "share_of_gemm_peak": share}
        row[label] |= {"all_rounds": [m[0] for m in measured]} if rounds > 1 else {}
        row[label] |= {"gpu_memory_gib": memory} if memory is not None else {}
        print(
            f"train {name:12s} {label:13s} {ips:8.2f} img/s  {1000 / ips:8.1f} s/kimg  ({100 * share:.1f}% of GEMM "
            f"peak)"
            + (f"  median of {rounds}" if rounds > 1 else "")
            + (f"  peak memory {memory:.1f} GiB" if memory else ""),
            flush=True,
        )
    ips = {k: v.get("images_per_s", 0.0) for k, v in row.items() if isinstance(v, dict)}
    if ips.get("fp32_grouped"):
        row["speedup_vs_grouped_fp32"] = max(ips.get("fp32", 0), ips.get("bf16", 0)) / ips["fp32_grouped"]
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="64 px only, fewer steps")
    p.add_argument("--out", default=str(REPO / "outputs" / "bench" / "results.json"))
    p.add_argument("--profile", action="store_true", help="also profile iterations (torch.profiler; table + trace)")
    p.add_argument(
        "--against",
        default=BASELINE_REV,
        help="also time this commit's code against this checkout's, alternating (see bench_against.py; 'none' "
        f"skips it); default {BASELINE_REV}, the code when the performance issue was filed",
    )
    args = p.parse_args()
    torch.set_float32_matmul_precision("high")
    default = model_args("configs/gan/synthetic64.yaml")
    precision, why = measured_precision(default["generator"], default["discriminator"], 16, DEV, use_cache=False)
    results: dict = {
        "machine": {
            "cpu": cpu_name(),
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
    peaks = measure_peaks({}, gpu)
    # (config, batch, timed steps, rounds): a GPU gets the configs' own batch sizes
    cases = [("configs/gan/synthetic64.yaml", 16, 20 if gpu else (6 if args.quick else 32), 1 if args.quick else 3)]
    cases += [] if args.quick else [("configs/gan/256.yaml", 8 if gpu else 2, 20 if gpu else 2, 1)]
    variants = [("fp32", "32-true", False), ("bf16", "bf16-mixed", False)]
    variants += [("fp16", "16-mixed", False)] if gpu else []
    variants += [("fp32_grouped", "32-true", True)]
    for config, batch, steps, rounds in cases:
        name = Path(config).stem
        row = train_rows(config, batch, steps, rounds, variants, peaks)
        results[f"train_{name}"] = row
        if name == "synthetic64":  # the precision rule against the measured best of the full iteration
            ips = {k: row.get(k, {}).get("images_per_s", 0) for k in ("fp32", "bf16")}
            best = "bf16-mixed" if ips["bf16"] > ips["fp32"] else "32-true"
            results["precision_rule"] = {"choice": precision, "measured_best": best, "agrees": best == precision}
            print(f"precision rule: {precision}; measured best of the full 64 px iteration: {best}", flush=True)
        if args.profile:
            trace = REPO / "outputs" / "bench" / f"profile_{name}.json"
            row["profile"] = profile_steps(DeepLandscapeGAN(**model_args(config)), batch, precision, trace)
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
        ms, used, name = downsample_speed(dtype), downsample2_form(dtype, DEV.type), str(dtype).split(".")[1]
        results.setdefault("downsample_ms", {})[name] = {**ms, "used": used}
        faster = min(ms, key=ms.get)
        print(
            f"downsample2 {name:9s} conv {ms['conv']:6.2f} ms, adds {ms['adds']:6.2f} ms: "
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
    results["gemm_peak_gflops"] = measure_peaks(peaks, gpu)
    print(
        "GEMM peak (the best of the bench's measurements): "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
    )
    if args.against != "none" and not args.quick:
        try:
            results["against"] = against(args.against)
        except Unavailable as e:
            print(f"against {args.against}: skipped ({e})")
        for k, v in results.get("against", {}).get("ratios", {}).items():
            print(f"against {k:56s} {v:6.2f}")
    results["ratios"] = ratios(results)
    for k, v in results["ratios"].items():
        print(f"ratio {k:52s} {v:6.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
