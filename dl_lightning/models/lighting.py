"""Lighting network A ~ M^-1: maps w back to the (normalised) latents (z_st, z_dyn).

With A, the ``z_dyn`` of an inverted photo can be read off and replaced: the photo is relit by
adding to its W+ the change of ``M(z_st, z_dyn)`` when ``z_dyn`` moves, which keeps whatever the
inversion captured beyond the mapping's range.
"""

from __future__ import annotations

import torch
from torch import nn

from dl_lightning.models.generator import Generator, normalize_z
from dl_lightning.models.layers import EqualLinear


class LightingNet(nn.Module):
    """A: w (B, w_dim) -> (z_st (B, z_st_dim), z_dyn (B, z_dyn_dim)), normalised together as the mapping's input."""

    def __init__(self, w_dim: int, z_st_dim: int, z_dyn_dim: int, hidden: int = 256, layers: int = 4):
        super().__init__()
        dims = [w_dim] + [hidden] * (layers - 1)
        self.net = nn.Sequential(
            *[EqualLinear(a, b, activate=True) for a, b in zip(dims, dims[1:])],
            EqualLinear(dims[-1], z_st_dim + z_dyn_dim),
        )
        self.z_st_dim, self.z_dyn_dim, self.hidden, self.layers = z_st_dim, z_dyn_dim, hidden, layers

    def forward(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.net(w)
        return normalize_z(z[:, : self.z_st_dim], z[:, self.z_st_dim :])


@torch.no_grad()
def read_latents(A: LightingNet, ws: torch.Tensor, G: Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(z_st, z_dyn) estimated from W+ (B, num_ws, w_dim) via its mean over the styles that see z_dyn (G's
    ``dyn_styles``; every style without ``G``)."""
    styles = ws.float()[:, G.dyn_styles] if G is not None else ws.float()
    return A(styles.mean(dim=1))


@torch.no_grad()
def relight(G: Generator, A: LightingNet, ws: torch.Tensor, z_dyn_new: torch.Tensor) -> torch.Tensor:
    """W+ of the same scene under the lighting ``z_dyn_new`` (B, z_dyn_dim): ws + M+(z_st, new) - M+(z_st, old),
    with M+ the mapping broadcast to W+ (``Generator.map``: only the styles that see z_dyn change)."""
    z_st, z_dyn = read_latents(A, ws, G)
    return ws + (G.map(z_st, z_dyn_new.to(z_st)) - G.map(z_st, z_dyn)).to(ws.dtype)
