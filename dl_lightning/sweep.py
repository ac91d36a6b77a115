"""``make sweep``: run a W&B sweep file with the W&B agent, or locally when offline.

With W&B credentials (and ``WANDB_MODE`` not offline/disabled) this creates the sweep on the
server and runs an agent. Otherwise it samples the same parameter space itself (``grid`` or
``random``; ``value``, ``values``, ``uniform``, ``log_uniform_values``, ``int_uniform``) and runs
each trial as ``dl-train`` with W&B in offline mode.

    python -m dl_lightning.sweep configs/sweeps/gan_synthetic64.yaml --count 4 [--dry-run]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml

from dl_lightning.errors import UserError, cli_entry
from dl_lightning.loggers import wandb_has_credentials


def load_sweep(path: str | Path) -> dict:
    try:
        spec = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"sweep file {path} not found") from None
    if not isinstance(spec, dict) or "parameters" not in spec or "command" not in spec:
        raise UserError(f"{path}: not a W&B sweep file (needs 'parameters' and 'command')")
    return spec


def sample_value(spec: dict, rng: random.Random):
    """One value of a W&B parameter spec."""
    if "value" in spec:
        return spec["value"]
    if "values" in spec:
        return rng.choice(spec["values"])
    dist = spec.get("distribution", "uniform")
    lo, hi = spec["min"], spec["max"]
    if dist == "int_uniform":
        return rng.randint(lo, hi)
    if dist == "log_uniform_values":
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if dist == "uniform":
        return rng.uniform(lo, hi)
    raise UserError(f"unsupported distribution {dist!r} for the local sweep runner")


def trials(spec: dict, count: int, seed: int = 0) -> list[dict]:
    """Parameter sets: the grid (up to ``count``) or ``count`` random draws."""
    params = spec["parameters"]
    if spec.get("method") == "grid":
        keys = list(params)
        grids = [params[k]["values"] if "values" in params[k] else [params[k]["value"]] for k in keys]
        return [dict(zip(keys, combo)) for combo in itertools.islice(itertools.product(*grids), count)]
    rng = random.Random(seed)
    return [{k: sample_value(v, rng) for k, v in params.items()} for _ in range(count)]


def command_for(spec: dict, params: dict) -> list[str]:
    """Expand the sweep's ``command`` like the W&B agent does (``${program}``, ``${args}``, ``${env}``)."""
    program = spec.get("program", "dl-train")
    exe = Path(sys.executable).with_name(program)
    cmd = []
    for token in spec["command"]:
        if token == "${env}":
            continue
        if token == "${program}":
            cmd.append(str(exe) if exe.exists() else program)
        elif token == "${args}":
            cmd += [f"--{k}={v}" for k, v in params.items()]
        else:
            cmd.append(token)
    return cmd


@cli_entry
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="dl-sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("sweep", help="W&B sweep YAML")
    p.add_argument("--count", type=int, default=4, help="number of trials")
    p.add_argument("--seed", type=int, default=0, help="seed of the local random search")
    p.add_argument("--local", action="store_true", help="use the local runner even with W&B credentials")
    p.add_argument("--dry-run", action="store_true", help="print the trial commands, run nothing")
    args = p.parse_args(argv)
    spec = load_sweep(args.sweep)
    online = wandb_has_credentials() and os.environ.get("WANDB_MODE") not in ("offline", "dryrun", "disabled")
    if online and not args.local and not args.dry_run:
        import wandb

        sweep_id = wandb.sweep(spec, project=os.environ.get("WANDB_PROJECT", "dl_lightning"))
        subprocess.run(["wandb", "agent", "--count", str(args.count), sweep_id], check=True)
        return 0
    env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    stamp = time.strftime("%Y%m%d-%H%M%S")  # each trial its own run folder and W&B run id, as under the agent
    env["WANDB_SWEEP_ID"] = f"local-{Path(args.sweep).stem}-{stamp}"
    for i, params in enumerate(trials(spec, args.count, args.seed)):
        cmd = command_for(spec, params)
        print(f"[trial {i + 1}/{args.count}] {' '.join(cmd)}", flush=True)
        if not args.dry_run:
            rc = subprocess.run(cmd, env={**env, "WANDB_RUN_ID": f"{stamp}-t{i + 1:02d}"}).returncode
            if rc != 0:
                print(f"[trial {i + 1}] exited with {rc}", flush=True)
    return 0


if __name__ == "__main__":
    main()
