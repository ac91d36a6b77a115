"""dl-train through its real entry point: bad configs, and a two-process DDP run on CPU (gloo)."""

import json
import os
import re
import subprocess
import sys

import torch

from tests.conftest import REPO, TINY_D, TINY_G

TRAIN = [sys.executable, "-m", "dl_lightning.cli.train", "fit", "--config", str(REPO / "configs/gan/synthetic64.yaml")]


def tiny_args(data, tmp_path, steps=2):
    g = json.dumps(TINY_G)
    d = json.dumps(TINY_D)
    return [
        f"--model.init_args.generator={g}",
        f"--model.init_args.discriminator={d}",
        f"--data.init_args.static_root={data}",
        "--data.init_args.resolution=32",
        "--data.init_args.batch_size=4",
        "--data.init_args.num_workers=0",
        "--data.init_args.shuffle_buffer=4",
        f"--trainer.max_steps={steps}",
        "--trainer.logger=pytorch_lightning.loggers.CSVLogger",
        f"--trainer.logger.save_dir={tmp_path}",
        "--trainer.callbacks=null",
        "--trainer.enable_progress_bar=false",
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.enable_checkpointing=false",
        "--model.init_args.still_weight=0",
        "--model.init_args.static_steps=0",  # full iterations from the first (the warm-up: test_training)
    ]  # no segmenter in tests


def run(args, timeout=300, **env_vars):
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled", **env_vars}
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def test_unknown_config_key_fails_at_start(tiny_data, tmp_path):
    r = run(TRAIN + tiny_args(tiny_data, tmp_path) + ["--model.init_args.no_such_option=3"])
    assert r.returncode != 0 and "no_such_option" in r.stderr
    assert "Traceback" not in r.stderr
    # one line naming the key and what is wrong, not the 59 lines of usage
    for bad, says in (("--model.init_args.no_such_option=3", "not accepted"), ("--model.init_args.lr_g=abc", "lr_g")):
        r = run(TRAIN + tiny_args(tiny_data, tmp_path) + [bad])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.returncode == 2 and lines[-1].startswith("error: invalid config") and says in lines[-1]
        assert not any(ln.startswith("usage:") for ln in lines)


def test_impossible_resolution_is_one_line(tiny_data, tmp_path):
    g = json.dumps({**TINY_G, "resolution": 48})
    r = run(TRAIN + tiny_args(tiny_data, tmp_path) + [f"--model.init_args.generator={g}"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "error: invalid config" in r.stderr and "power of two" in r.stderr


def test_resolution_mismatch_and_missing_data(tiny_data, tmp_path):
    r = run(TRAIN + tiny_args(tiny_data, tmp_path) + ["--data.init_args.resolution=64"])
    assert r.returncode == 2 and "differs from the generator's resolution" in r.stderr
    r = run(TRAIN + tiny_args(tmp_path / "missing", tmp_path))
    assert r.returncode == 2 and "make data" in r.stderr and "Traceback" not in r.stderr


def two_process_run(data, tmp_path, out, steps=3, extra=()):
    args = (
        TRAIN
        + tiny_args(data, tmp_path, steps=steps)
        + [
            "--trainer.accelerator=cpu",
            "--trainer.devices=2",
            "--trainer.strategy=ddp_gan",
            "--trainer.callbacks+=tests.helpers.ParamFingerprint",
            f"--trainer.callbacks.out={out}",
            "--trainer.callbacks+=tests.helpers.DrawFingerprint",
            f"--trainer.callbacks.out={out}",
            *extra,
        ]
    )
    r = run(args, timeout=600, DL_PRECISION_CACHE=str(out / "precision.json"))
    assert r.returncode == 0, r.stderr[-3000:]
    said = [ln for ln in r.stdout.splitlines() if ln.startswith("precision: ")]
    assert len(said) == 2 and "ms in fp32" in said[0] and "chosen by the run's first process" in said[1], said
    return [json.loads((out / f"rank{i}.json").read_text()) for i in range(2)], [
        json.loads((out / f"draws{i}.json").read_text()) for i in range(2)
    ]


def test_two_process_ddp_on_cpu_keeps_ranks_in_sync_and_draws_apart(tiny_data, tmp_path):
    ranks, draws = two_process_run(tiny_data, tmp_path / "a", tmp_path / "fp")
    assert ranks[0]["world_size"] == 2 and ranks[0]["global_step"] == 3
    for name in ("G", "D_st", "D_dyn", "G_ema"):  # parameters and buffers (w_avg)
        assert ranks[0][name] == ranks[1][name], f"{name} diverged across ranks"
    # every rank draws its own latents and noise (z_st, z_dyn, S_st, S_dyn, mixing), none shared between ranks
    assert len(draws[0]) == len(draws[1]) > 6
    assert not set(draws[0]) & set(draws[1]), "ranks drew the same latents or noise"
    _, again = two_process_run(tiny_data, tmp_path / "b", tmp_path / "fp2", steps=3)
    assert again == draws, "the same seed gives each rank the same draws again"


def test_plain_ddp_is_refused_with_advice(tiny_data, tmp_path):
    r = run(
        TRAIN
        + tiny_args(tiny_data, tmp_path)
        + ["--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.strategy=ddp"]
    )
    assert r.returncode != 0 and "ddp_gan" in r.stderr


def test_killed_run_resumes_from_its_checkpoint(tiny_data, tmp_path):
    import signal
    import time

    import torch

    ckpts = tmp_path / "ck"
    ckpt_cb = [
        "--trainer.callbacks+=pytorch_lightning.callbacks.ModelCheckpoint",
        f"--trainer.callbacks.dirpath={ckpts}",
        "--trainer.callbacks.every_n_train_steps=2",
        "--trainer.callbacks.save_last=true",
        "--trainer.callbacks.enable_version_counter=false",
        "--trainer.enable_checkpointing=true",
    ]
    args = TRAIN + tiny_args(tiny_data, tmp_path, steps=10_000) + ckpt_cb
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120  # the first checkpoint comes after 2 tiny steps: seconds
        while not (ckpts / "last.ckpt").is_file() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert (ckpts / "last.ckpt").is_file(), (tmp_path / "first.log").read_text()[-3000:]
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)  # no clean shutdown
    finally:
        proc.kill()
        proc.wait(timeout=60)
        log.close()
    loadable = {}
    for path in ckpts.glob("*.ckpt"):  # the kill may have landed mid-write: use the newest complete one
        try:
            loadable[path] = torch.load(path, map_location="cpu", weights_only=True)["global_step"]
        except Exception:
            pass
    path, start = max(loadable.items(), key=lambda kv: kv[1])
    assert start >= 2 and start % 2 == 0
    r = run(TRAIN + tiny_args(tiny_data, tmp_path, steps=start + 2) + ckpt_cb + [f"--ckpt_path={path}"])
    assert r.returncode == 0, r.stderr[-2000:]
    resumed = torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=True)
    assert resumed["global_step"] == start + 2
    assert [s["state"][0]["step"].item() for s in resumed["optimizer_states"]] == [start + 2] * 3


def test_precision_is_measured_on_the_models_own_step_cached_and_recorded(tiny_data, tmp_path):
    from dl_lightning.training.precision import measured_precision

    cache, cpu = tmp_path / "precision.json", ["--trainer.accelerator=cpu"]
    r = run(TRAIN + tiny_args(tiny_data, tmp_path, steps=1) + cpu, DL_PRECISION_CACHE=str(cache))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "litlogger" not in r.stdout + r.stderr and "in eval mode" not in r.stderr, "notices nobody can act on"
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("precision: "))
    expected = line.split()[1]
    fp32, bf16 = (float(v) for v in re.findall(r"([\d.]+) ms in (?:fp32|bf16)", line))
    assert expected == ("bf16-mixed" if fp32 / bf16 >= 1.05 else "32-true"), line  # the faster one, measured
    assert json.loads(cache.read_text()), "the answer is cached for this machine and model"
    again = run(TRAIN + tiny_args(tiny_data, tmp_path / "c", steps=1) + cpu, DL_PRECISION_CACHE=str(cache))
    assert f"precision: {expected} (measured before" in again.stdout
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    other = measured_precision({**TINY_G, "channel_max": 8}, TINY_D, 4, use_cache=False)
    assert other[0] in ("32-true", "bf16-mixed") and "ms in fp32" in other[1]
    assert torch.equal(torch.random.get_rng_state(), state), "measuring leaves the run's seeded RNG as it was"
    saved = next(tmp_path.rglob("config.yaml")).read_text()
    assert f"precision: {expected}" in saved, "the run's config records what was chosen"
    r = run(
        TRAIN
        + tiny_args(tiny_data, tmp_path / "b", steps=1)
        + ["--trainer.accelerator=cpu", "--trainer.precision=32-true"]
    )
    assert r.returncode == 0 and "precision:" not in r.stdout, "an explicit precision is kept as given"


def config_roots() -> dict[str, tuple[str, str | None]]:
    """``folder/stem`` of every config -> (its text, its ``trainer.default_root_dir``)."""
    import yaml

    out = {}
    for path in (REPO / "configs").glob("*/*.yaml"):
        text = path.read_text()
        out[f"{path.parent.name}/{path.stem}"] = (
            text,
            (yaml.safe_load(text).get("trainer") or {}).get("default_root_dir"),
        )
    return out


def test_run_folder_is_named_once_and_fills_logger_and_checkpoints(tiny_data, tmp_path):
    import yaml

    for name, (text, root) in config_roots().items():
        if root:  # every other path of the run derives from this one value
            assert text.count(root) == 1, f"{name} repeats its run folder {root}"
    root = tmp_path / "myrun"
    keep = [a for a in tiny_args(tiny_data, tmp_path) if not a.startswith(("--trainer.callbacks", "--trainer.en"))]
    keep = [a for a in keep if not a.startswith(("--trainer.logger", "--trainer.default_root_dir"))]
    args = (
        TRAIN
        + keep
        + [
            f"--trainer.default_root_dir={root}",
            "--trainer.logger=dl_lightning.loggers.AutoWandbLogger",
            "--trainer.callbacks=pytorch_lightning.callbacks.ModelCheckpoint",
            "--trainer.callbacks.save_last=true",
            "--trainer.enable_progress_bar=false",
        ]
    )
    r = run(args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (root / "checkpoints" / "last.ckpt").is_file()
    saved = [yaml.safe_load(p.read_text()) for p in root.rglob("config.yaml")]
    assert saved and saved[0]["trainer"]["logger"]["init_args"]["save_dir"] == str(root)
    assert saved[0]["trainer"]["logger"]["init_args"]["name"] == "myrun"
    # a sweep trial writes beside the plain run, never over it
    (root / "checkpoints" / "last.ckpt").unlink()
    r = run(args, WANDB_SWEEP_ID="s1", WANDB_RUN_ID="trial01")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (root / "sweeps" / "s1" / "trial01" / "checkpoints" / "last.ckpt").is_file()
    assert not (root / "checkpoints" / "last.ckpt").exists()


def test_checkpoint_defaults_are_the_configs_run_folders_and_no_config_names_another_run():
    from dl_lightning import checkpoints

    configs = config_roots()
    for name, (text, root) in configs.items():
        assert "runs/" not in text.replace(root or "\0", ""), f"{name} names another run's folder"
    roots = {name: root for name, (_, root) in configs.items()}
    last = "checkpoints/last.ckpt"
    assert checkpoints.DEFAULT_GAN == f"{roots['gan/synthetic64']}/{last}"
    assert checkpoints.DEFAULT_SEGMENTER == f"{roots['segmenter/synthetic64']}/{last}"
    assert checkpoints.DEFAULT_UPSAMPLER == f"{roots['upsampler/synthetic256']}/{last}"
    make = (REPO / "Makefile").read_text()
    assert f"\nCKPT ?= {checkpoints.DEFAULT_GAN}\n" in make
    assert f"\nSEGMENTER ?= {checkpoints.DEFAULT_SEGMENTER}\n" in make
    assert f"\nSCENE_NET_RUN := {roots['scene_net/synthetic64']}/{last}\n" in make
    assert f"\nPHOTO_SEG_RUN := {roots['segmenter/photo128']}/{last}\n" in make


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    from dl_lightning.training.ddp import all_reduce_grads

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1))
    x, y = torch.randn(8, 5), torch.randn(8, 1)  # the global batch; this rank takes its half
    part = slice(rank * 8 // world, (rank + 1) * 8 // world)
    torch.nn.functional.mse_loss(model(x[part]), y[part]).backward()
    all_reduce_grads(model.parameters())
    torch.save([p.grad for p in model.parameters()], f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


def test_ddp_gan_gradients_match_one_process_on_the_global_batch(tmp_path):
    """``ddp_gan`` averages gradients: two processes on halves of a batch give the one-process gradient of the
    whole batch (to float32 rounding, 1e-6), not its sum (a missing division by the world size doubles it)."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1))
    x, y = torch.randn(8, 5), torch.randn(8, 1)
    torch.nn.functional.mse_loss(model(x), y).backward()
    for r in range(2):
        grads = torch.load(tmp_path / f"rank{r}.pt", weights_only=True)
        for g, p in zip(grads, model.parameters()):
            torch.testing.assert_close(g, p.grad, atol=1e-6, rtol=1e-5)


def test_ranks_of_an_external_launcher_agree_on_precision_without_timing(monkeypatch):
    """torchrun / SLURM start every rank at once: none times the model (they would all do it on one GPU at the
    same time, and could choose differently); all take the hardware rule. A rank Lightning launched inherits."""
    from dl_lightning.hardware import auto_precision
    from dl_lightning.training.lightning_cli import PRECISION_ENV, shared_precision

    def timing():
        raise AssertionError("a launched rank must not time the model")

    for var in ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK", PRECISION_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RANK", "3")
    assert shared_precision(timing, "k", "cpu")[0] == auto_precision("cpu")[0]
    monkeypatch.delenv("RANK")
    assert shared_precision(lambda: ("bf16-mixed", "timed"), "k") == ("bf16-mixed", "timed")
    monkeypatch.setenv("LOCAL_RANK", "1")  # a child Lightning started: the parent's choice, for the same model only
    assert shared_precision(timing, "k") == ("bf16-mixed", "chosen by the run's first process")
    assert shared_precision(timing, "other model", "cpu")[0] == auto_precision("cpu")[0]


def tiny_256_args(data, tmp_path, steps: int) -> list[str]:
    """The 256 px config's own callbacks, data module and model class at the tiny size on ``data`` (stills and
    videos in one folder here)."""
    return [
        sys.executable, "-m", "dl_lightning.cli.train", "fit", "--config", str(REPO / "configs/gan/256.yaml"),
        f"--model.init_args.generator={json.dumps(TINY_G)}", f"--model.init_args.discriminator={json.dumps(TINY_D)}",
        f"--data.init_args.static_root={data}", f"--data.init_args.video_root={data}",
        "--data.init_args.resolution=32", "--data.init_args.batch_size=4", "--data.init_args.num_workers=0",
        f"--trainer.max_steps={steps}", "--trainer.accelerator=cpu", f"--trainer.default_root_dir={tmp_path}",
        "--trainer.enable_progress_bar=false", "--trainer.logger=false", "--model.init_args.static_steps=0",
    ]  # fmt: skip


def test_256_config_keeps_a_bounded_number_of_checkpoints_and_exports_the_ema_generator(tiny_data, tmp_path):
    import yaml

    cfg = yaml.safe_load((REPO / "configs/gan/256.yaml").read_text())
    ckpt = next(c["init_args"] for c in cfg["trainer"]["callbacks"] if c["class_path"].endswith("ModelCheckpoint"))
    every, keep = ckpt["every_n_train_steps"], ckpt["save_top_k"]
    assert 0 < keep <= 5, "a 300k-step schedule keeps a few checkpoints (~1 GB each at 256 px), not all of them"
    # the same config with a checkpoint every step: only the `keep` latest stay, plus last.ckpt
    ckpt["every_n_train_steps"] = 1
    config = tmp_path / "256_every_step.yaml"
    config.write_text(yaml.safe_dump(cfg))
    args = tiny_256_args(tiny_data, tmp_path, steps=keep + 3)
    r = run([*args[:5], str(config), *args[6:]])
    assert r.returncode == 0, r.stderr[-3000:]
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step*.ckpt"))
    assert kept == [f"step{s:07d}.ckpt" for s in range(4, keep + 4)], kept
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file() and (tmp_path / "generator_ema.safetensors").is_file()
    assert every >= 1000


def test_the_long_recipe_at_batch_64_sees_the_same_images_with_counts_scaled():
    """configs/gan/synthetic64_long_b64.yaml (the long recipe for a GPU): iteration counts and R1's gamma times the
    batch stay the long recipe's, minibatch-stddev spans the batch, every other model option is the same."""
    import yaml

    def effective(*names: str) -> dict:
        r = run(TRAIN[:4] + [f"--config={REPO / 'configs/gan' / n}.yaml" for n in names] + ["--print_config"])
        assert r.returncode == 0, r.stderr[-2000:]
        return yaml.safe_load(r.stdout)

    long = effective("synthetic64", "synthetic64_long")
    wide = effective("synthetic64", "synthetic64_long", "synthetic64_long_b64")
    b, b64 = long["data"]["init_args"]["batch_size"], wide["data"]["init_args"]["batch_size"]
    assert b64 > b
    assert wide["trainer"]["max_steps"] * b64 == long["trainer"]["max_steps"] * b
    m, m64 = long["model"]["init_args"], wide["model"]["init_args"]
    scaled = ["static_steps", "r1_gamma_st", "r1_gamma_dyn"]
    for key in scaled:
        assert abs(m64[key] * b64 - m[key] * b) < 1e-9, key
    assert (m["discriminator"].pop("mbstd_group"), m64["discriminator"].pop("mbstd_group")) == (b, b64)
    assert {k: v for k, v in m64.items() if k not in scaled} == {k: v for k, v in m.items() if k not in scaled}
