"""W&B never waits for input: offline without credentials (a real offline run is written), online with them."""

import os

import pytest

from dl_lightning.loggers import AutoWandbLogger, wandb_has_credentials


@pytest.fixture
def no_wandb_env(tmp_path, monkeypatch):
    for key in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_SWEEP_ID", "WANDB_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org login me password x\n")
    monkeypatch.setenv("NETRC", str(netrc))
    return netrc


def test_without_credentials_the_run_is_logged_offline(no_wandb_env, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    assert not wandb_has_credentials()
    logger = AutoWandbLogger(project="t", save_dir=str(tmp_path / "runs"))
    assert os.environ["WANDB_MODE"] == "offline" and logger._offline
    logger.log_metrics({"loss": 1.5}, step=1)
    logger.experiment.finish()
    runs = list((tmp_path / "runs").rglob("offline-run-*"))
    assert runs and any(p.suffix == ".wandb" for p in runs[0].iterdir()), "an offline run, synced later"


def test_credentials_or_an_explicit_mode_decide(no_wandb_env, monkeypatch):
    no_wandb_env.write_text("machine api.wandb.ai login user password abc\n")
    assert wandb_has_credentials()
    assert not AutoWandbLogger(project="t")._offline, "with a key in ~/.netrc it logs online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert AutoWandbLogger(project="t")._offline, "WANDB_MODE=offline wins over a key"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    AutoWandbLogger(project="t")
    assert os.environ["WANDB_MODE"] == "disabled", "disabled is never turned into offline"
