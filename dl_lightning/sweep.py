"""``make sweep``: run a W&B sweep file with the W&B agent, or locally when offline.

With W&B credentials (and ``WANDB_MODE`` not offline/disabled) this creates the sweep on the
server and runs an agent. Otherwise it searches the same parameter space itself and runs each trial as
``dl-train`` with W&B in offline mode: ``grid`` and ``random`` draw here (``value``, ``values``, ``uniform``,
``log_uniform_values``, ``int_uniform``); ``bayes`` asks Optuna's TPE sampler, told each finished trial's
objective.

Each trial's objective is the sweep's ``metric`` read back from the trial's ``summary.json``
(:class:`dl_lightning.training.callbacks.RunSummary`): the mean of its last three measurements, so that one noisy
checkpoint does not decide. The trials are ranked in ``<run folder>/sweeps/<sweep>/results.csv`` and
``results.md`` (printed too); a trial that exits non-zero or logs no metric is listed as failed, and the runner
then exits 1 with a one-line summary.

    python -m dl_lightning.sweep configs/sweeps/gan_synthetic64.yaml --count 4 [--dry-run]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from dl_lightning.errors import UserError, cli_entry
from dl_lightning.files import atomic_path
from dl_lightning.loggers import wandb_has_credentials
from dl_lightning.training.callbacks import SUMMARY_FILE

#: A trial's objective: the mean of the metric's last this-many measurements.
LAST_MEASUREMENTS = 3


def load_sweep(path: str | Path) -> dict:
    try:
        spec = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"sweep file {path} not found") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        raise UserError(f"{path}: not valid YAML{f' (line {where.line + 1})' if where else ''}") from None
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


def optuna_distribution(name: str, spec: dict):
    """The Optuna distribution of a W&B parameter spec (``bayes`` without a server)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if "value" in spec:
        return CategoricalDistribution([spec["value"]])
    if "values" in spec:
        return CategoricalDistribution(spec["values"])
    dist = spec.get("distribution", "uniform")
    if dist == "int_uniform":
        return IntDistribution(spec["min"], spec["max"])
    if dist in ("uniform", "log_uniform_values"):
        return FloatDistribution(spec["min"], spec["max"], log=dist == "log_uniform_values")
    raise UserError(f"unsupported distribution {dist!r} of {name} for the local sweep runner")


def run_folder(spec: dict, params: dict) -> Path:
    """The plain run folder (``trainer.default_root_dir``) of the sweep's command: a swept value, else one the
    command sets, else the config's."""
    if "trainer.default_root_dir" in params:
        return Path(params["trainer.default_root_dir"])
    command = spec["command"]
    flag = "--trainer.default_root_dir="
    given = [t[len(flag) :] for t in command if isinstance(t, str) and t.startswith(flag)]
    if given:
        return Path(given[-1])
    if "--config" not in command:
        raise UserError("the sweep's command names no --config, so its run folder is unknown")
    config = yaml.safe_load(Path(command[command.index("--config") + 1]).read_text())
    root = (config.get("trainer") or {}).get("default_root_dir")
    if not root:
        raise UserError("the sweep's config sets no trainer.default_root_dir, so its trials cannot be read back")
    return Path(root)


def objective(summary: Path, metric: str) -> float | None:
    """The mean of the last :data:`LAST_MEASUREMENTS` values of ``metric`` in a trial's summary; None if absent."""
    try:
        rows = json.loads(summary.read_text())["history"].get(metric) or []
    except (OSError, ValueError, KeyError):
        return None
    values = [v for _, v in rows[-LAST_MEASUREMENTS:] if math.isfinite(v)]
    return sum(values) / len(values) if values else None


@dataclass
class Trial:
    """One local trial: its parameters, exit code, objective and folder."""

    number: int
    params: dict
    folder: Path
    returncode: int | None = None
    value: float | None = None

    @property
    def failed(self) -> bool:
        return self.returncode != 0 or self.value is None


def write_results(trials_done: list[Trial], metric: str, goal: str, folder: Path) -> str:
    """Rank the trials (best first, failed last) into ``folder/results.csv`` and ``results.md``; returns the
    Markdown table."""
    sign = 1 if goal == "minimize" else -1
    ranked = sorted(trials_done, key=lambda t: (t.failed, sign * (t.value or 0.0)))
    names = sorted({k for t in trials_done for k in t.params})
    header = ["rank", "trial", metric, "exit", *names, "folder"]
    rows = []
    for rank, t in enumerate(ranked, 1):
        value = "failed" if t.value is None else f"{t.value:.4g}"
        params = [t.params.get(n, "") for n in names]
        rows.append([rank if not t.failed else "-", t.number, value, t.returncode, *params, str(t.folder)])
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "results.csv") as tmp, open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    md = "\n".join(["| " + " | ".join(map(str, r)) + " |" for r in [header, ["---"] * len(header), *rows]])
    with atomic_path(folder / "results.md") as tmp:
        tmp.write_text(f"{metric} ({goal}; mean of the last {LAST_MEASUREMENTS} measurements)\n\n{md}\n")
    return md


def run_local(spec: dict, sweep_name: str, count: int, seed: int, dry_run: bool) -> int:
    """Run ``count`` trials here (module docstring); returns the exit code: 0, or 1 when a trial failed."""
    metric = (spec.get("metric") or {}).get("name")
    goal = (spec.get("metric") or {}).get("goal", "minimize")
    if not metric and not dry_run:
        raise UserError("the sweep file has no metric ({name: ..., goal: minimize|maximize}): trials cannot be ranked")
    env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    stamp = time.strftime("%Y%m%d-%H%M%S")  # each trial its own run folder and W&B run id, as under the agent
    sweep_id = env["WANDB_SWEEP_ID"] = f"local-{sweep_name}-{stamp}"
    study = None
    if spec.get("method") == "bayes":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction = "maximize" if goal == "maximize" else "minimize"
        study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
        dists = {k: optuna_distribution(k, v) for k, v in spec["parameters"].items()}
        drawn = None
    else:
        drawn = trials(spec, count, seed)
    done: list[Trial] = []
    for i in range(len(drawn) if drawn is not None else count):
        asked = study.ask(dists) if study is not None else None
        params = asked.params if asked is not None else drawn[i]
        run_id = f"{stamp}-t{i + 1:02d}"
        trial = Trial(i + 1, params, run_folder(spec, params) / "sweeps" / sweep_id / run_id)
        cmd = command_for(spec, params)
        print(f"[trial {i + 1}/{count}] {' '.join(cmd)}", flush=True)
        if dry_run:
            continue
        trial.returncode = subprocess.run(cmd, env={**env, "WANDB_RUN_ID": run_id}).returncode
        trial.value = objective(trial.folder / SUMMARY_FILE, metric) if trial.returncode == 0 else None
        print(f"[trial {i + 1}] exit {trial.returncode}, {metric} = {trial.value}", flush=True)
        if study is not None:
            state = optuna.trial.TrialState.FAIL if trial.failed else optuna.trial.TrialState.COMPLETE
            study.tell(asked, None if trial.failed else trial.value, state=state)
        done.append(trial)
    if dry_run:
        return 0
    folder = run_folder(spec, done[0].params if done else {}) / "sweeps" / sweep_id
    print(write_results(done, metric, goal, folder))
    failed = [t for t in done if t.failed]
    if failed:
        why = ", ".join(f"trial {t.number}: " + (f"exit {t.returncode}" if t.returncode else f"no {metric}")
                        for t in failed)  # fmt: skip
        print(f"{len(failed)} of {len(done)} trials failed ({why}); results in {folder}", file=sys.stderr)
        return 1
    print(f"{len(done)} trials ranked by {metric}: {folder / 'results.md'}")
    return 0


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
    return run_local(spec, Path(args.sweep).stem, args.count, args.seed, args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
