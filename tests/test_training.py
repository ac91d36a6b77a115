"""Real optimisation steps of the GAN on the tiny synthetic dataset (32 px, batch 4)."""

import json
import math

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from dl_lightning.checkpoints import load_generator
from dl_lightning.data.datamodule import LandscapeDataModule
from dl_lightning.errors import UserError
from dl_lightning.training.callbacks import SUMMARY_FILE, QualityMonitor, RunSummary
from dl_lightning.training.finite import NonFiniteLossError
from dl_lightning.training.gan_module import DeepLandscapeGAN
from dl_lightning.training.pairs import PairMotionConfig, layout_change, layout_difference, pair_dyn_noise
from tests.conftest import TINY_D, TINY_G


def make_module(**kw) -> DeepLandscapeGAN:
    return DeepLandscapeGAN(generator=TINY_G, discriminator=TINY_D, r1_every=2, **kw)


def make_data(root, **kw) -> LandscapeDataModule:
    return LandscapeDataModule(
        str(root), resolution=32, batch_size=4, num_workers=0, epoch_length=20, shuffle_buffer=4, **kw
    )


def fit(module, data, steps, tmp_path=None, ckpt_path=None, callbacks=(), logger=False, **trainer_kw):
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=logger,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=list(callbacks),
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        default_root_dir=tmp_path,
        **trainer_kw,
    )
    trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
    return trainer


def snapshot(module):
    return {
        name: [p.detach().clone() for p in getattr(module, name).parameters()]
        for name in ("G", "D_st", "D_dyn", "G_ema")
    }


def changed(before, module, name):
    return any(not torch.equal(a, b) for a, b in zip(before[name], getattr(module, name).parameters()))


@pytest.mark.parametrize("only", ["G", "D_st", "D_dyn"])
def test_each_optimiser_updates_only_its_own_network(tiny_data, only):
    lrs = {"lr_g": 0.0, "lr_d_st": 0.0, "lr_d_dyn": 0.0}
    lrs[{"G": "lr_g", "D_st": "lr_d_st", "D_dyn": "lr_d_dyn"}[only]] = 0.01
    module = make_module(**lrs)
    before = snapshot(module)
    trainer = fit(module, make_data(tiny_data), 1)
    assert trainer.global_step == 1, "global_step counts GAN iterations, not optimiser steps"
    for name in ("G", "D_st", "D_dyn"):
        assert changed(before, module, name) == (name == only), name
    assert changed(before, module, "G_ema") == (only == "G")


def test_checkpoint_resume_continues_at_the_same_step(tiny_data, tmp_path):
    ckpt = ModelCheckpoint(
        dirpath=tmp_path / "ckpt",
        every_n_train_steps=2,
        save_top_k=-1,
        filename="s{step}",
        auto_insert_metric_name=False,
    )
    keys = {}

    class Keys(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            keys.setdefault(trainer.global_step, batch["key"])

    def monitors():
        return [QualityMonitor(every_n_steps=1, num_samples=8, features="random", batch=4), RunSummary()]

    fit(make_module(), make_data(tiny_data), 3, tmp_path, callbacks=[ckpt, Keys(), *monitors()])  # "killed" at 3
    first_run = dict(keys)
    keys.clear()
    path = tmp_path / "ckpt" / "s2.ckpt"
    assert path.is_file()
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert saved["global_step"] == 2 and "G_ema.const" in saved["state_dict"]
    G = load_generator(path)  # the EMA generator, straight from the Lightning checkpoint (weights_only)
    torch.testing.assert_close(G.const, saved["state_dict"]["G_ema.const"])

    seen = {}

    class Probe(pl.Callback):
        def on_train_start(self, trainer, module):
            seen["step"] = trainer.global_step
            seen["adam_steps"] = [int(next(iter(o.state.values()))["step"]) for o in trainer.optimizers]
            seen["ema"] = module.G_ema.const.detach().clone()

    resumed = make_module()
    callbacks = [Probe(), Keys(), *monitors()]
    trainer = fit(resumed, make_data(tiny_data), 4, tmp_path, ckpt_path=str(path), callbacks=callbacks)
    assert seen["step"] == 2 and seen["adam_steps"] == [2, 2, 2]
    assert saved["datamodule_hyper_parameters"] and "LandscapeDataModule" in saved
    assert keys[2] not in first_run.values(), "the resumed stream goes on with unseen data, it does not replay"
    torch.testing.assert_close(seen["ema"], saved["state_dict"]["G_ema.const"])
    assert trainer.global_step == 4
    curve = json.loads((tmp_path / SUMMARY_FILE).read_text())["history"]["val/fd_random"]
    assert [step for step, _ in curve] == [1, 2, 3, 4], "the resumed run's summary keeps the curve measured before"


def test_nan_loss_stops_with_step_number(tiny_data):
    module = make_module()

    class Poison(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if trainer.global_step == 1:
                batch["static"][0, 0, 0, 0] = float("nan")

    with pytest.raises(NonFiniteLossError, match="at step 1"):
        fit(module, make_data(tiny_data), 3, callbacks=[Poison()])


def test_nan_loss_can_skip_the_update(tiny_data):
    module = make_module(nan_policy="skip")

    class Poison(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            batch["static"][0, 0, 0, 0] = float("nan")
            self.before = [p.detach().clone() for p in module.D_st.parameters()]

    poison = Poison()
    fit(module, make_data(tiny_data), 2, callbacks=[poison])
    assert module.skipped_steps.item() == 2
    assert all(torch.equal(a, b) for a, b in zip(poison.before, module.D_st.parameters())), "D_st update skipped"


def test_bf16_mixed_step_is_finite(tiny_data):
    module = make_module(lr_g=0.01)
    before = snapshot(module)
    fit(module, make_data(tiny_data), 2, precision="bf16-mixed")
    for name in ("G", "D_st", "D_dyn"):
        assert changed(before, module, name)
        assert all(torch.isfinite(p).all() for p in getattr(module, name).parameters())


def test_path_length_and_dyn_weight_decay(tiny_data):
    module = make_module(pl_weight=2.0, pl_every=1, dyn_weight=1.0, dyn_weight_final=0.0, dyn_decay_steps=4)
    fit(module, make_data(tiny_data), 2)
    assert module.pl_mean.item() > 0
    assert module.current_dyn_weight() == pytest.approx(0.5)


def test_quality_monitor_logs_metric_that_checkpoints_monitor(tiny_data, tmp_path):
    from dl_lightning.training.callbacks import QualityMonitor

    best = ModelCheckpoint(
        dirpath=tmp_path / "ck",
        filename="best",
        monitor="val/fd_scene",
        mode="min",
        every_n_train_steps=1,
        save_top_k=1,
    )
    trainer = fit(
        make_module(),
        make_data(tiny_data),
        2,
        tmp_path,
        callbacks=[QualityMonitor(every_n_steps=1, num_samples=8, batch=8), best],
    )
    assert trainer.callback_metrics["val/fd_scene"] > 0
    assert (tmp_path / "ck" / "best.ckpt").is_file() and best.best_model_score is not None
    structure = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("val/structure_")}
    assert "val/structure_sky_grain" in structure and all(torch.isfinite(v) and v >= 0 for v in structure.values())


def test_generated_pairs_follow_the_pair_mode():
    torch.manual_seed(1)
    independent = pair_dyn_noise(make_module().G, 3, "independent", PairMotionConfig())
    warped = pair_dyn_noise(make_module().G, 3, "warp", PairMotionConfig(zoom_prob=0.0, max_shift=1e-6))  # f2 = f1
    for n in independent:
        assert n.shape[0] == 6 and (n[:3] - n[3:]).abs().mean() > 0.5
    for n in warped:
        torch.testing.assert_close(n[3:], n[:3], atol=1e-4, rtol=0)
    module = make_module()
    pairs, ws, noise_st, noise_dyn = module.generate_pairs(4)
    assert pairs.shape == (4, 2, 3, 32, 32) and ws.shape[0] == 8 and noise_dyn[0].shape[0] == 8
    assert all(torch.equal(n[:4], n[4:]) for n in noise_st), "both frames share S_st"
    ws = ws.unflatten(0, (2, 4)).transpose(0, 1)
    step = (ws[:, 0] - ws[:, 1]).norm(dim=-1).mean()
    far = (ws[:, 0] - ws.roll(1, 0)[:, 1]).norm(dim=-1).mean()
    assert 0 < step < far, "frame 2's z_dyn is a short step from frame 1's, not a new scene"
    picked = module.either_frame(pairs)
    assert all(any(torch.equal(picked[i], pairs[i, k]) for k in range(2)) for i in range(4))


def test_d_dyn_share_schedule_is_deterministic_and_decays():
    module = make_module(dyn_prob=0.5, dyn_prob_final=0.1, dyn_decay_steps=1000)
    share = lambda steps: sum(module.uses_dyn(s) for s in steps) / len(steps)  # noqa: E731
    assert 0.4 < share(range(0, 200)) < 0.6 and share(range(2000, 2400)) < 0.2
    assert [module.uses_dyn(s) for s in range(50)] == [module.uses_dyn(s) for s in range(50)]  # same on every rank
    assert all(make_module().uses_dyn(s) for s in range(50)), "the default uses D_dyn on every iteration"


def test_stillness_term_measures_land_motion_from_s_dyn(tiny_data, segmenter_ckpt):
    module = make_module(still_weight=1.0, still_every=1, segmenter=str(segmenter_ckpt[0]))
    with torch.no_grad():
        for layer in module.G.layers:
            layer.strength_dyn.zero_()
    assert module.stillness(module.generate_pairs(4)).item() < 1e-6, "S_dyn off: warping it moves nothing"
    with torch.no_grad():
        for layer in module.G.layers:
            layer.strength_dyn.fill_(0.5)
    assert module.stillness(module.generate_pairs(4)).item() > 1e-3
    trainer = fit(module, make_data(tiny_data), 2)
    assert torch.isfinite(trainer.callback_metrics["loss/still"])
    with pytest.raises(ValueError, match="segmenter"):
        make_module(still_weight=1.0, segmenter=None)
    with pytest.raises(UserError, match="not found .train one with configs/segmenter"):  # default: make train's
        make_module(still_weight=1.0, segmenter=str(tiny_data / "no_segmenter.ckpt"))


def test_layout_term_measures_what_z_dyn_moves_on_the_land_and_training_lowers_it(tiny_data, segmenter_ckpt):
    """G's own gradient steps on the layout difference (over the whole frame here) lower it on other latents, through
    finite gradients; the layout term reads the land from the segmenter, and with ``layout_weight`` the module trains
    with it."""
    from dl_lightning.checkpoints import load_segmenter

    segmenter = load_segmenter(segmenter_ckpt[0])
    G = make_module().G
    z_st, z_dyn = G.sample_z(16, generator=1)
    z_dyn2 = G.sample_z(16, generator=2)[1]
    noise_st, noise_dyn = G.sample_noise(16, generator=3), G.sample_noise(16, generator=4)
    everywhere = torch.ones(16, 1, 32, 32, dtype=torch.bool)

    def whole_frame_change() -> float:
        with torch.no_grad():
            first = G.synthesis(G.map(z_st, z_dyn), noise_st, noise_dyn)
            second = G.synthesis(G.map(z_st, z_dyn2), noise_st, noise_dyn)
            return layout_difference(first, second, everywhere).item()

    before = whole_frame_change()
    assert before > 0.05, "a random generator's z_dyn moves its layout"
    opt = torch.optim.Adam(G.parameters(), lr=0.01)
    for step in range(40):
        z = G.sample_z(8, generator=100 + step)
        ws = G.map(z[0].repeat(2, 1), torch.cat([z[1], G.sample_z(8, generator=200 + step)[1]]))
        noise = [[n.repeat(2, 1, 1, 1) for n in G.sample_noise(8, generator=300 + step + k)] for k in (0, 1)]
        loss = layout_difference(*G.synthesis(ws, *noise).chunk(2), everywhere[:8])
        opt.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in G.parameters() if p.grad is not None)
        opt.step()
    after = whole_frame_change()
    assert after < 0.5 * before
    assert torch.isfinite(layout_change(G, segmenter, 8))
    trainer = fit(
        make_module(layout_weight=1.0, still_every=1, segmenter=str(segmenter_ckpt[0])), make_data(tiny_data), 2
    )
    assert torch.isfinite(trainer.callback_metrics["loss/layout"])
    with pytest.raises(ValueError, match="layout_weight"):
        make_module(layout_weight=1.0, segmenter=None)


def test_static_warm_up_trains_d_st_and_g_only(tiny_data):
    """The first ``static_steps`` iterations synthesise single frames and leave D_dyn untouched; it trains after."""
    module = make_module(static_steps=2, still_weight=0.0)
    before = snapshot(module)
    fit(module, make_data(tiny_data), 2)
    assert changed(before, module, "G") and changed(before, module, "D_st") and not changed(before, module, "D_dyn")
    assert module.generate_frames(3).frames.shape == (3, 1, 3, 32, 32)
    after_warm_up = snapshot(module)
    fit(module, make_data(tiny_data), 3)  # the same module trained on: iteration 2 is past the warm-up
    assert changed(after_warm_up, module, "D_dyn")


def test_the_default_configs_callbacks_run_and_log_what_they_promise(tiny_data, segmenter_ckpt, tmp_path):
    """SampleLogger, QualityMonitor (scene-network features), MotionMonitor (with a segmenter) and ExportGenerator,
    as `configs/gan/synthetic64.yaml` uses them, in a real 2-step run: files written, numbers logged and sane."""
    import csv
    import math

    from pytorch_lightning.loggers import CSVLogger

    from dl_lightning.training.callbacks import ExportGenerator, MotionMonitor, QualityMonitor, SampleLogger

    callbacks = [
        SampleLogger(every_n_steps=2, num_images=4, num_videos=2, frames=3),
        QualityMonitor(every_n_steps=2, num_samples=16, features="scene", batch=8),
        MotionMonitor(every_n_steps=2, segmenter=str(segmenter_ckpt[0]), num_videos=2, frames=3, num_pairs=4),
        ExportGenerator(),
    ]
    # the shipped scene network reads 64 px frames: the 32 px samples are upsampled to it
    fit(make_module(), make_data(tiny_data), 2, tmp_path, None, callbacks, CSVLogger(tmp_path), log_every_n_steps=1)
    assert list(tmp_path.rglob("grid_0000002.png")) and list(tmp_path.rglob("timelapse_0000002.gif"))
    assert list(tmp_path.rglob("*.safetensors")), "the EMA generator exported at the end"
    rows = list(csv.DictReader(open(next(tmp_path.rglob("metrics.csv")))))
    logged = {k: float(v) for r in rows for k, v in r.items() if v not in ("", None) and k != "step"}
    assert 0 < logged["val/fd_scene"] < math.inf
    dyn, st, ratio = logged["val/motion_dynamic"], logged["val/motion_static"], logged["val/motion_ratio"]
    assert dyn > 0 and st >= 0 and ratio == pytest.approx(dyn / max(st, 1e-8), rel=1e-3)
    assert {"d_dyn/score_resampled", "d_dyn/score_warped", "d_dyn/score_zero"} <= set(logged)


def test_optimisers_use_the_configured_rates_and_betas():
    """R1 and path length are added inside the main step (no extra optimiser steps), so no lazy-regularisation
    correction: the learning rates and betas are those of the config."""
    from dl_lightning.training.gan_module import DeepLandscapeGAN
    from tests.conftest import TINY_D, TINY_G

    gan = DeepLandscapeGAN(generator=TINY_G, discriminator=TINY_D, still_weight=0, r1_every=16, pl_weight=2.0,
                           pl_every=4, lr_g=0.002, lr_d_st=0.003, lr_d_dyn=0.004, beta2=0.99)  # fmt: skip
    groups = [opt.param_groups[0] for opt in gan.configure_optimizers()]
    assert [g["lr"] for g in groups] == [0.002, 0.003, 0.004]
    assert all(g["betas"] == (0.0, 0.99) for g in groups)


def test_relativistic_loss_trains_all_three_networks_with_r1_and_r2(tiny_data):
    module = make_module(loss="relativistic")
    before = snapshot(module)
    trainer = fit(module, make_data(tiny_data), 3)  # r1_every=2: steps 0 and 2 add R1 on reals and R2 on fakes
    logged = trainer.callback_metrics
    for name in ("st", "dyn"):
        assert torch.isfinite(logged[f"reg/r2_{name}"]) and logged[f"reg/r2_{name}"] > 0
        assert torch.isfinite(logged[f"loss/d_{name}"])
    assert all(changed(before, module, n) for n in ("G", "D_st", "D_dyn"))
    with pytest.raises(ValueError, match="loss must be"):
        make_module(loss="hinge")


def test_lr_rampdown_lowers_every_rate_along_a_half_cosine_over_the_last_iterations(tiny_data):
    class Rates(pl.Callback):
        seen: list[list[float]] = []

        def on_train_batch_end(self, trainer, module, *args):
            self.seen.append([opt.param_groups[0]["lr"] for opt in trainer.optimizers])

    module = make_module(lr_g=0.002, lr_d_st=0.003, lr_d_dyn=0.004, lr_rampdown=4)
    trainer = fit(module, make_data(tiny_data), 6, callbacks=[Rates()])
    assert trainer.global_step == 6 and len(Rates.seen) == 6
    factors = [0.5 * (1 + math.cos(math.pi * t / 4)) for t in (0, 1, 2, 3)]  # left = 4, 3, 2, 1 iterations
    for got, f in zip(Rates.seen, [1.0, 1.0, *factors], strict=True):
        assert got == pytest.approx([0.002 * f, 0.003 * f, 0.004 * f])
    assert module.lr_scale(6) == 0.0 and make_module().lr_scale(5) == 1.0
    with pytest.raises(ValueError, match="lr_rampdown must be"):
        make_module(lr_rampdown=-1)
    with pytest.raises(ValueError, match="set --trainer.max_steps"):
        fit(make_module(lr_rampdown=2), make_data(tiny_data), -1, max_epochs=1)
