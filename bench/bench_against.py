"""Before/after on this machine (``make bench ARGS="--against REV"``, or alone: ``python bench/bench_against.py
REV``): the 64 px iteration (non-fused and grouped modulated conv, fp32) and generation of another commit's code,
timed in alternation with this checkout's.

Both run that commit's ``configs/gan/synthetic64.yaml`` (the model as it was then, which this checkout's code
also builds), each in a fresh process whose ``dl_lightning`` comes from the tree being timed, with the same
bench functions. On a shared machine whose speed drifts by 10-20% over minutes, alternating rounds and taking
medians is what makes the ratio of two codes trustworthy; figures from two results files are not.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_common import REPO
from tqdm import tqdm

CONFIG = "configs/gan/synthetic64.yaml"
#: The ratios :func:`against` reports (this checkout's figure over the other commit's), by name.
ITERATION, ITERATION_VS_GROUPED, GENERATION = (
    "64px iteration here / at rev",
    "64px iteration here / grouped fp32 baseline at rev",
    "64px generation here / at rev",
)
BENCH = Path(__file__).resolve().parent


def measure(tree: str, config: str, steps: int) -> dict[str, float]:
    """Run in a process whose ``dl_lightning`` is ``tree``'s: 64 px images/s (fp32, non-fused and grouped) and
    generation frames/s (fp32, batch 8)."""
    from bench_inference import generate_speed
    from bench_training import train_speed

    import dl_lightning

    if not Path(dl_lightning.__file__).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"bench_against: imported dl_lightning from {dl_lightning.__file__}, not from {tree}")
    return {
        "train_fp32": train_speed(config, 16, steps, "32-true", False)[0],
        "train_fp32_grouped": train_speed(config, 16, steps, "32-true", True)[0],
        "generate_fp32": generate_speed(config, batch=8, reps=40, bf16=False),
    }


def _run(tree: Path, config: Path, steps: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(BENCH)])}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), str(config), str(steps)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise Unavailable(f"timing {tree} failed: {tail}")
    return json.loads(lines[-1])


class Unavailable(Exception):
    """The comparison cannot run here (no git history, an unknown commit, old code that fails); one line why."""


def _git(*args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True)
    except FileNotFoundError:
        raise Unavailable("git is not installed") from None
    if done.returncode:
        raise Unavailable(
            f"git {args[0]} failed: {(done.stderr.decode().strip() or 'not a commit here').splitlines()[-1]}"
        )
    return done.stdout


def against(rev: str, rounds: int = 3, steps: int = 32) -> dict:
    """Median figures of this checkout and of ``rev`` over ``rounds`` alternating rounds, and their ratios.
    Raises :class:`Unavailable` when it cannot run (e.g. a copy without git history, or a shallow clone)."""
    sha = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "tree"
        old.mkdir()
        subprocess.run(["tar", "-x", "-C", str(old)], input=_git("archive", sha, "dl_lightning", "configs"), check=True)
        config = old / CONFIG
        runs: dict[str, list[dict]] = {"here": [], "rev": []}
        for _ in tqdm(range(rounds), desc=f"bench --against {sha[:8]} (alternating rounds)"):
            runs["here"].append(_run(REPO, config, steps))
            runs["rev"].append(_run(old, config, steps))
    median = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    here, then = median["here"], median["rev"]
    return {
        "rev": sha,
        "config": f"{CONFIG} at {sha[:8]}",
        "rounds": rounds,
        "here": here,
        "rev_figures": then,
        "all_rounds": runs,
        "ratios": {
            ITERATION: here["train_fp32"] / then["train_fp32"],
            ITERATION_VS_GROUPED: here["train_fp32"] / then["train_fp32_grouped"],
            GENERATION: here["generate_fp32"] / then["generate_fp32"],
        },
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:  # the worker process of `_run`
        tree, config, steps = sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(json.dumps(measure(tree, config, steps)), flush=True)
    elif len(sys.argv) == 2 and not sys.argv[1].startswith("-"):  # the comparison alone, without the rest of make bench
        try:
            result = against(sys.argv[1])
        except Unavailable as e:
            raise SystemExit(f"error: {e}") from None
        for name in ("here", "rev_figures"):
            print(name, {k: round(v, 1) for k, v in result[name].items()})
        for side in ("here", "rev"):
            print(f"rounds {side}:", [{k: round(v, 1) for k, v in r.items()} for r in result["all_rounds"][side]])
        for name, ratio in result["ratios"].items():
            print(f"ratio {name}: {ratio:.2f}")
    else:
        raise SystemExit("usage: python bench/bench_against.py REV  (this checkout against commit REV, 64 px, fp32)")
