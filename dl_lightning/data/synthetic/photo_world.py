"""Photo-like scenes with their moving region: the photo segmenter's training world and the hard cases.

The GAN's world (:mod:`.landscape`) has ridges, grass, conifers and a lake. Real photos hold more, and a
segmenter that has only seen that world moves a minaret with the clouds and leaves a storm cloud still. This
world draws, at any size:

* skies of every kind: day, sunset, overcast, storm (clouds darker than the sky), dusk, night; clouds bright,
  grey, dark or sunset-lit, as fractal layers and as separate dark masses;
* land: hills and mountains, flat fields, beaches; near ground of boards (a dock), a road with a guardrail,
  gravel or rocks, which a segmenter that knows only smooth ground takes for water; sea or lakes with waves that
  reflect the sky and the land, rough or as still as a mirror;
* still things that rise into the sky: towers and minarets 3-30 px wide at 1024 px (with balconies and spires),
  domes, city skylines, masts, bare trees (branching), leafy trees, conifers; boats and piers on the water;
  lit (brighter or darker than the sky) or as silhouettes;
* a camera: exposure, white balance, a colour grade (teal and orange, a blue cast, faded), gamma, vignetting,
  blur, noise and JPEG;
* optionally (``extras``, off by default, drawn from a second random stream so the scenes above keep their
  pixels): water that runs to the frame's bottom edge, reeds standing in still water, sun glare on the near ground
  and the near ground out of focus (a shallow depth of field). Measured on the real-photo benchmark by fine-tuning
  the shipped segmenter 1500 steps on 6000 such scenes (docs/photos.md): calm lakes that fill the frame's bottom
  are found (summer_1am IoU 0.86 -> 0.96, the most sky left still 11.9% -> 5%), but docks and shingle move
  (cold_ripple's structures moving 1% -> 21%, hills' IoU 0.98 -> 0.73): not in the shipped segmenter;
* optionally (``haze``, off by default, its own random stream too): distant land in haze, as a photo sees it
  over kilometres of air: hills mixed 30-85% towards the sky's colour at the horizon (the farther layer more),
  and a distant tree line, dark or hazy, along the land's top edge. Measured by the segmenter's rebuild recipe on
  three seeds (docs/photos.md): hazy hills on the horizon stay still on some photos, but sea and sky at the
  horizon are left still (mean IoU 0.908 / 0.827 against the plain world's 0.927 / 0.897): not in the shipped
  segmenter.

Moving = sky (clouds, sun) and water, as DeepLandscape animates them; everything else is still. Every scene is
seeded. :func:`render_world` returns the image and masks; :func:`hard_case` draws the benchmark's named cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dl_lightning.data.synthetic.landscape import fbm, fbm_1d, lerp, smoothstep
from dl_lightning.data.synthetic.photo_world_parts import (
    _bare_tree,
    _camera,
    _Canvas,
    _conifer,
    _dome,
    _foreground,
    _jitter,
    _leafy_tree,
    _structure_colour,
    _tower,
)

#: Sky palettes: name -> (zenith, horizon) RGB in [0, 1]; each scene jitters its palette.
SKIES = {
    "day": ((0.22, 0.45, 0.85), (0.72, 0.83, 0.95)),
    "sunset": ((0.25, 0.22, 0.50), (1.00, 0.55, 0.25)),
    "overcast": ((0.62, 0.64, 0.68), (0.80, 0.81, 0.83)),
    "storm": ((0.20, 0.24, 0.32), (0.48, 0.52, 0.60)),
    "dusk": ((0.30, 0.30, 0.62), (0.92, 0.62, 0.70)),
    "night": ((0.02, 0.03, 0.10), (0.10, 0.12, 0.22)),
}
#: What :func:`render_world` can put in a scene (``kinds``), each drawn with its probability.
KINDS = ("hills", "water", "beach", "city", "towers", "domes", "masts", "bare_trees", "trees", "conifers",
         "boats", "pier", "dark_clouds", "foreground")  # fmt: skip
_P = dict(hills=0.7, water=0.5, beach=0.25, city=0.25, towers=0.35, domes=0.2, masts=0.2, bare_trees=0.3,
          trees=0.35, conifers=0.3, boats=0.25, pier=0.15, dark_clouds=0.35, foreground=0.4)  # fmt: skip


@dataclass
class WorldRender:
    """``image`` (H, W, 3) float32 in [0, 1] (after the camera); ``moving`` (H, W) bool (sky, clouds, water);
    ``structures`` (H, W) bool: the still things drawn against the sky or water (towers, domes, trees, boats,
    piers, masts), a subset of ``~moving``; ``dark_clouds`` (H, W) bool: clouds darker than their sky (moving)."""

    image: np.ndarray
    moving: np.ndarray
    structures: np.ndarray
    dark_clouds: np.ndarray


def _sky(c: _Canvas, rng: np.random.Generator, mode: str, horizon: float, dark_clouds: bool):
    """Sky and clouds over the whole frame: (image, dark-cloud mask)."""
    zen, hor = (_jitter(rng, v, 0.05) for v in SKIES[mode])
    g = np.clip(c.y / max(horizon, 0.05), 0, 1)[..., None] ** rng.uniform(0.8, 2.0)
    sky = lerp(zen[None, None], hor[None, None], g) * np.ones((1, c.w, 1), np.float32)
    if mode in ("day", "sunset", "dusk") and rng.random() < 0.5:
        sx, sy = rng.uniform(0.1, 0.9), horizon * rng.uniform(0.3, 0.95)
        d2 = (c.x - sx) ** 2 + ((c.y - sy) * c.h / c.w) ** 2
        sun = np.exp(-d2 / rng.uniform(0.003, 0.03)) * 0.5 + (d2 < rng.uniform(2e-4, 1.5e-3))
        sky = sky + sun[..., None] * _jitter(rng, (1.0, 0.85, 0.6))
    lat = [rng.random((24, 24)).astype(np.float32) for _ in range(5)]
    stretch = rng.uniform(1.5, 4.0)
    n = fbm(lat, c.x * np.ones_like(c.y), c.y * stretch * np.ones_like(c.x), rng.uniform(2.0, 5.0))
    cover = {"overcast": 0.8, "storm": 0.85}.get(mode, rng.uniform(0.0, 0.7))
    dens = smoothstep(1 - cover, 1 - cover + rng.uniform(0.08, 0.3), n)
    shade = 0.7 + 0.6 * (n[..., None] - 0.5)
    if mode == "storm" or (dark_clouds and rng.random() < 0.5):
        cloud = sky * rng.uniform(0.35, 0.7) * shade  # darker than the sky behind them
        dark = dens > 0.5
    else:
        lit = {"sunset": (1.0, 0.6, 0.4), "dusk": (0.9, 0.6, 0.7), "night": (0.15, 0.16, 0.22)}.get(
            mode, (0.95, 0.95, 0.97)
        )
        cloud = _jitter(rng, lit)[None, None] * shade
        dark = np.zeros((c.h, c.w), bool)
    sky = lerp(sky, cloud, dens[..., None] * rng.uniform(0.7, 1.0))
    if dark_clouds:  # separate dark masses inside the sky (a storm cell, a dark cloud in a sunset)
        for _ in range(int(rng.integers(1, 4))):
            cx, cy = rng.uniform(0.1, 0.9), rng.uniform(0.05, horizon * 0.8)
            rx, ry = rng.uniform(0.05, 0.25), rng.uniform(0.03, 0.12)
            nb = fbm(lat[1:], c.x * 2 * np.ones_like(c.y), c.y * 2 * np.ones_like(c.x), 4.0)
            blob = ((c.x - cx) / rx) ** 2 + ((c.y - cy) / ry) ** 2 + 0.8 * (nb - 0.5) < 1
            blob &= c.y < horizon
            tone = rng.uniform(0.15, 0.5)
            sky = np.where(blob[..., None], sky * tone + (1 - tone) * 0.05 * shade, sky)
            dark |= blob
    return sky.astype(np.float32), dark


#: How much light the land gets under each sky (1 where not named).
_LAND_LIGHT = {"night": 0.15, "storm": 0.5, "dusk": 0.45, "sunset": 0.4, "overcast": 0.75}


def _land_colour(rng: np.random.Generator, mode: str) -> np.ndarray:
    base = rng.choice(
        [(0.25, 0.40, 0.15), (0.40, 0.38, 0.22), (0.35, 0.33, 0.32), (0.55, 0.50, 0.35), (0.2, 0.3, 0.25)]
    )
    return (_jitter(rng, base) * _LAND_LIGHT.get(mode, 1.0)).astype(np.float32)


def _water(c: _Canvas, rng, sky: np.ndarray, horizon: float, far: float, shore: np.ndarray) -> np.ndarray:
    """Water from the far shore ``far`` down to ``shore`` (per column): what stands above the horizon (``sky``:
    the sky with the land drawn so far) mirrored about it, darkened, with waves. Returns the water mask (H, W)."""
    m = (c.y >= far) & (c.y < shore[None, :])
    rows = np.clip(np.round((2 * horizon - c.y[:, 0]) * c.h - 0.5), 0, c.h - 1).astype(int)
    waves = fbm([rng.random((8, 48)).astype(np.float32) for _ in range(3)], c.x * np.ones_like(c.y),
                c.y * 12 * np.ones_like(c.x), 6.0)  # fmt: skip
    calm = rng.random() < 0.35  # a still lake: a near-perfect mirror, as common in photos as rough water
    refl = sky[rows] * (rng.uniform(0.8, 1.0) if calm else rng.uniform(0.5, 0.9))
    tint = _jitter(rng, (0.1, 0.22, 0.3))
    chop = rng.uniform(0.0, 0.06) if calm else rng.uniform(0.1, 0.4)
    mix = rng.uniform(0.0, 0.15) if calm else rng.uniform(0.2, 0.6)
    water = lerp(refl, tint[None, None] * np.ones_like(refl), mix) * (1 - chop / 2 + chop * waves[..., None])
    c.img = np.where(m[..., None], water, c.img).astype(np.float32)
    return m


def render_world(
    seed: int,
    size: int | tuple[int, int],
    supersample: int = 2,
    mode: str | None = None,
    kinds: dict[str, bool] | None = None,
    camera: bool = True,
    tower_widths: tuple[float, ...] = (),
    extras: bool = False,
    haze: bool = False,
) -> WorldRender:
    """One seeded photo-like scene.

    Args:
        seed: the scene's seed.
        size: side, or (height, width), in pixels.
        supersample: drawn at ``supersample`` x and box-filtered down; masks by majority of the sub-pixels.
        mode: a sky of :data:`SKIES`, or None for a random one.
        kinds: what to include (:data:`KINDS` -> bool); missing kinds are drawn with their own probability.
        camera: apply the camera (:func:`_camera`); off for exact hard cases.
        tower_widths: towers of these widths (px at a 1024 px short side) standing on the land, spread across.
        extras: draw the extras (water to the bottom edge, reeds, glare, a shallow depth of field), from their
            own random stream (module docstring).
        haze: distant land in haze, from its own random stream (module docstring).
    """
    rng = np.random.default_rng([seed, 37])
    rx = np.random.default_rng([seed, 37, 2]) if extras else None
    rh = np.random.default_rng([seed, 37, 3]) if haze else None
    h, w = (size, size) if isinstance(size, int) else size
    c = _Canvas(h * supersample, w * supersample)
    mode = mode or str(rng.choice(list(SKIES), p=[0.35, 0.17, 0.15, 0.13, 0.1, 0.1]))
    has = {k: bool(rng.random() < p) for k, p in _P.items()} | (kinds or {})
    horizon = rng.uniform(0.35, 0.8)
    sky, dark = _sky(c, rng, mode, horizon, has["dark_clouds"] or mode == "storm")
    c.img = sky.copy()
    sky_luma = float(sky[: int(horizon * c.h)].mean())
    # land: a horizon line, hills above it, the near ground below (water replaces part of it)
    ground_top = np.full(c.w, horizon, np.float32)
    # the sky just above the horizon, per column: what haze mixes distant land towards
    sky_at_horizon = sky[max(int(horizon * c.h) - 1, 0)][None]
    if has["hills"]:
        for i in range(int(rng.integers(1, 3))):
            prof = horizon - rng.uniform(0.03, 0.25) * (0.5 + fbm_1d(rng, c.x[0], base_freq=rng.uniform(1, 4)))
            hill = c.y >= prof[None, :]
            colour = _land_colour(rng, mode)
            if rh is not None and rh.random() < 0.7:  # the farther layer (drawn first) hazier
                colour = lerp(colour, sky_at_horizon, rh.uniform(0.3, 0.85) * (1.0 if i == 0 else rh.uniform(0.2, 0.7)))
            hill = np.broadcast_to(hill & (c.y < horizon + 0.01), c.still.shape)
            c.paint(hill, np.broadcast_to(colour, c.img.shape)[hill], structure=False)
            ground_top = np.minimum(ground_top, prof.astype(np.float32))
    if rh is not None and rh.random() < 0.4:
        _tree_line(c, rh, ground_top, sky_at_horizon, mode)
    land_col = _land_colour(rng, mode)
    lat = [rng.random((32, 32)).astype(np.float32) for _ in range(4)]
    tex = 0.75 + 0.5 * fbm(lat, c.x * np.ones_like(c.y), c.y * 4 * np.ones_like(c.x), 6.0)[..., None]
    c.img = np.where((c.y >= horizon)[..., None], land_col * tex, c.img).astype(np.float32)
    c.still |= np.broadcast_to(c.y >= horizon, c.still.shape)
    water = np.zeros(c.still.shape, bool)
    if has["water"]:
        far = horizon + (rng.uniform(0.004, 0.02) if rng.random() < 0.6 else 0.0)  # a far shore, or the open sea
        shore = far + rng.uniform(0.1, 1.0 - far) + 0.03 * fbm_1d(rng, c.x[0])
        if has["beach"]:
            shore = np.minimum(shore, 0.97)
        elif rx is not None and rx.random() < 0.4:  # water up to the frame's bottom edge
            shore = np.full_like(shore, 1.1)
        water = _water(c, rng, c.img if rng.random() < 0.7 else sky, horizon, far, shore)
        c.still &= ~water
        if rx is not None and rx.random() < 0.3:
            _reeds(c, rx, water, horizon)
        if has["beach"]:
            sand = (c.y >= shore[None, :]) & ~water
            c.img[sand] = _jitter(rng, (0.78, 0.7, 0.52)) * {"night": 0.2}.get(mode, 1.0)
            foam = (np.abs(c.y - shore[None, :]) < c.px(rng.uniform(2, 6)) * c.w / c.h) & water
            c.img[foam] = 0.95
    col = lambda: _structure_colour(rng, mode, sky_luma)  # noqa: E731
    base_at = lambda x: float(ground_top[min(int(x * c.w), c.w - 1)]) + 0.005  # noqa: E731
    if has["city"]:  # a skyline of blocks along the horizon
        x = rng.uniform(-0.1, 0.3)
        end = rng.uniform(0.6, 1.1)
        colour = col()
        while x < end:
            bw = rng.uniform(0.02, 0.08)
            top = horizon - rng.uniform(0.02, 0.2)
            c.paint(c.rect(x, x + bw, top, horizon + 0.01), np.clip(colour * rng.uniform(0.8, 1.2), 0, 1))
            if rng.random() < 0.3:  # a gable
                gh = bw * rng.uniform(0.2, 0.5) * c.w / c.h
                mid = x + bw / 2
                c.paint((c.y < top) & (c.y >= top - gh) & (np.abs(c.x - mid) <= bw / 2 * (c.y - top + gh) / gh), colour)
            x += bw + rng.uniform(-0.01, 0.02)
    widths = list(tower_widths) or (
        [float(rng.uniform(3, 30)) for _ in range(int(rng.integers(1, 4)))] if has["towers"] else []
    )
    for i, tw in enumerate(widths):
        x = (i + 0.5) / len(widths) + rng.uniform(-0.3, 0.3) / len(widths)
        _tower(c, rng, x, base_at(x), tw, col(), minaret=bool(rng.random() < 0.5))
    if has["domes"]:
        for _ in range(int(rng.integers(1, 3))):
            x = rng.uniform(0.1, 0.9)
            _dome(c, rng, x, base_at(x), col())
    if has["masts"]:
        for _ in range(int(rng.integers(1, 4))):
            x = rng.uniform(0.05, 0.95)
            top = base_at(x) - rng.uniform(0.1, 0.4)
            c.paint(c.segment((x, base_at(x)), (x, top), c.px(rng.uniform(1, 3))), col())
    for kind, n in (("bare_trees", 4), ("trees", 6), ("conifers", 10)):
        if not has[kind]:
            continue
        for _ in range(int(rng.integers(1, n + 1))):
            x = rng.uniform(0.0, 1.0)
            base, height = base_at(x), rng.uniform(0.06, 0.35)
            colour = _jitter(rng, (0.1, 0.18, 0.08)) if kind != "bare_trees" else _jitter(rng, (0.15, 0.12, 0.1))
            colour = colour if mode not in ("night", "sunset", "dusk") else colour * 0.4
            if kind == "bare_trees":
                _bare_tree(c, rng, x, base, height, colour)
            elif kind == "trees":
                _leafy_tree(c, rng, x, base, height, colour, lat)
            else:
                _conifer(c, x, base, height, colour)
    if has["water"] and has["boats"]:
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.uniform(0.1, 0.9), horizon + rng.uniform(0.02, 0.25) * (1 - horizon)
            bw, bh = rng.uniform(0.03, 0.12), rng.uniform(0.01, 0.03)
            hull = (c.y >= y) & (c.y < y + bh) & (np.abs(c.x - x) <= bw / 2 * (1 - 0.4 * (c.y - y) / bh))
            colour = col()
            c.paint(hull, colour)
            if rng.random() < 0.6:
                c.paint(c.segment((x, y), (x, y - rng.uniform(0.05, 0.25)), c.px(rng.uniform(1, 4))), colour)
    if has["water"] and has["pier"]:
        y = horizon + rng.uniform(0.05, 0.3) * (1 - horizon)
        x0, x1 = sorted(rng.uniform(-0.1, 1.1, 2))
        th = c.px(rng.uniform(4, 20)) * c.w / c.h
        colour = col()
        c.paint(c.rect(x0, x1, y, y + th), colour)
        for px in np.arange(x0, x1, rng.uniform(0.03, 0.1)):
            c.paint(c.rect(px, px + c.px(4), y, y + th * 3), colour)
    if has["foreground"]:
        before = c.img.copy()
        _foreground(c, rng, mode)
        if rx is not None:
            _near_ground_light(c, rx, np.any(c.img != before, -1))
    moving = ~c.still
    img = c.img
    if supersample > 1:
        k = supersample
        img = img.reshape(h, k, w, k, 3).mean((1, 3))
        moving = moving.reshape(h, k, w, k).mean((1, 3)) > 0.5
        structures = c.structures.reshape(h, k, w, k).mean((1, 3)) > 0.5
        dark = dark.reshape(h, k, w, k).mean((1, 3)) > 0.5
    else:
        structures = c.structures
    img = np.clip(img, 0, 1).astype(np.float32)
    if camera:
        img = _camera(rng, img)
    return WorldRender(img, moving, structures & ~moving, dark & moving)


def _tree_line(c, rng: np.random.Generator, ground_top: np.ndarray, sky_at_horizon: np.ndarray, mode: str) -> None:
    """A distant tree line on the land's top edge over part of the width: a band 0.4-3% of the height with a
    crowned top, dark or hazed towards the sky (``sky_at_horizon`` (1, W, 3)); land, so still."""
    x0 = rng.uniform(-0.3, 0.6)
    x1 = x0 + rng.uniform(0.3, 1.2)
    height = rng.uniform(0.004, 0.03)
    crowns = 0.5 + fbm_1d(rng, c.x[0], octaves=4, base_freq=rng.uniform(20, 60))  # in [0, 1]
    top = ground_top - height * (0.4 + 0.6 * crowns)
    band = (c.y >= top[None, :]) & (c.y < ground_top[None, :] + 0.005) & (c.x >= x0) & (c.x < x1)
    colour = lerp(_jitter(rng, (0.1, 0.18, 0.08)) * _LAND_LIGHT.get(mode, 1.0), sky_at_horizon, rng.uniform(0.0, 0.75))
    c.paint(band, np.broadcast_to(colour, c.img.shape)[band], structure=False)


def _reeds(c, rng: np.random.Generator, water: np.ndarray, horizon: float) -> None:
    """A bed of reeds standing in the water (still): thin dark or sunlit strokes, rising a little above it."""
    x0 = rng.uniform(0.0, 0.8)
    x1 = x0 + rng.uniform(0.1, 0.4)
    y = horizon + rng.uniform(0.05, 0.5) * (1 - horizon)
    colour = _jitter(rng, rng.choice([(0.15, 0.12, 0.08), (0.55, 0.45, 0.3)]), 0.1)
    for x in rng.uniform(x0, x1, int(rng.integers(20, 80))):
        top = y - rng.uniform(0.01, 0.08)
        stem = c.segment((x, y + rng.uniform(0, 0.02)), (x + rng.uniform(-0.01, 0.01), top), c.px(rng.uniform(0.7, 2)))
        c.paint(stem & (water | (c.y < y)), colour)


def _near_ground_light(c, rng: np.random.Generator, near: np.ndarray) -> None:
    """Sun glare on the near ground (a warm bright patch) and, sometimes, the near ground out of focus."""
    from scipy import ndimage

    if not near.any():
        return
    if rng.random() < 0.5:
        gx, gy, r = rng.uniform(0.1, 0.9), rng.uniform(0.6, 1.0), rng.uniform(0.1, 0.4)
        glow = np.exp(-((c.x - gx) ** 2 + ((c.y - gy) * c.h / c.w) ** 2) / r**2)
        warm = _jitter(rng, (1.0, 0.85, 0.55), 0.1)
        c.img = np.where(near[..., None], c.img * (1 + rng.uniform(0.5, 1.5) * glow[..., None] * warm), c.img)
    if rng.random() < 0.5:
        s = rng.uniform(0.005, 0.02) * c.w
        soft = ndimage.gaussian_filter(c.img, (s, s, 0))
        c.img = np.where(near[..., None], soft, c.img).astype(np.float32)


#: The benchmark's synthetic hard cases: name -> (seed, sky, kinds, tower widths in px at 1024). Towers 3-30 px
#: wide with minarets and domes against cloudy skies, dark storm clouds (and cells inside a lighter sky), bare trees,
#: a city skyline.
_NONE = dict.fromkeys(KINDS, False)
HARD_CASES = {
    "towers": (1, "day", {**_NONE, "domes": True}, (3, 5, 8, 12, 20, 30)),
    "towers_overcast": (2, "overcast", {**_NONE, "hills": True}, (3, 6, 10, 16, 24, 30)),
    "domes_sunset": (3, "sunset", {**_NONE, "domes": True, "towers": True}, ()),
    "storm": (4, "storm", {**_NONE, "dark_clouds": True, "hills": True}, ()),
    "dark_cells": (5, "day", {**_NONE, "dark_clouds": True, "water": True}, ()),
    "bare_trees": (6, "overcast", {**_NONE, "bare_trees": True}, ()),
    "skyline": (7, "dusk", {**_NONE, "city": True, "water": True, "masts": True}, ()),
}


def hard_case(name: str, size: int) -> WorldRender:
    """Hard case ``name`` of :data:`HARD_CASES` at ``size`` px (supersampled 2x up to 256 px), with the camera."""
    seed, mode, kinds, widths = HARD_CASES[name]
    return render_world(seed, size, supersample=2 if size <= 256 else 1, mode=mode, kinds=kinds, tower_widths=widths)
