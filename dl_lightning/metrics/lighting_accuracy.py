"""How well lighting network A inverts the mapping network, on held-out latents.

* ``zdyn_cosine`` / ``zst_cosine``: mean cosine between A's (z_st, z_dyn) and the true ones;
* ``relative_cycle_error``: ||M(A(w)) - w||^2 / Var(w), the cycle error relative to w's spread.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dl_lightning.models.generator import Generator
from dl_lightning.models.lighting import LightingNet


@torch.no_grad()
def lighting_accuracy(G: Generator, A: LightingNet, num: int = 2048, seed: int = 999) -> dict[str, float]:
    """A's accuracy on ``num`` latents drawn with ``seed`` (training draws its own, so these are held out)."""
    z_st, z_dyn = G.sample_z(num, seed, "cpu")
    w = G.mapping(z_st, z_dyn)
    p_st, p_dyn = A(w)
    return {
        "num": num,
        "zdyn_cosine": float(F.cosine_similarity(p_dyn, z_dyn, dim=1).mean()),
        "zst_cosine": float(F.cosine_similarity(p_st, z_st, dim=1).mean()),
        "relative_cycle_error": float((G.mapping(p_st, p_dyn) - w).square().mean() / w.var()),
    }
