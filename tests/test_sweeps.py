"""Every swept parameter is accepted by the training CLI; the local runner expands commands like the agent."""

import os
import subprocess
import sys

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
    assert cmd[1:4] == ["fit", "--config", "configs/gan/synthetic64.yaml"]
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
