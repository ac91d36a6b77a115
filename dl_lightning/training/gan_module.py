"""DeepLandscape GAN training: G against D_st (single images) and D_dyn (frame pairs).

Manual optimisation, three Adam optimisers updated in turn every iteration, all on one synthesis of
generated pairs (detached for the D steps):

1. ``D_st``: real static images vs generated frames (+ lazy R1 every ``r1_every`` steps).
2. ``D_dyn``: real pairs (two frames of one video, same crop) vs fake pairs: generated pairs
   (same ``z_st``/``S_st`` and crop; by default frame 2's ``S_dyn`` is frame 1's moved and its
   ``z_dyn`` a short step away, as in the animation, see :mod:`dl_lightning.training.pairs`)
   where each is replaced with probability ``crop_pair_prob`` by two shifted crops of one real
   frame (+ lazy R1). On a share ``dyn_prob`` of iterations (the paper's schedule decays it).
3. ``G``: non-saturating loss against D_st (on either frame of each pair) plus ``dyn_weight`` x
   the loss against D_dyn (+ optional lazy path-length regularisation). Then the EMA update.

The first ``static_steps`` iterations are a static warm-up: single frames, D_st and G only (no pairs, no D_dyn,
no stillness term), about twice as many iterations per second while the generator learns the scenes.

``trainer.global_step`` counts iterations (G updates); the D optimisers step through the
strategy directly so that they do not advance it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from typing import Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.strategies import DDPStrategy
from torch.profiler import record_function

from dl_lightning.checkpoints import DEFAULT_SEGMENTER, load_segmenter, mark_checkpoint
from dl_lightning.config import as_config, saved_hparams
from dl_lightning.models import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, PairDiscriminator
from dl_lightning.models.generator import VIEW_TRUNCATION
from dl_lightning.training.crops import either_frame, mix_shifted_crops, same_crop
from dl_lightning.training.ddp import GANDDPStrategy, seed_rank
from dl_lightning.training.ema import ema_beta, update_ema
from dl_lightning.training.finite import losses_finite
from dl_lightning.training.gan_options import check_options
from dl_lightning.training.losses import d_loss, g_loss, path_length_penalty, r1_penalty
from dl_lightning.training.pairs import (
    GeneratedPairs,
    PairMotionConfig,
    generate_frames,
    generate_pairs,
    land_change,
    layout_change,
)
from dl_lightning.training.schedules import cosine_rampdown, due, in_share, linear_decay, set_learning_rates


class DeepLandscapeGAN(pl.LightningModule):
    """Lightning orchestration of the DeepLandscape GAN.

    Args:
        generator: generator architecture (see :class:`GeneratorConfig`).
        discriminator: D_st / D_dyn architecture (see :class:`DiscriminatorConfig`).
        lr_g: Adam learning rate of G.
        lr_d_st: Adam learning rate of D_st.
        lr_d_dyn: Adam learning rate of D_dyn.
        lr_rampdown: over the last ``lr_rampdown`` iterations of ``trainer.max_steps`` every learning rate falls along
            a half cosine to 0 (:meth:`lr_scale`; 0: constant rates). Needs ``trainer.max_steps``.
        beta1: Adam beta1 (0 in StyleGAN2).
        beta2: Adam beta2.
        loss: ``logistic`` (StyleGAN2: non-saturating G, logistic D, R1 on reals) or ``relativistic`` (RpGAN: each
            fake against a real of the same batch, both ways; R1 on reals and R2 on fakes with the same gamma).
        r1_gamma_st: R1 weight for D_st (the penalty is gamma/2 * ||grad||^2).
        r1_gamma_dyn: R1 weight for D_dyn.
        r1_every: lazy regularisation interval for R1 (0 disables R1).
        pl_weight: path-length regularisation weight (0 disables it).
        pl_every: lazy interval for path-length regularisation.
        dyn_weight: weight of the D_dyn term in the generator loss.
        dyn_weight_final: D_dyn weight reached after ``dyn_decay_steps`` (linear decay).
        dyn_prob: share of iterations that update D_dyn and use it in G's loss (the paper: 0.5).
        dyn_prob_final: share reached after ``dyn_decay_steps`` (the paper: 0.1 after 600k images).
        dyn_decay_steps: iterations of the linear decays of the D_dyn weight and share; 0 keeps both constant.
        crop_fraction: D_dyn sees crops of this fraction of the side, resized back.
        crop_pair_prob: probability that a fake D_dyn pair is two shifted crops of one real frame.
        min_crop_shift: least distance between the two shifted crops (fraction of the side).
        style_mixing_prob: probability of mixing two W's at a random layer for G's samples.
        pair_mode: how a generated pair's two frames differ (both share z_st, S_st).
            ``warp``: frame 2's S_dyn is frame 1's moved by a random motion and its z_dyn a short
            step along a path (``pair_motion``), the animation's noise model, so D_dyn rewards the
            motion the animation uses. ``independent``: z_dyn and S_dyn drawn afresh (the paper).
        pair_motion: the motion prior of ``warp`` pairs (see :class:`PairMotionConfig`).
        still_weight: weight of the stillness term (0 disables it): the mean |change| inside the
            segmenter's static region (land) between frame 1 and frame 1 re-rendered with frame 2's
            S_dyn, i.e. the land motion that warping S_dyn would cause in an animation. Not in the
            paper, whose D_dyn learns this over days of training; here it makes the ground still
            within a CPU run. Needs ``segmenter``.
        still_every: lazy interval of the stillness term and the layout term (their weights are scaled by it).
        layout_weight: weight of the layout term (0 disables it): the land's structure change between one scene at
            two independent ``z_dyn`` (:func:`~dl_lightning.training.pairs.layout_change`: Sobel edges after a
            per-image gain and offset at a quarter of the side, in the segmenter's static region, half a batch of
            scenes), so that the time of day relights the land without moving its ridges and trees. Not in the
            paper. Needs ``segmenter``.
        segmenter: SegmenterModule checkpoint for ``still_weight`` and ``layout_weight`` (``configs/segmenter``);
            default: where ``make motion-segmenter`` (run by ``make train``) leaves it
            (``checkpoints.DEFAULT_SEGMENTER``).
        ema_kimg: half-life of the generator EMA in thousands of images.
        ema_rampup: EMA half-life is at most ``ema_rampup`` x images seen (None: no ramp-up).
        nan_policy: on a NaN/inf loss, 'raise' stops with the step number, 'skip' skips the update.
        sample_truncation: truncation psi for logged samples.
        static_steps: iterations of the static warm-up at the start (single frames, D_st and G only; D_dyn and the
            stillness term start after it). 0: every iteration trains both discriminators.
    """

    def __init__(
        self,
        generator: GeneratorConfig | None = None,
        discriminator: DiscriminatorConfig | None = None,
        lr_g: float = 0.0025,
        lr_d_st: float = 0.0025,
        lr_d_dyn: float = 0.0025,
        lr_rampdown: int = 0,
        beta1: float = 0.0,
        beta2: float = 0.99,
        loss: Literal["logistic", "relativistic"] = "logistic",
        r1_gamma_st: float = 0.1,
        r1_gamma_dyn: float = 0.1,
        r1_every: int = 16,
        pl_weight: float = 0.0,
        pl_every: int = 4,
        dyn_weight: float = 1.0,
        dyn_weight_final: float = 1.0,
        dyn_prob: float = 1.0,
        dyn_prob_final: float = 1.0,
        dyn_decay_steps: int = 0,
        crop_fraction: float = 0.75,
        crop_pair_prob: float = 0.5,
        min_crop_shift: float = 0.05,
        style_mixing_prob: float = 0.9,
        pair_mode: Literal["warp", "independent"] = "warp",
        pair_motion: PairMotionConfig | None = None,
        still_weight: float = 0.0,
        still_every: int = 4,
        layout_weight: float = 0.0,
        segmenter: str | None = DEFAULT_SEGMENTER,
        ema_kimg: float = 10.0,
        ema_rampup: float | None = 0.05,
        nan_policy: Literal["raise", "skip"] = "raise",
        sample_truncation: float = VIEW_TRUNCATION,
        static_steps: int = 0,
    ):
        super().__init__()
        g_cfg, d_cfg = as_config(GeneratorConfig, generator), as_config(DiscriminatorConfig, discriminator)
        m_cfg = as_config(PairMotionConfig, pair_motion)
        hparams = {
            k: v
            for k, v in locals().items()
            if k not in ("self", "__class__", "generator", "discriminator", "pair_motion", "g_cfg", "d_cfg", "m_cfg")
        }
        check_options(hparams, g_cfg.resolution, d_cfg.resolution)
        self.save_hyperparameters(
            saved_hparams(self, generator=g_cfg, discriminator=d_cfg, pair_motion=m_cfg, **hparams)
        )
        self.pair_motion = m_cfg
        self.automatic_optimization = False
        self.G = Generator(g_cfg)
        self.D_st = Discriminator(d_cfg)
        self.D_dyn = PairDiscriminator(d_cfg)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # a list, so not a submodule: the segmenter is not saved in GAN checkpoints
        self._segmenter = [self._load_segmenter(segmenter) if max(still_weight, layout_weight) > 0 else None]
        self.register_buffer("pl_mean", torch.zeros(()))
        self.register_buffer("skipped_steps", torch.zeros((), dtype=torch.long))
        self._t_last: float | None = None

    # ---------------------------------------------------------------- set-up
    @staticmethod
    def _load_segmenter(path: str | None):
        if not path:
            raise ValueError(
                "model.still_weight or model.layout_weight > 0 needs model.segmenter (a SegmenterModule "
                "checkpoint: make motion-segmenter)"
            )
        return load_segmenter(path)

    def on_fit_start(self) -> None:
        if self.hparams.lr_rampdown > 0 and self.trainer.max_steps < 0:
            raise ValueError("model.lr_rampdown counts back from trainer.max_steps: set --trainer.max_steps")
        seed_rank(self.global_rank)  # distinct latents, noise and mixing per rank, reproducible from the seed
        if self._segmenter[0] is not None:
            self._segmenter[0] = self._segmenter[0].to(self.device)

    def setup(self, stage: str) -> None:
        strategy = self.trainer.strategy
        if isinstance(strategy, DDPStrategy) and not isinstance(strategy, GANDDPStrategy):
            raise ValueError(
                "this GAN runs three backward passes per step, which plain DDP cannot sync: "
                "use --trainer.strategy=ddp_gan"
            )

    def configure_optimizers(self):
        hp = self.hparams

        # The lazy regularisers are added to the main step's loss (no extra optimiser steps), so StyleGAN2's
        # lazy-regularisation correction of lr and betas does not apply: the configured rates are the ones used.
        def adam(params, lr):
            return torch.optim.Adam(params, lr=lr, betas=(hp.beta1, hp.beta2), eps=1e-8)

        return [adam(self.G.parameters(), hp.lr_g), adam(self.D_st.parameters(), hp.lr_d_st),
                adam(self.D_dyn.parameters(), hp.lr_d_dyn)]  # fmt: skip

    # ---------------------------------------------------------------- sampling
    def generate_pairs(self, batch: int) -> GeneratedPairs:
        """``batch`` generated pairs (B,2,3,R,R) and their latents (see :func:`pairs.generate_pairs`)."""
        hp = self.hparams
        return generate_pairs(self.G, batch, hp.pair_mode, self.pair_motion, hp.style_mixing_prob, self.device)

    def generate_frames(self, batch: int) -> GeneratedPairs:
        """``batch`` single generated frames (B,1,3,R,R) for the static warm-up (style mixing as for pairs)."""
        return generate_frames(self.G, batch, self.hparams.style_mixing_prob, self.device)

    def stillness(self, pairs: GeneratedPairs) -> torch.Tensor:
        """The stillness term (:func:`~dl_lightning.training.pairs.land_change`) with the module's segmenter."""
        return land_change(self.G, self._segmenter[0], pairs)

    either_frame = staticmethod(either_frame)

    def crop_pairs(self, pairs: torch.Tensor) -> torch.Tensor:
        """Same random crop on both frames, resampled to D_dyn's resolution."""
        return same_crop(pairs, self.hparams.crop_fraction, self.D_dyn.cfg.dyn_resolution)

    def fake_pairs_for_d_dyn(self, generated: torch.Tensor, real_pairs: torch.Tensor) -> torch.Tensor:
        """Cropped generated pairs, each replaced with prob. ``crop_pair_prob`` by shifted crops of a real frame."""
        hp = self.hparams
        return mix_shifted_crops(self.crop_pairs(generated), real_pairs[:, 0], hp.crop_pair_prob, hp.crop_fraction,
                                 hp.min_crop_shift, self.D_dyn.cfg.dyn_resolution)  # fmt: skip

    def current_dyn_weight(self) -> float:
        hp = self.hparams
        return linear_decay(hp.dyn_weight, hp.dyn_weight_final, self.global_step, hp.dyn_decay_steps)

    def lr_scale(self, step: int) -> float:
        """Factor of every learning rate at iteration ``step`` (:func:`~dl_lightning.training.schedules.cosine_rampdown`
        over the last ``lr_rampdown`` iterations of ``trainer.max_steps``)."""
        n = self.hparams.lr_rampdown
        return cosine_rampdown(step, self.trainer.max_steps, n) if n > 0 else 1.0

    def uses_dyn(self, step: int) -> bool:
        """Whether iteration ``step`` trains D_dyn and G against it (share ``dyn_prob``; the same on every rank)."""
        hp = self.hparams
        return in_share(step, linear_decay(hp.dyn_prob, hp.dyn_prob_final, step, hp.dyn_decay_steps))

    # ---------------------------------------------------------------- training
    def _check_finite(self, losses: dict[str, torch.Tensor]) -> bool:
        """True if all finite on every rank; otherwise raise or count a skip per ``nan_policy``."""
        ok = losses_finite(losses, self.trainer.strategy, self.hparams.nan_policy, self.global_step)
        self.skipped_steps += int(not ok)
        return ok

    def _step(self, opt, loss: torch.Tensor, counts_as_step: bool) -> None:
        """zero_grad, backward, step; only G's step (``counts_as_step``) advances ``global_step``."""
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if counts_as_step:
            opt.step()
        else:  # same precision/scaler handling, without advancing trainer.global_step
            self.trainer.strategy.optimizer_step(opt.optimizer, closure=lambda: None, model=self)
        opt.zero_grad(set_to_none=True)

    def _discriminator_step(
        self, name: str, opt, D, real: torch.Tensor, fake: torch.Tensor, gamma: float, do_r1: bool
    ) -> dict[str, torch.Tensor]:
        """One update of D (``name`` = 'st' or 'dyn'): its loss (``loss``) + lazy R1 on ``real`` (and R2 on ``fake``
        with the relativistic loss); returns logs."""
        self.toggle_optimizer(opt)
        real_logits, fake_logits = D(real), D(fake)
        losses = {"d": d_loss(self.hparams.loss, real_logits, fake_logits)}
        if do_r1:
            losses["r1"] = r1_penalty(D, real)
            if self.hparams.loss == "relativistic":  # R2: the same penalty on the fakes
                losses["r2"] = r1_penalty(D, fake)
        if self._check_finite(losses):
            reg = losses.get("r1", 0.0) + losses.get("r2", 0.0)
            self._step(opt, losses["d"] + gamma / 2 * self.hparams.r1_every * reg, False)
        self.untoggle_optimizer(opt)
        logs = {
            f"loss/d_{name}": losses["d"].detach(),
            f"d_{name}/real": real_logits.detach().float().mean(),
            f"d_{name}/fake": fake_logits.detach().float().mean(),
        }
        logs |= {f"reg/{k}_{name}": losses[k].detach() for k in ("r1", "r2") if k in losses}
        return logs

    def lazy_terms(self, step: int) -> list[str]:
        """The lazy regularisers due at iteration ``step``: ``r1`` (both Ds), ``pl``, ``still`` and ``layout`` (G;
        the last two not in the static warm-up). The profiler ranges of ``training_step`` carry them in their names
        (``gan/d_st+r1``), so a profile can amortise them."""
        hp = self.hparams
        every = hp.still_every if step >= hp.static_steps else 0
        return due(step, {"r1": hp.r1_every, "pl": hp.pl_every if hp.pl_weight > 0 else 0,
                          "still": every if hp.still_weight > 0 else 0,
                          "layout": every if hp.layout_weight > 0 else 0})  # fmt: skip

    def _g_loss(self, D, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """G's loss against ``D`` on ``fake``: non-saturating, or relativistic against ``real`` (same batch)."""
        with torch.no_grad():
            real_logits = D(real) if self.hparams.loss == "relativistic" else None
        return g_loss(self.hparams.loss, D(fake), real_logits)

    def _generator_step(
        self, opt_g, generated: GeneratedPairs, use_dyn: bool, lazy: list[str], real: torch.Tensor,
        real_pairs: torch.Tensor,
    ) -> dict:  # fmt: skip
        """One G update against D_st (and D_dyn if ``use_dyn``) plus the regularisers in ``lazy``, through the graph
        of ``generated`` (the relativistic loss compares with ``real`` stills and ``real_pairs``); returns logs and
        ``stepped``."""
        hp, logs = self.hparams, {}
        self.toggle_optimizer(opt_g)
        pairs, b = generated.frames, generated.frames.shape[0]
        losses = {"g_st": self._g_loss(self.D_st, self.either_frame(pairs), real)}
        w_dyn = self.current_dyn_weight() if use_dyn else 0.0
        loss_g = losses["g_st"]
        if use_dyn:
            losses["g_dyn"] = self._g_loss(self.D_dyn, self.crop_pairs(pairs), self.crop_pairs(real_pairs))
            loss_g = loss_g + w_dyn * losses["g_dyn"]
        if "pl" in lazy:
            pl_b = max(1, b // 2)
            ws_pl = self.G.map(*self.G.sample_z(pl_b, device=self.device)).detach().requires_grad_(True)
            losses["pl"], logs["reg/path_length"], self.pl_mean = path_length_penalty(
                self.G.synthesis(ws_pl), ws_pl, self.pl_mean
            )
            loss_g = loss_g + hp.pl_weight * hp.pl_every * losses["pl"]
        if "still" in lazy:
            losses["still"] = self.stillness(generated)
            loss_g = loss_g + hp.still_weight * hp.still_every * losses["still"]
        if "layout" in lazy:
            losses["layout"] = layout_change(self.G, self._segmenter[0], max(1, b // 2), self.device)
            loss_g = loss_g + hp.layout_weight * hp.still_every * losses["layout"]
        stepped = self._check_finite(losses)
        if stepped:
            self._step(opt_g, loss_g, True)
        self.untoggle_optimizer(opt_g)
        logs.update({f"loss/{k}": losses[k].detach() for k in ("g_st", "g_dyn", "still", "layout") if k in losses})
        return logs | {"loss/dyn_weight": w_dyn, "stepped": stepped}

    def training_step(self, batch: dict, batch_idx: int) -> None:
        hp = self.hparams
        opt_g, opt_ds, opt_dd = self.optimizers()
        real, real_pairs = batch["static"], batch["pairs"]
        b, step = real.shape[0], self.global_step
        set_learning_rates([(opt_g, hp.lr_g), (opt_ds, hp.lr_d_st), (opt_dd, hp.lr_d_dyn)], self.lr_scale(step))
        lazy = self.lazy_terms(step)
        do_r1, g_lazy = "r1" in lazy, [t for t in lazy if t != "r1"]

        # one synthesis per iteration: the D steps see it detached and G's step backpropagates through it. G does
        # not change in between, so this equals synthesising twice (as StyleGAN2 does) minus one forward pass of G.
        # In the static warm-up the "pairs" are single frames (B, 1, 3, R, R).
        warm_up = step < hp.static_steps
        with record_function("gan/synthesis"):
            generated = self.generate_frames(b) if warm_up else self.generate_pairs(b)
        fake_pairs = generated.frames.detach()

        # 1. D_st: real images vs generated frames
        with record_function("gan/d_st" + "+r1" * do_r1):
            logs = self._discriminator_step(
                "st", opt_ds, self.D_st, real, self.either_frame(fake_pairs), hp.r1_gamma_st, do_r1
            )
        # 2. D_dyn: real pairs (same crop) vs generated pairs and shifted crops of real frames
        use_dyn = not warm_up and self.uses_dyn(step)
        if use_dyn:
            with record_function("gan/d_dyn" + "+r1" * do_r1):
                real_crops, fake = self.crop_pairs(real_pairs), self.fake_pairs_for_d_dyn(fake_pairs, real_pairs)
                logs |= self._discriminator_step("dyn", opt_dd, self.D_dyn, real_crops, fake, hp.r1_gamma_dyn, do_r1)
        # 3. G against both discriminators
        with record_function("+".join(["gan/g", *g_lazy])):
            logs.update(self._generator_step(opt_g, generated, use_dyn, g_lazy, real, real_pairs))
        with record_function("gan/ema"):
            if logs["stepped"]:
                total = b * self.trainer.world_size
                beta = ema_beta(total, hp.ema_kimg, (self.global_step + 1) * total, hp.ema_rampup)
                update_ema(self.G_ema, self.G, beta)
        logs |= {f"lr/{k}": opt.param_groups[0]["lr"] for k, opt in (("g", opt_g), ("d_st", opt_ds), ("d_dyn", opt_dd))}
        logs["skipped_steps"] = self.skipped_steps.float()
        del logs["stepped"]
        now = time.perf_counter()
        if self._t_last is not None:
            logs["perf/images_per_s"] = b * self.trainer.world_size / max(now - self._t_last, 1e-9)
        self._t_last = now
        self.log_dict(logs, prog_bar=False, on_step=True)
        self.log("img/s", logs.get("perf/images_per_s", 0.0), prog_bar=True, on_step=True, logger=False)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        mark_checkpoint(checkpoint, "gan", asdict(self.G.cfg))
