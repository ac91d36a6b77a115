"""Does the time of day relight a scene and leave its layout? The land's structure change between two times of day.

For a pair of frames of one scene (the generator's same ``z_st`` and noise with two ``z_dyn``; the renderer's same
scene at two times of day), :func:`structure_change` compares the land's edges after taking out what lighting
does to a whole picture: each frame's grey levels on the land are standardised (a per-image gain and offset), their
Sobel magnitudes compared, and the mean absolute difference divided by the mean magnitude. A relit scene whose
ridges, trees and shores stay in place changes little; a ridge band or trees that come and go change a lot.

:func:`renderer_change` is the fair reference: the renderer's scenes at two independently drawn times of day (the
data's own daytime distribution), with their true land masks. :func:`generator_change` gives the generator's
figure, with the land read by the scene network on the first frame (not sky, cloud or water). The generator's
figure over the reference is the one to read (1 = relights as the renderer does).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dl_lightning.data.scenes import CLASSES
from dl_lightning.metrics.pixel_stats import grey
from dl_lightning.metrics.structure import sobel

#: Classes that are not land (their pixels move or change with the sky).
NOT_LAND = tuple(CLASSES.index(c) for c in ("sky", "cloud", "water"))
#: Pairs whose land covers less than this share of the frame are left out of the figure (too little to compare).
MIN_LAND = 0.05


def land_edges(x: torch.Tensor, land: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1], land (N, H, W) bool -> (N, H, W) Sobel magnitude of the grey levels standardised
    over each image's land pixels (differentiable)."""
    g = grey(x)[:, 0]
    w = land.to(g.dtype)
    n = w.sum((1, 2)).clamp_min(1)
    mean = (g * w).sum((1, 2)) / n
    std = (((g - mean[:, None, None]) ** 2 * w).sum((1, 2)) / n).add(1e-12).sqrt().clamp_min(1e-3)
    return sobel(((g - mean[:, None, None]) / std[:, None, None])[:, None])


def structure_differences(a: torch.Tensor, b: torch.Tensor, land: torch.Tensor) -> torch.Tensor:
    """(N,) per pair: mean |edges(a) - edges(b)| / mean (edges(a) + edges(b)) / 2 on the ``land`` (N, H, W) pixels
    of frames ``a`` and ``b`` (N, 3, H, W) in [-1, 1] (:func:`land_edges`; differentiable)."""
    ea, eb = land_edges(a.float(), land), land_edges(b.float(), land)
    w = land.float()
    diff = ((ea - eb).abs() * w).sum((1, 2))
    scale = ((ea + eb) / 2 * w).sum((1, 2)).clamp_min(1e-6)
    return diff / scale


def structure_change(a: torch.Tensor, b: torch.Tensor, land: torch.Tensor) -> float:
    """Mean of :func:`structure_differences` over the pairs with at least :data:`MIN_LAND` land (nan if none)."""
    keep = land.float().mean((1, 2)) >= MIN_LAND
    if not keep.any():
        return float("nan")
    return float(structure_differences(a, b, land)[keep].mean())


def renderer_frames(num: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``num`` renderer scenes, each at two times of day drawn from the data's own distribution: frames a, b
    (num, 3, size, size) in [-1, 1] and their true land (num, size, size) bool (the scene seeds
    ``10**9 + seed * num + i``: no dataset uses them)."""
    from dl_lightning.data.synthetic.landscape import render, sample_daytime

    a, b, land = [], [], []
    for i in range(num):
        s = 10**9 + seed * num + i
        rng = np.random.default_rng([s, 5])
        r = render(s, size, np.array([sample_daytime(rng), sample_daytime(rng)]), np.zeros(2))
        frames = torch.from_numpy(r.frames).permute(0, 3, 1, 2) * 2 - 1
        a.append(frames[0])
        b.append(frames[1])
        land.append(torch.from_numpy(~r.dynamic))
    return torch.stack(a), torch.stack(b), torch.stack(land)


def renderer_change(num: int, size: int, seed: int = 0) -> float:
    """:func:`structure_change` of :func:`renderer_frames`, on their true land."""
    return structure_change(*renderer_frames(num, size, seed))


@torch.no_grad()
def generator_change(G, scene_net, num: int, seed: int = 0, truncation: float = 1.0, batch: int = 50) -> float:
    """:func:`structure_change` of ``num`` generated scenes, each with one ``z_st`` and noise and two independent
    ``z_dyn``, on the land the scene network reads in the first frame."""
    gen = torch.Generator().manual_seed(seed)
    a, b, land = [], [], []
    for start in range(0, num, batch):
        n = min(batch, num - start)
        z_st, z_dyn, s_st, s_dyn = G.sample_latents(n, gen)
        z_dyn2 = G.sample_z(n, gen, "cpu")[1].to(z_dyn.device)
        x1 = G(z_st, z_dyn, noise_st=s_st, noise_dyn=s_dyn, truncation=truncation).cpu()
        x2 = G(z_st, z_dyn2, noise_st=s_st, noise_dyn=s_dyn, truncation=truncation).cpu()
        classes = scene_net.read(x1.clamp(-1, 1))["classes"]
        if classes.shape[-2:] != x1.shape[-2:]:
            classes = F.interpolate(classes[:, None].float(), size=x1.shape[-2:], mode="nearest")[:, 0].long()
        a.append(x1)
        b.append(x2)
        land.append(~torch.isin(classes, torch.tensor(NOT_LAND)))
    return structure_change(torch.cat(a), torch.cat(b), torch.cat(land))
