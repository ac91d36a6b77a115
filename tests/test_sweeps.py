"""Every swept parameter is accepted by the training CLI; the local runner expands commands like the agent."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dl_lightning.sweep import command_for, load_sweep, trials
from dl_lightning.sweep import main as sweep_main
from tests.conftest import REPO

SWEEPS = sorted((REPO / "configs" / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SWEEPS, ids=[p.name for p in SWEEPS])
def test_every_swept_parameter_is_accepted_by_the_cli(path):
    spec = load_sweep(path)
    params = trials(spec, 1, seed=3)[0]
    assert set(params) == set(spec["parameters"])
    cmd = command_for(spec, params)
    assert cmd[1:3] == ["fit", "--config"] and (REPO / cmd[3]).is_file()
    # --print_config parses and validates every argument without training
    r = subprocess.run(
        [sys.executable, "-m", "dl_lightning.cli.train"] + cmd[1:] + ["--print_config"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "WANDB_MODE": "disabled"},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    for key, value in params.items():
        leaf = key.split(".")[-1]
        assert f"{leaf}: {value}" in r.stdout or f"{leaf}: {float(value)}" in r.stdout, key


def test_local_runner_dry_run(capsys):
    sweep_main([str(SWEEPS[0]), "--count", "2", "--dry-run"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[trial")]
    assert len(lines) == 2 and all("--model.init_args.lr_g=" in ln for ln in lines)


def test_grid_and_bad_files(tmp_path):
    spec = {"method": "grid", "command": ["${args}"], "parameters": {"a": {"values": [1, 2]}, "b": {"value": 3}}}
    assert trials(spec, 10) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]
    assert command_for(spec, {"a": 1}) == ["--a=1"]
    with pytest.raises(SystemExit):
        sweep_main([str(tmp_path / "none.yaml")])


def tiny_sweep(tmp_path, data, method: str, lrs: list, max_steps: int = 2) -> Path:
    """A sweep file over ``lr_g`` of the tiny GAN whose trials log ``val/fd_random`` every step."""
    import json

    import yaml

    from tests.conftest import TINY_D, TINY_G

    overrides = [
        f"--model.init_args.generator={json.dumps(TINY_G)}", f"--model.init_args.discriminator={json.dumps(TINY_D)}",
        f"--data.init_args.static_root={data}", "--data.init_args.resolution=32", "--data.init_args.batch_size=4",
        "--data.init_args.num_workers=0", "--model.init_args.still_weight=0", "--model.init_args.static_steps=0",
        f"--trainer.default_root_dir={tmp_path / 'run'}", "--trainer.logger=false", "--trainer.callbacks=null",
        "--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false", "--trainer.accelerator=cpu",
        "--trainer.callbacks+=dl_lightning.training.callbacks.QualityMonitor", "--trainer.callbacks.every_n_steps=1",
        "--trainer.callbacks.num_samples=16", "--trainer.callbacks.features=random", "--trainer.callbacks.batch=8",
        "--trainer.callbacks+=dl_lightning.training.callbacks.RunSummary",
    ]  # fmt: skip
    spec = {
        "program": "dl-train", "method": method, "metric": {"name": "val/fd_random", "goal": "minimize"},
        "parameters": {"model.init_args.lr_g": {"values": lrs}, "trainer.max_steps": {"value": max_steps}},
        "command": ["${env}", "${program}", "fit", "--config", str(REPO / "configs/gan/synthetic64.yaml"),
                    *overrides, "${args}"],
    }  # fmt: skip
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_local_sweep_reads_back_ranks_and_fails_loudly(tiny_data, tmp_path, capsys):
    """Three trials, one of them broken (a negative learning rate): the two that ran are ranked by the metric they
    logged (mean of their last measurements, in results.csv and results.md), the broken one is listed as failed
    and the runner exits 1 saying so."""
    import csv

    path = tiny_sweep(tmp_path, tiny_data, "grid", [0.002, -1.0, 0.004], max_steps=3)
    rc = sweep_main([str(path), "--count", "3"])
    out, err = capsys.readouterr()
    assert rc == 1 and "1 of 3 trials failed (trial 2: exit" in err
    results = next((tmp_path / "run" / "sweeps").glob("local-sweep-*/results.csv"))
    rows = list(csv.DictReader(results.open()))
    assert [r["rank"] for r in rows] == ["1", "2", "-"]
    assert rows[2]["trial"] == "2" and rows[2]["val/fd_random"] == "failed"
    values = [float(r["val/fd_random"]) for r in rows[:2]]
    assert values == sorted(values) and all(v > 0 for v in values)
    summary = json.loads((Path(rows[0]["folder"]) / "summary.json").read_text())
    assert summary["finished"] and len(summary["history"]["val/fd_random"]) == 3  # one measurement per step
    assert (results.parent / "results.md").read_text().count("\n|") >= 4
