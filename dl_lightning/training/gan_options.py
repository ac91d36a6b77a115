"""Validation of :class:`~dl_lightning.training.gan_module.DeepLandscapeGAN`'s options (documented there)."""

from __future__ import annotations

from collections.abc import Mapping

from dl_lightning.training.losses import LOSSES


def check_options(hp: Mapping, g_resolution: int, d_resolution: int) -> None:
    """Raise ``ValueError`` naming the first option of ``hp`` (the module's keyword arguments) that is out of range."""
    if hp["loss"] not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {hp['loss']!r}")
    if hp["pair_mode"] not in ("warp", "independent"):
        raise ValueError(f"pair_mode must be warp or independent, got {hp['pair_mode']!r}")
    if not (0 <= hp["dyn_prob"] <= 1 and 0 <= hp["dyn_prob_final"] <= 1):
        raise ValueError("dyn_prob and dyn_prob_final must be in [0, 1]")
    if g_resolution != d_resolution:
        raise ValueError(f"generator.resolution ({g_resolution}) != discriminator.resolution ({d_resolution})")
    if hp["static_steps"] < 0:
        raise ValueError(f"static_steps must be >= 0, got {hp['static_steps']}")
    lrs = hp["lr_g"], hp["lr_d_st"], hp["lr_d_dyn"]
    if min(lrs) < 0:
        raise ValueError(f"lr_g, lr_d_st and lr_d_dyn must be >= 0, got {', '.join(map(str, lrs))}")
    if hp["lr_rampdown"] < 0:
        raise ValueError(f"lr_rampdown must be >= 0 iterations, got {hp['lr_rampdown']}")
    if not 0 < hp["crop_fraction"] <= 1 or not 0 <= hp["crop_pair_prob"] <= 1:
        raise ValueError("crop_fraction must be in (0, 1] and crop_pair_prob in [0, 1]")
    if hp["crop_pair_prob"] > 0 and hp["crop_fraction"] >= 1:
        raise ValueError("crop_pair_prob > 0 needs crop_fraction < 1 (shifted crops need room to move)")
