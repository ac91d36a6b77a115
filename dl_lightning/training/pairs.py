"""Generated frame pairs for D_dyn that follow the animation's noise model.

The paper animates a scene by sampling ``S_dyn`` once and warping it from frame to frame
(and moving ``z_dyn`` along a path). Training pairs that are built the same way reward exactly
the motion the animation uses: frame 2's ``S_dyn`` is frame 1's moved by a random motion, and
frame 2's ``z_dyn`` lies a short way along a path from frame 1's. Both frames are moved by half
the motion in opposite directions, so they have the same statistics (neither is the "original").

Translations are exact (Fourier shift, see :func:`dl_lightning.noise_warp.fourier_shift`), so
the noise stays white: bilinear resampling would blur frame 2, a tell that real pairs never show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F

from dl_lightning.animation import Motion, slerp
from dl_lightning.metrics.relighting import MIN_LAND, structure_differences
from dl_lightning.models.generator import Generator
from dl_lightning.noise_warp import shift_noise_map, warp_noise_map
from dl_lightning.training.losses import still_penalty


@dataclass
class PairMotionConfig:
    """Random motion of ``S_dyn`` between the two frames of a generated pair.

    Units are normalised image coordinates (the frame spans [-1, 1], so 2 = one frame width).
    The default covers the motion presets of ``motions.yaml`` over a whole clip and the cloud
    motion of the synthetic videos (0.01-0.09 widths per frame, pairs up to 15 frames apart).

    Attributes:
        max_shift: largest drift between the two frames; its length is uniform in [0, max_shift].
        max_angle: the drift direction is within this many radians of horizontal (left or right).
        mirror_prob: share of pairs whose motion is mirrored below a random horizon (water).
        zoom_prob: share of pairs that zoom (``towards_viewer``) instead of drifting; a zoom
            needs bilinear resampling, so these pairs are slightly blurred (both frames alike).
        max_zoom: largest zoom factor between the two frames.
        refresh: angle a (radians) mixing frame 2's warped noise with fresh noise,
            cos(a) warped + sin(a) fresh, so shapes can evolve while they move (0 = pure warp).
        zdyn_step: frame 2's ``z_dyn`` is slerp(frame 1's, another sample, t), t uniform in [0, zdyn_step].
    """

    max_shift: float = 0.8
    max_angle: float = 0.35
    mirror_prob: float = 0.5
    zoom_prob: float = 0.1
    max_zoom: float = 1.15
    refresh: float = 0.0
    zdyn_step: float = 0.25

    def __post_init__(self) -> None:
        if self.max_shift < 0 or not 0 <= self.mirror_prob <= 1 or not 0 <= self.zoom_prob <= 1:
            raise ValueError("pair_motion: max_shift must be >= 0, mirror_prob and zoom_prob in [0, 1]")
        if self.max_zoom < 1 or not 0 <= self.zdyn_step <= 1 or not 0 <= self.refresh <= math.pi / 2:
            raise ValueError("pair_motion: max_zoom must be >= 1, zdyn_step in [0, 1], refresh in [0, pi/2]")


def sample_shifts(
    batch: int, cfg: PairMotionConfig, device=None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-sample drift (B, 2) between the two frames: mostly horizontal, either direction."""
    u = torch.rand(batch, 3, device=device, generator=generator)
    angle = (2 * u[:, 0] - 1) * cfg.max_angle + math.pi * (u[:, 1] < 0.5)
    return (u[:, 2] * cfg.max_shift)[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)


def sample_horizons(
    batch: int, cfg: PairMotionConfig, device=None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-sample horizon (B,) in normalised y for mirrored motion; 2.0 (below the frame) = not mirrored."""
    u = torch.rand(batch, 2, device=device, generator=generator)
    return torch.where(u[:, 0] < cfg.mirror_prob, -0.2 + 0.8 * u[:, 1], torch.full_like(u[:, 1], 2.0))


def dyn_noise_pair(
    noise: list[torch.Tensor], cfg: PairMotionConfig, generator: torch.Generator | None = None
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``S_dyn`` of both frames from one draw ``noise`` (per layer (B, 1, r, r)): frame 2 is frame 1 moved.

    Drifting pairs: frame 1 = noise shifted by -m/2, frame 2 = noise shifted by +m/2 (exact), so
    frame 2 is frame 1 shifted by m. Zooming pairs: frame 1/2 = noise zoomed by 1/sqrt(z) and sqrt(z).
    """
    b, dev = noise[0].shape[0], noise[0].device
    m = sample_shifts(b, cfg, dev, generator)
    hz = sample_horizons(b, cfg, dev, generator)
    first = [shift_noise_map(n, -m / 2, hz) for n in noise]
    second = [shift_noise_map(n, m / 2, hz) for n in noise]
    u = torch.rand(b, 3, device=dev, generator=generator)
    for i in torch.nonzero(u[:, 0] < cfg.zoom_prob).flatten().tolist():
        zoom = Motion(zoom=cfg.max_zoom ** float(u[i, 1]), centre=(0.0, float(u[i, 2]) - 0.7))
        horizon = float(hz[i]) if hz[i] < 1 else None
        for layers, t in ((first, -0.5), (second, 0.5)):
            for k, n in enumerate(noise):
                layers[k][i : i + 1] = warp_noise_map(n[i : i + 1], zoom.homography(t), horizon)
    if cfg.refresh > 0:
        c, s = math.cos(cfg.refresh), math.sin(cfg.refresh)
        second = [c * n + s * torch.randn(n.shape, device=dev, generator=generator) for n in second]
    return first, second


def zdyn_pair(z_dyn: torch.Tensor, cfg: PairMotionConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """Frame 2's ``z_dyn`` (B, d): a short way (t <= ``zdyn_step``) along a slerp from frame 1's to a new sample."""
    other = torch.randn(z_dyn.shape, device=z_dyn.device, generator=generator)
    t = torch.rand(z_dyn.shape[0], 1, device=z_dyn.device, generator=generator) * cfg.zdyn_step
    return slerp(z_dyn, other, t)


def pair_dyn_noise(
    G: Generator, batch: int, mode: Literal["warp", "independent"], cfg: PairMotionConfig, device=None
) -> list[torch.Tensor]:
    """S_dyn for both frames of ``batch`` pairs, stacked (2B, 1, r, r): frame 2 = frame 1 moved, or independent."""
    if mode == "independent":
        return G.sample_noise(2 * batch, device=device)
    first, second = dyn_noise_pair(G.sample_noise(batch, device=device), cfg)
    return [torch.cat([a, b]) for a, b in zip(first, second)]


class GeneratedPairs(NamedTuple):
    """Generated pairs and the latents that made them (frame-1 rows first, then frame-2 rows)."""

    frames: torch.Tensor  # (B, 2, 3, R, R)
    ws: torch.Tensor  # (2B, num_ws, w_dim)
    noise_st: list[torch.Tensor]  # per layer (2B, 1, r, r)
    noise_dyn: list[torch.Tensor]  # per layer (2B, 1, r, r)


def generate_pairs(
    G: Generator,
    batch: int,
    mode: Literal["warp", "independent"],
    cfg: PairMotionConfig,
    style_mixing_prob: float = 0.0,
    device=None,
) -> GeneratedPairs:
    """``batch`` generated pairs (B,2,3,R,R) and the latents that made them.

    Both frames share z_st and S_st; z_dyn and S_dyn follow ``mode`` (``warp``: frame 2 is frame 1
    moved, :func:`dyn_noise_pair` and :func:`zdyn_pair`; ``independent``: drawn afresh, the paper).
    With probability ``style_mixing_prob`` layers from a random cutoff on take their w from a second
    z_st (mapped with the same z_dyn), identically for both frames.
    """
    z_st, z_dyn = G.sample_z(batch, device=device)
    z_dyn2 = zdyn_pair(z_dyn, cfg) if mode == "warp" else torch.randn_like(z_dyn)
    ws = mixed_ws(G, z_st.repeat(2, 1), torch.cat([z_dyn, z_dyn2]), style_mixing_prob, repeat=2)
    noise_st = [n.repeat(2, 1, 1, 1) for n in G.sample_noise(batch, device=device)]
    noise_dyn = pair_dyn_noise(G, batch, mode, cfg, device)
    frames = G.synthesis(ws, noise_st, noise_dyn)
    return GeneratedPairs(frames.unflatten(0, (2, batch)).transpose(0, 1), ws, noise_st, noise_dyn)


def mixed_ws(G: Generator, z_st: torch.Tensor, z_dyn: torch.Tensor, style_mixing_prob: float, repeat: int = 1):
    """W+ (N, num_ws, w_dim) of (z_st, z_dyn); with probability ``style_mixing_prob`` the layers from a random cutoff
    on take their w from a second z_st (mapped with the same z_dyn), the same one for each of ``repeat`` blocks of
    N / repeat rows (a pair's two frames)."""
    ws = G.map(z_st, z_dyn)
    if style_mixing_prob > 0 and torch.rand(()) < style_mixing_prob:
        cutoff = int(torch.randint(1, G.num_ws, ()))
        other = torch.randn(len(z_st) // repeat, G.cfg.z_st_dim, device=z_st.device).repeat(repeat, 1)
        ws = torch.cat([ws[:, :cutoff], G.map(other, z_dyn)[:, cutoff:]], dim=1)
    return ws


def generate_frames(G: Generator, batch: int, style_mixing_prob: float = 0.0, device=None) -> GeneratedPairs:
    """``batch`` single generated frames as (B, 1, 3, R, R) "pairs" of one frame, with their latents (the static
    warm-up of training: no pair, so no D_dyn)."""
    z_st, z_dyn = G.sample_z(batch, device=device)
    ws = mixed_ws(G, z_st, z_dyn, style_mixing_prob)
    noise_st, noise_dyn = G.sample_noise(batch, device=device), G.sample_noise(batch, device=device)
    return GeneratedPairs(G.synthesis(ws, noise_st, noise_dyn)[:, None], ws, noise_st, noise_dyn)


@torch.no_grad()
def static_region(segmenter, frames: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) bool: where the segmenter is confident that ``frames`` (N, 3, H, W) are still (probability of
    'dynamic' below 0.2)."""
    return torch.sigmoid(segmenter(frames.float())) < 0.2


def land_change(G: Generator, segmenter, pairs: GeneratedPairs) -> torch.Tensor:
    """Land change caused by S_dyn alone: frame 1 vs frame 1 re-rendered with frame 2's S_dyn, inside frame 1's
    :func:`static_region` (the stillness term)."""
    b = pairs.frames.shape[0]
    first = pairs.frames[:, 0]
    static = static_region(segmenter, first)
    moved = G.synthesis(pairs.ws[:b], [n[:b] for n in pairs.noise_st], [n[b:] for n in pairs.noise_dyn])
    return still_penalty(moved, first, static)


def layout_difference(first: torch.Tensor, second: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
    """The land's structure change from frames ``first`` to ``second`` (N, 3, H, W) in [-1, 1] with ``static``
    (N, 1, H, W) bool: :func:`~dl_lightning.metrics.relighting.structure_differences` at a quarter of the side
    (4 x 4 means) on the blocks wholly static, averaged over the pairs with at least ``MIN_LAND`` of them (0 if
    none). At a quarter of the side, fine texture drawn the same in both frames (the shared noise's grain) neither
    counts nor dilutes the edges; at full size it lowers the figure."""
    land = (-F.max_pool2d(-static.float(), 4))[:, 0] > 0.5
    keep = (land.float().mean((1, 2)) >= MIN_LAND).float()
    change = structure_differences(F.avg_pool2d(first, 4), F.avg_pool2d(second, 4), land)
    return (change * keep).sum() / keep.sum().clamp_min(1)


def layout_change(G: Generator, segmenter, batch: int, device=None) -> torch.Tensor:
    """The layout term: :func:`layout_difference` of ``batch`` scenes, each one ``z_st`` and noise with two
    independent ``z_dyn``, in the first frame's :func:`static_region`. A relight leaves it near 0; a ridge or trees
    that come and go raise it."""
    z_st, z_dyn = G.sample_z(batch, device=device)
    ws = G.map(z_st.repeat(2, 1), torch.cat([z_dyn, torch.randn_like(z_dyn)]))
    noise_st, noise_dyn = ([n.repeat(2, 1, 1, 1) for n in G.sample_noise(batch, device=device)] for _ in range(2))
    first, second = G.synthesis(ws, noise_st, noise_dyn).chunk(2)
    return layout_difference(first, second, static_region(segmenter, first))
