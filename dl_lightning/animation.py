"""Animating the generator (pure functions, no Lightning).

DeepLandscape animates a scene by keeping ``z_st`` and ``S_st`` fixed, sampling ``S_dyn``
once and warping it with a homography that grows frame by frame (so clouds and water drift
coherently), while ``z_dyn`` follows a path (change of time of day). Here: the motions
(:class:`Motion`, presets in ``motions.yaml``), the z_dyn paths and the frames; the warping of the
noise maps themselves is :mod:`dl_lightning.noise_warp` (training's generated pairs use it too).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import resources

import torch
import yaml

from dl_lightning.errors import UserError
from dl_lightning.models.generator import VIEW_TRUNCATION, Generator, seeded
from dl_lightning.noise_warp import warp_noise


@dataclass
class Motion:
    """Per-frame motion of S_dyn (see ``motions.yaml``)."""

    shift: tuple[float, float] = (0.0, 0.0)
    zoom: float = 1.0
    centre: tuple[float, float] = (0.0, 0.0)
    mirror_below_horizon: bool = True
    horizon: float | None = field(default=None)  # normalised y of the horizon; None = no mirroring

    def homography(self, t: float) -> torch.Tensor:
        """(3, 3) map from frame-0 to frame-t coordinates (normalised): zoom about centre, then shift."""
        s = self.zoom**t
        cx, cy = self.centre
        return torch.tensor(
            [[s, 0.0, cx - s * cx + self.shift[0] * t], [0.0, s, cy - s * cy + self.shift[1] * t], [0.0, 0.0, 1.0]]
        )

    def scaled(self, speed: float = 1.0, direction: float | None = None) -> Motion:
        """The same motion ``speed`` times as fast (shift and zoom per frame), its shift turned to ``direction``
        (degrees on screen, counter-clockwise from "to the right": 90 = upwards) if given."""
        shift = self.shift
        if direction is not None:
            r, a = math.hypot(*shift), math.radians(direction)
            shift = (r * math.cos(a), -r * math.sin(a))  # y points down
        return replace(self, shift=(shift[0] * speed, shift[1] * speed), zoom=self.zoom**speed)


#: The preset animations use when not told (``dl-animate``, photo animation, the sample time-lapses).
DEFAULT_MOTION = "right_wind"
#: The preset the motion metrics use: the synthetic videos' mean cloud speed (``motions.yaml``).
METRIC_MOTION = "clouds"


def load_motions(path: str | None = None) -> dict[str, Motion]:
    """Named presets from ``path`` or the packaged ``motions.yaml``."""
    text = open(path).read() if path else resources.files("dl_lightning").joinpath("motions.yaml").read_text()
    return {
        name: Motion(
            shift=tuple(v["shift"]),
            zoom=float(v["zoom"]),
            centre=tuple(v["centre"]),
            mirror_below_horizon=bool(v["mirror_below_horizon"]),
        )
        for name, v in yaml.safe_load(text).items()
    }


def get_motion(name: str, horizon: float | None = None) -> Motion:
    motions = load_motions()
    if name not in motions:
        raise UserError(f"unknown motion {name!r}; choose one of {', '.join(motions)}")
    m = motions[name]
    m.horizon = horizon if m.mirror_below_horizon else None
    return m


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of a and b (keeps the norm of Gaussian samples).

    ``t`` is a float or a (B, 1) tensor. Where a and b are (anti)parallel, as 1-d rows always
    are, the sphere gives no path and this is the linear interpolation.
    """
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    ok = so > 1e-3
    so = torch.where(ok, so, torch.ones_like(so))
    spherical = (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
    return torch.where(ok, spherical, a + (b - a) * t)


DAYTIME_PATHS = ("fixed", "linear", "slerp", "cycle")


def zdyn_path(kind: str, start: torch.Tensor, end: torch.Tensor, frames: int) -> torch.Tensor:
    """z_dyn for every frame: (T, B, z_dyn_dim).

    ``fixed``: ``start`` throughout. ``linear``/``slerp``: from ``start`` to ``end``.
    ``cycle``: a closed loop ``cos(2 pi t) start + sin(2 pi t) end`` that returns to the start
    (a full cycle through lighting states; the model has no labelled clock).
    """
    if kind not in DAYTIME_PATHS:
        raise UserError(f"unknown daytime path {kind!r}; choose one of {', '.join(DAYTIME_PATHS)}")
    ts = torch.linspace(0, 1, frames) if frames > 1 else torch.zeros(1)
    if kind == "fixed":
        return start[None].expand(frames, *start.shape).clone()
    if kind == "linear":
        return torch.stack([start.lerp(end, float(t)) for t in ts])
    if kind == "slerp":
        return torch.stack([slerp(start, end, float(t)) for t in ts])
    ang = torch.linspace(0, 2 * torch.pi, frames + 1)[:-1]
    return torch.stack([torch.cos(a) * start + torch.sin(a) * end for a in ang])


def ws_path(G: Generator, z_st: torch.Tensor, z_dyn: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
    """W+ for every frame of a generated scene: z_st (B, z_st_dim), z_dyn path (T, B, d) -> (T, B, num_ws, w_dim)."""
    with torch.no_grad():
        return torch.stack([G.map(z_st, z, truncation) for z in z_dyn])


@torch.no_grad()
def render_frames(
    G: Generator,
    ws: torch.Tensor,
    noise_st: list[torch.Tensor],
    noise_dyn: list[torch.Tensor],
    motion: Motion,
    chunk: int = 8,
) -> Iterator[torch.Tensor]:
    """Yield frames (B, 3, R, R) of B scenes, one per time step, computed ``chunk`` frames at a time.

    Args:
        G: generator (usually the EMA one), in eval mode.
        ws: (T, B, num_ws, w_dim) W+ of every frame (see :func:`ws_path`; constant for a fixed daytime).
        noise_st, noise_dyn: per-layer maps (B, 1, r, r); ``noise_dyn`` is warped by ``motion``.
        motion: S_dyn motion.
    """
    frames, b = ws.shape[0], ws.shape[1]
    for t0 in range(0, frames, chunk):
        ts = list(range(t0, min(t0 + chunk, frames)))
        k = len(ts)
        warped = [warp_noise(noise_dyn, motion.homography(t), motion.horizon) for t in ts]
        n_dyn = [torch.cat([w[i] for w in warped]) for i in range(len(noise_dyn))]
        n_st = [n.repeat(k, 1, 1, 1) for n in noise_st]
        imgs = G.synthesis(ws[ts].flatten(0, 1), n_st, n_dyn)
        for i in range(k):
            yield imgs[i * b : (i + 1) * b]


def sample_timelapse(
    G: Generator,
    num: int,
    frames: int,
    seed: int = 0,
    motion: str | Motion = DEFAULT_MOTION,
    daytime: str = "slerp",
    truncation: float = VIEW_TRUNCATION,
    chunk: int = 8,
    zdyn_start: torch.Tensor | None = None,
    zdyn_end: torch.Tensor | None = None,
) -> Iterator[torch.Tensor]:
    """Random scenes animated: yields (num, 3, R, R) frames. Seeded and device-aware.

    ``zdyn_start`` / ``zdyn_end`` (z_dyn_dim,) fix the ends of the daytime path for every scene.
    """
    dev = G.const.device
    gen = seeded(seed)
    z_st, z0, noise_st, noise_dyn = G.sample_latents(num, gen, dev)
    z1 = torch.randn(z0.shape, generator=gen)
    z0 = z0.cpu() if zdyn_start is None else zdyn_start.view(1, -1).expand(num, -1)
    z1 = z1 if zdyn_end is None else zdyn_end.view(1, -1).expand(num, -1)
    m = motion if isinstance(motion, Motion) else get_motion(motion, horizon=0.0)
    path = zdyn_path(daytime, z0, z1, frames).to(dev)
    yield from render_frames(G, ws_path(G, z_st, path, truncation), noise_st, noise_dyn, m, chunk)
