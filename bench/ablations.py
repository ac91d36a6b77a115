"""The ablations of docs/evaluation.md: train each setting for each seed, evaluate, print one table.

Each run is ``dl-train fit`` on ``configs/gan/synthetic64.yaml`` (or the ``--base`` configs) with the setting's
overrides and its own run folder (``<out>/<setting>_s<seed>``), then ``dl-eval gan`` on its last checkpoint (step
1500) with docs/evaluation.md's protocol (scene-network features, 1000 samples and the calibration ladder, 32 videos
of 16 frames). Runs go ``--parallel`` at a time, each with ``--threads`` CPU threads; a run already evaluated is not
run again.
``--steps N`` (other than 1500) writes ``<setting>_s<seed>_itN``; with ``--continue`` it trains on from the
1500-iteration run's last checkpoint.

    python bench/ablations.py --settings default,sdyn8 --seeds 0 1 --parallel 2
    python bench/ablations.py --settings sdyn4 --seeds 2 --steps 2500 --continue
    python bench/ablations.py --table-only          # the table of what has been evaluated

The table row gives the scene-network Fréchet distance, precision and recall, the isolated-pixel and |Laplacian|
ratios to the real stills, the scene statistics' total variation from the renderer's prior (water / ridges / daytime),
and the ``clouds`` preset's motion with the time of day fixed (the motion bar: ratio >= 3 and excess at least half
the real videos').
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "gan" / "synthetic64.yaml"
M = "--model.init_args."
R4 = f"{M}generator.dyn_min_res=4"  # S_dyn at 4 px too: the default before `dyn_min_res: 8`, then 16
NO_GATE = [f"{M}generator.dyn_gate=false", f"{M}generator.dyn_gate_norm=false", R4]
MAP4 = [f"{M}generator.mapping_layers=4", f"{M}style_mixing_prob=0.9"]  # the default's mapping, pinned (`map2` differs)
MAP2 = [f"{M}generator.mapping_layers=2", f"{M}style_mixing_prob=0"]  # stylegan2-ada's small configs' mapping
EMA5 = [f"{M}ema_kimg=5", f"{M}ema_rampup=0.15"]  # stylegan2-ada's EMA for batch 16 (10/32 x batch kimg)
R1X4 = [f"{M}r1_gamma_st=0.2"]  # 4x the default R1 on D_st
# setting -> (dl-train overrides, what it changes against the default config)
SETTINGS: dict[str, tuple[list[str], str]] = {
    "default": (
        [],
        "default (mean-1 `dyn_gate`, no S_dyn below 16 px, warp pairs, `square` merge, any-gap pairs, "
        "`still_weight: 2`)",
    ),
    "stnoise": (
        [f"{M}generator.noise_per_channel=false"],
        "one S_st strength per layer (StyleGAN2), S_dyn per channel",
    ),
    "nolast": (
        [f"{M}generator.noise_per_channel=false", f"{M}generator.last_noise=false"],
        "one S_st strength per layer, no noise in the last conv (`last_noise: false`), S_dyn per channel",
    ),
    "nolast_warmup": (
        [
            f"{M}generator.noise_per_channel=false",
            f"{M}generator.last_noise=false",
            f"{M}static_steps=600",
        ],
        "`nolast` with the static warm-up: 600 single-frame iterations, then 900 full ones (less CPU time)",
    ),  # fmt: skip
    "nolast_warmup_full": (
        [
            *MAP4,
            f"{M}generator.noise_per_channel=false",
            f"{M}generator.last_noise=false",
            f"{M}static_steps=500",
        ],
        "`nolast` with a 500-iteration static warm-up (run with `--steps 2000`: then the default's 1500 full ones)",
    ),  # fmt: skip
    "lastchan_warmup_full": (
        [*MAP4, f"{M}generator.noise_per_channel=true", f"{M}generator.last_noise=false", f"{M}static_steps=500"],
        "no noise in the last conv, S_st strengths per channel (more noise capacity for texture), 500 warm-up "
        "iterations (with `--steps 2000`)",
    ),
    "lowchan_warmup_full": (
        [
            *MAP4,
            f"{M}generator.noise_per_channel=true",
            f"{M}generator.noise_channel_max_res=32",
            f"{M}generator.last_noise=false",
            f"{M}static_steps=500",
        ],
        "`lastchan_warmup_full` with one scalar S_st strength at 64 px (per channel up to 32 px: "
        "`noise_channel_max_res: 32`)",
    ),
    "map2": (
        MAP2,
        "`nolast_warmup_full` with a 2-layer mapping network and no style mixing (stylegan2-ada's small configs; "
        "with `--steps 2000`)",
    ),
    "map2_still3": (
        [*MAP2, f"{M}still_weight=3"],
        "`map2` with `still_weight: 3` (with `--steps 2000`)",
    ),
    "map2_ema": (
        [*MAP2, *EMA5],
        "`map2` with a longer generator EMA (half-life 5 kimg as stylegan2-ada's 10/32 x batch, ramp-up 0.15; the "
        "default's 2 kimg with ramp-up 0.05 is 1.6 kimg, 100 iterations, at the end)",
    ),
    "map2_r1": ([*MAP2, *R1X4], "`map2` with a 4x stronger R1 on D_st (`r1_gamma_st: 0.2`)"),
    "map2_ema_r1": (
        [*MAP2, *EMA5, *R1X4],
        "`map2` with both the longer EMA and the stronger R1",
    ),
    "map2_lastchan": (
        [*MAP2, f"{M}generator.noise_per_channel=true"],
        "`map2` with per-channel S_st strengths (`lastchan_warmup_full`'s noise: last conv still noise-free)",
    ),
    "map2_data4x": (
        [*MAP2, "--data.init_args.static_root=data/synthetic64_x4"],
        "`map2` on 4x the renders (4096 stills, 512 videos: `dl-data synthetic --out data/synthetic64_x4 "
        "--num-static 4096 --num-videos 512`)",
    ),
    "map2_data4x_wided": (
        [*MAP2, "--data.init_args.static_root=data/synthetic64_x4", f"{M}discriminator.channel_base=2048"],
        "`map2_data4x` with a wider discriminator at 64 and 32 px (`channel_base: 2048`: 32 and 64 channels, "
        "against 16 and 32): can it see the missing texture?",
    ),
    "layernoise": (
        [f"{M}generator.noise_per_channel=false", f"{M}generator.dyn_noise_per_channel=false"],
        "one S_st and one S_dyn strength per layer (StyleGAN2)",
    ),
    "warmup": (
        [f"{M}static_steps=600", "--trainer.max_steps=1830"],
        "static warm-up: 600 single-frame iterations (2.2x faster each), then 1230 full ones: the same CPU time",
    ),
    "sdyn8": ([f"{M}generator.dyn_min_res=8"], "S_dyn at 8 px too (`dyn_min_res: 8`, the previous default)"),
    "sdyn4": ([R4], "S_dyn at 4 and 8 px too (`dyn_min_res: 4`, the default before `8`)"),
    "nogate": (NO_GATE, "no `dyn_gate`, S_dyn at 4 px too (the default before the gate)"),
    "gate_free": ([f"{M}generator.dyn_gate_norm=false", R4], "free `dyn_gate` (not normalised), S_dyn at 4 px"),
    "gate_dw2": (
        [f"{M}generator.dyn_gate_norm=false", f"{M}dyn_weight=2", R4],
        "free `dyn_gate`, `dyn_weight: 2`, S_dyn at 4 px",
    ),
    "abs": (
        [f"{M}discriminator.dyn_merge=abs", R4],
        "D_dyn merge `abs`: f1 + f2 and the absolute difference (kink at f1 = f2), S_dyn at 4 px",
    ),
    "concat": ([f"{M}discriminator.dyn_merge=concat"], "D_dyn merge: channel concatenation in both orders"),
    "independent": ([f"{M}pair_mode=independent"], "pairs: independent z_dyn and S_dyn (the paper)"),
    "gap8": (["--data.init_args.max_gap=8"], "real pairs at most 8 frames apart"),
    "schedule": (
        [f"{M}dyn_prob=0.5", f"{M}dyn_prob_final=0.1", f"{M}dyn_decay_steps=1500"],
        "D_dyn on 50% -> 10% of iterations (the paper's schedule, over the run)",
    ),
    "nostill": ([f"{M}still_weight=0"], "no stillness term"),
    "still4": ([f"{M}still_weight=4"], "`still_weight: 4`"),
}
PROTOCOL_STEPS = 1500
EVAL = ["--num", "1000", "--motion-videos", "32", "--frames", "16"]


def run_one(setting: str, seed: int, args: argparse.Namespace) -> Path | None:
    """Train and evaluate one (setting, seed); returns the evaluation JSON, or None if a step failed."""
    name = f"{setting}_s{seed}" + ("" if args.steps == PROTOCOL_STEPS else f"_it{args.steps}")
    run, result = Path(args.out).resolve() / name, Path(args.out).resolve() / f"{name}.json"
    if result.is_file():
        return result
    run.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"}
    ckpt, trained = run / "checkpoints" / "last.ckpt", run / "trained.ok"  # last.ckpt: the final step's weights
    train = [sys.executable, "-m", "dl_lightning.cli.train", "fit", *(f"--config={c}" for c in args.base)]
    train += [f"--seed_everything={seed}", f"--trainer.default_root_dir={run}", f"--trainer.max_steps={args.steps}"]
    train += [*SETTINGS[setting][0], *args.train_args]
    start = Path(args.out).resolve() / f"{setting}_s{seed}" / "checkpoints" / "last.ckpt"
    if args.continue_runs and args.steps > PROTOCOL_STEPS and start.is_file():
        train += [f"--ckpt_path={start}"]  # the protocol run, trained on: a longer run with another random stream
    if args.csv_logger:  # machines without wandb (a GPU image): metrics to CSV instead
        train += ["--trainer.logger=pytorch_lightning.loggers.CSVLogger", f"--trainer.logger.save_dir={run}"]
    evaluate = [sys.executable, "-m", "dl_lightning.cli.eval", "gan", "--ckpt", str(ckpt), *EVAL, "--json", str(result)]
    t0 = time.perf_counter()
    with open(run / "log.txt", "w") as log:
        for cmd in ([] if trained.is_file() else [train]) + ([] if args.no_eval else [evaluate]):
            log.write(" ".join(cmd) + "\n")
            log.flush()
            if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO).returncode:
                print(f"{name}: failed, see {run / 'log.txt'}", flush=True)
                return None
            trained.touch()
    print(f"{name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return result


def table(out: Path) -> str:
    """Markdown table of every evaluated run under ``out`` (settings in SETTINGS order, then length and seed)."""
    from dl_lightning.metrics.scene_quality import compare_statistics

    rows = [
        "| setting | seed | iters | FD (scene) | precision | recall | isolated px | \\|Laplacian\\| "
        "| TV water / ridges / daytime vs real | motion ratio | excess |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    real = floor = None
    for setting, (_, label) in SETTINGS.items():
        found = [(re.fullmatch(rf"{setting}_s(\d+)(?:_it(\d+))?", f.stem), f) for f in out.glob(f"{setting}_s*.json")]
        runs = sorted((int(m[2] or PROTOCOL_STEPS), int(m[1]), f) for m, f in found if m)  # by length, then seed
        for steps, seed, result in runs:
            d = json.loads(result.read_text())
            if "quality" not in d:  # evaluated before the scene metric: run it again
                continue
            q, v = d["quality"], d["motion"]["generated/clouds/fixed"]
            real, floor = d["motion"].get("real/true_masks", real), q["floor"]
            g, px, st = q["generated"], q["pixels"], q["scene_stats"]
            tv = compare_statistics(st["generated"], st["real"])  # both as the network reads them
            rows.append(
                f"| {label} | {seed} | {steps} | {g['fd']:.2f} | {g['precision']:.3f} | {g['recall']:.3f} | "
                f"{px['isolated_ratio']:.2f}x | {px['laplacian_ratio']:.2f}x | "
                f"{tv['tv_water']:.2f} / {tv['tv_ridges']:.2f} / {tv['tv_daytime']:.2f} | {v['ratio']:.2f} | "
                f"{v['excess']:.4f} |"
            )
    if real:
        rows.append(f"\nreal videos (true masks): excess {real['excess']:.4f}, ratio {real['ratio']:.2f}")
    if floor:
        rows.append(f"real-against-real floor: FD {floor['fd']:.2f}, precision {floor['precision']:.3f}")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default="default", help=f"comma-separated, from: {', '.join(SETTINGS)}")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--parallel", type=int, default=1, help="runs at a time")
    p.add_argument("--threads", type=int, default=1, help="CPU threads per run (OMP_NUM_THREADS)")
    p.add_argument(
        "--steps", type=int, default=1500, help="GAN iterations per run (docs/evaluation.md's protocol: 1500)"
    )
    p.add_argument(
        "--continue",
        dest="continue_runs",
        action="store_true",
        help="with --steps above 1500: train on from the 1500-iteration run of the same setting and seed",
    )
    p.add_argument(
        "--base",
        nargs="+",
        default=[str(CONFIG)],
        metavar="CONFIG",
        help="the config files each run reads in turn, under the setting's overrides (default: the default config; "
        "e.g. it, configs/gan/synthetic64_long.yaml and configs/gan/synthetic64_long_b64.yaml for the long recipe "
        "at batch 64 on a GPU)",
    )
    p.add_argument("--out", default="runs/ablations", help="folder of the runs and their evaluation JSON")
    p.add_argument("--csv-logger", action="store_true", help="log to CSV instead of W&B (no wandb installed)")
    p.add_argument("--no-eval", action="store_true", help="train only (evaluate later, e.g. on another machine)")
    p.add_argument("--table-only", action="store_true", help="print the table of what is evaluated; train nothing")
    args, args.train_args = p.parse_known_args()
    unknown = [s for s in args.settings.split(",") if s not in SETTINGS]
    if unknown:
        p.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}")
    if not args.table_only:
        jobs = [(s, seed) for s in args.settings.split(",") for seed in args.seeds]
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda job: run_one(*job, args), jobs))
    print(table(Path(args.out)))


if __name__ == "__main__":
    main()
