"""Animating an inverted photo at its own resolution: dynamic mask, horizon, frames, the inversion's W+ path.

The dynamic mask (sky, water) comes from a user mask (white = moves) or the moving region. At the generator's
resolution it restricts the noise fitting (S_dyn in the mask, S_st outside) and sets the horizon below which
motion is mirrored (water); at the photo's resolution (:mod:`dl_lightning.photo.region`, :func:`user_alpha`) it
says which pixels move. :func:`photo_frames` moves the photo's own sky (:mod:`dl_lightning.photo.motion`)
or blends the generator's frames into the photo (:mod:`dl_lightning.photo.composite`); :func:`inversion_ws`
gives the W+ of every frame, relit along a daytime path by network A.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dl_lightning.animation import Motion, render_frames, zdyn_path
from dl_lightning.data.images import open_rgb
from dl_lightning.data.photos import Geometry, photo_at, photo_square
from dl_lightning.errors import UserError
from dl_lightning.models.generator import seeded
from dl_lightning.models.inversion import Inversion
from dl_lightning.models.lighting import LightingNet, read_latents, relight
from dl_lightning.photo.composite import composite, frame_to_output, lighting_gain
from dl_lightning.photo.motion import PhotoMotion


def open_user_mask(path: str | Path, photo_size: tuple[int, int], fit: str) -> Image.Image:
    """A user's mask image (white = moves), checked to be the photo's size, on the generator's square as
    :func:`photo_square` puts the photo."""
    img = open_rgb(path)
    if img.size != photo_size:
        raise UserError(
            f"--mask {path} is {img.width}x{img.height} px but the photo is {photo_size[0]}x{photo_size[1]}: "
            "give a mask of the photo's size (white = sky/water that moves)"
        )
    return photo_square(img, fit)[0]


def user_mask(square: Image.Image, resolution: int) -> torch.Tensor:
    """The mask's square (:func:`open_user_mask`) at the generator's resolution: (1, 1, R, R) in {0, 1}."""
    grey = torch.from_numpy(np.asarray(square.convert("L").resize((resolution, resolution), Image.BOX)).copy())
    return (grey.float() / 255 >= 0.5).float()[None, None]


def horizon_from_mask(mask: torch.Tensor) -> float | None:
    """Normalised y of the horizon for mirrored (water) motion, from a (1, 1, R, R) dynamic mask.

    Rows are scanned from the top: the horizon is where the top dynamic band (sky) ends. If no
    dynamic region lies below it (no water), or the top is not dynamic, there is nothing to
    mirror and the answer is None. No fixed height or layout is assumed.
    """
    rows = mask[0, 0].float().mean(dim=1)  # share of dynamic pixels per row
    h = rows.shape[0]
    if rows[0] < 0.5:
        return None
    below = torch.nonzero(rows < 0.5).flatten()
    if len(below) == 0:
        return None
    k = int(below[0])
    if rows[k:].max() < 0.05:
        return None
    return k / h * 2 - 1


def user_alpha(square: Image.Image, geometry: Geometry, size: int) -> torch.Tensor:
    """The mask's square (:func:`open_user_mask`) at output size, as :func:`photo_at` makes the photo:
    (1, 1, h, w) in [0, 1]. The user's mask is the authority at full resolution: no feathering, no thin-structure
    removal."""
    return ((photo_at(square, geometry, size).mean(1, keepdim=True) + 1) / 2).clamp(0, 1)


@torch.no_grad()
def photo_frames(
    inv: Inversion,
    ws: torch.Tensor,
    motion: Motion,
    photo: torch.Tensor,
    alpha: torch.Tensor,
    geometry: Geometry,
    relight: bool,
    upsampler: torch.nn.Module | None = None,
    chunk: int = 8,
    sky: str = "photo",
    water: Motion | None = None,
    loop: bool = False,
) -> Iterator[torch.Tensor]:
    """Output frames (1, 3, h, w) at the photo's resolution.

    Args:
        inv: the inversion (latents and tuned generator).
        ws: W+ of every frame (T, 1, num_ws, w_dim) (see :func:`inversion_ws`).
        motion: the sky's motion (S_dyn's, and the photo's sky with ``sky="photo"``).
        photo: the photo at output size (1, 3, h, w) in [-1, 1].
        alpha: feathered dynamic mask (1, 1, h, w) in [0, 1] (0: exactly the photo).
        geometry: where the photo lies on the generator's square.
        relight: carry the lighting change of the generator's frames over to the whole frame.
        upsampler: optional x4 super-resolution net for the generator's sky (``sky="generator"``).
        sky: ``photo``: the photo's own sky and water move (:class:`PhotoMotion`), the generator only relights;
            ``generator``: the generator's frames fill the moving region (the paper; for models trained on real
            data at high resolution).
        water: the water's own motion with ``sky="photo"`` (None: the sky's, mirrored).
        loop: with ``sky="photo"``, the last frame leads into the first.
    """
    hw, frames = tuple(photo.shape[-2:]), ws.shape[0]
    gains = None
    if relight:
        reference = inv.render()
        lit = render_frames(inv.G, ws, inv.noise_st, inv.noise_dyn, Motion(), chunk)
        gains = (lighting_gain(f, reference, hw, geometry) for f in lit)
    if sky == "photo":
        yield from PhotoMotion(photo, alpha, geometry, motion, water, period=frames, loop=loop).frames(frames, gains)
        return
    for f in render_frames(inv.G, ws, inv.noise_st, inv.noise_dyn, motion, chunk):
        gain = next(gains) if gains is not None else None
        yield composite(photo, frame_to_output(f, geometry, hw, upsampler), alpha, gain)


def inversion_ws(
    inv: Inversion,
    frames: int,
    daytime: str = "fixed",
    A: LightingNet | None = None,
    zdyn_end: torch.Tensor | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """W+ of every frame (T, 1, num_ws, w_dim): the photo's own, relit along ``daytime`` if A is given.

    Relighting starts from the photo's own z_dyn read off by A and ends at ``zdyn_end`` (or a random one).
    """
    if A is None or daytime == "fixed":
        return inv.ws[None].expand(frames, -1, -1, -1)
    _, z0 = read_latents(A, inv.ws, inv.G)
    z1 = (
        zdyn_end.view(1, -1).to(z0)
        if zdyn_end is not None
        else torch.randn(1, inv.G.cfg.z_dyn_dim, generator=seeded(seed)).to(z0)
    )
    return torch.stack([relight(inv.G, A, inv.ws, z) for z in zdyn_path(daytime, z0, z1, frames)])


def animate_inversion(
    inv: Inversion,
    motion: Motion,
    frames: int,
    daytime: str = "fixed",
    A: LightingNet | None = None,
    zdyn_end: torch.Tensor | None = None,
    chunk: int = 8,
    seed: int = 0,
) -> Iterator[torch.Tensor]:
    """Frames (1,3,R,R) of the inverted photo: S_dyn warped by ``motion``; relit along ``daytime`` if A is given."""
    ws = inversion_ws(inv, frames, daytime, A, zdyn_end, seed)
    return render_frames(inv.G, ws, inv.noise_st, inv.noise_dyn, motion, chunk)
