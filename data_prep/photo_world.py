"""Photo-like scenes with their moving region: the photo segmenter's training world and the hard cases.

The GAN's world (:mod:`data_prep.synthetic`) has ridges, grass, conifers and a lake. Real photos hold more, and a
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
  blur, noise and JPEG.

Moving = sky (clouds, sun) and water, as DeepLandscape animates them; everything else is still. Every scene is
seeded. :func:`render_world` returns the image and masks; :func:`hard_case` draws the benchmark's named cases.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from data_prep.synthetic import fbm, fbm_1d, lerp, smoothstep

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
#: The near ground's kinds (``foreground``), drawn over the lower part of the frame, still.
FOREGROUNDS = ("boards", "road", "gravel", "rocks")


@dataclass
class WorldRender:
    """``image`` (H, W, 3) float32 in [0, 1] (after the camera); ``moving`` (H, W) bool (sky, clouds, water);
    ``structures`` (H, W) bool: the still things drawn against the sky or water (towers, domes, trees, boats,
    piers, masts), a subset of ``~moving``; ``dark_clouds`` (H, W) bool: clouds darker than their sky (moving)."""

    image: np.ndarray
    moving: np.ndarray
    structures: np.ndarray
    dark_clouds: np.ndarray


class _Canvas:
    """Pixel grids (x, y in image units of the frame's width and height) and the scene's layers while drawing."""

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.y = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]
        self.x = ((np.arange(w, dtype=np.float32) + 0.5) / w)[None, :]
        self.img = np.zeros((h, w, 3), np.float32)
        self.still = np.zeros((h, w), bool)
        self.structures = np.zeros((h, w), bool)

    def px(self, n: float) -> float:
        """``n`` pixels of a 1024 px short side, in units of the width."""
        return n / 1024 * min(self.h, self.w) / self.w

    def paint(self, m: np.ndarray, colour, structure: bool = True) -> None:
        m = np.broadcast_to(m, (self.h, self.w))
        self.img[m] = colour
        self.still |= m
        if structure:
            self.structures |= m

    def rect(self, x0, x1, y0, y1) -> np.ndarray:
        return (self.x >= x0) & (self.x < x1) & (self.y >= y0) & (self.y < y1)

    def segment(self, a, b, r) -> np.ndarray:
        """Pixels within ``r`` (width units, y scaled to match) of the segment a-b, inside its bounding box."""
        out = np.zeros((self.h, self.w), bool)
        asp = self.h / self.w
        x0, x1 = sorted((a[0], b[0]))
        y0, y1 = sorted((a[1], b[1]))
        c0, c1 = max(0, int((x0 - r) * self.w) - 1), min(self.w, int((x1 + r) * self.w) + 2)
        r0, r1 = max(0, int((y0 - r / asp) * self.h) - 1), min(self.h, int((y1 + r / asp) * self.h) + 2)
        if c0 >= c1 or r0 >= r1:
            return out
        px, py = self.x[:, c0:c1], self.y[r0:r1] * asp
        ax, ay, bx, by = a[0], a[1] * asp, b[0], b[1] * asp
        dx, dy = bx - ax, by - ay
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
        out[r0:r1, c0:c1] = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2 <= r * r
        return out


def _jitter(rng: np.random.Generator, colour, amount: float = 0.08) -> np.ndarray:
    return np.clip(np.asarray(colour, np.float32) + rng.normal(0, amount, 3), 0, 1).astype(np.float32)


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


def _land_colour(rng: np.random.Generator, mode: str) -> np.ndarray:
    base = rng.choice(
        [(0.25, 0.40, 0.15), (0.40, 0.38, 0.22), (0.35, 0.33, 0.32), (0.55, 0.50, 0.35), (0.2, 0.3, 0.25)]
    )
    light = {"night": 0.15, "storm": 0.5, "dusk": 0.45, "sunset": 0.4, "overcast": 0.75}.get(mode, 1.0)
    return (_jitter(rng, base) * light).astype(np.float32)


def _structure_colour(rng: np.random.Generator, mode: str, sky_luma: float) -> np.ndarray:
    """Silhouette at sunset and night; else lit: sometimes brighter than the sky, sometimes darker."""
    if mode in ("night", "sunset", "dusk") and rng.random() < 0.7:
        return _jitter(rng, (0.06, 0.05, 0.07), 0.03)
    if rng.random() < 0.35:
        return np.clip(_jitter(rng, (0.9, 0.88, 0.82), 0.05) * max(sky_luma + 0.2, 0.5), 0, 1)
    return _jitter(rng, rng.choice([(0.45, 0.40, 0.35), (0.6, 0.55, 0.5), (0.3, 0.3, 0.32), (0.55, 0.3, 0.2)]), 0.1)


def _tower(c: _Canvas, rng, x: float, base: float, width_px: float, colour, minaret: bool) -> None:
    w = c.px(width_px)
    top = base - rng.uniform(4, 25) * w * c.w / c.h - rng.uniform(0.02, 0.1)
    top = max(top, 0.04)
    c.paint(c.rect(x - w / 2, x + w / 2, top, base + 0.01), colour)
    if minaret:  # a balcony a little wider, then a cone
        by = top + (base - top) * rng.uniform(0.15, 0.35)
        c.paint(c.rect(x - w * 0.8, x + w * 0.8, by, by + c.px(max(2.0, width_px * 0.3)) * c.w / c.h), colour)
    if minaret or rng.random() < 0.4:
        ch = rng.uniform(1.5, 4) * w * c.w / c.h
        cone = (c.y < top) & (c.y >= top - ch) & (np.abs(c.x - x) <= w / 2 * (c.y - (top - ch)) / ch)
        c.paint(cone, colour)
        c.paint(c.segment((x, top - ch * 1.6), (x, top - ch), max(c.px(1.0), 0.5 / c.w)), colour)


def _dome(c: _Canvas, rng, x: float, base: float, colour) -> None:
    rw = rng.uniform(0.03, 0.12)
    body = rng.uniform(0.02, 0.1)
    c.paint(c.rect(x - rw, x + rw, base - body, base + 0.01), colour)
    rh = rw * rng.uniform(0.7, 1.3) * c.w / c.h
    top = base - body
    dome = ((c.x - x) / (rw * 0.9)) ** 2 + ((c.y - top) / rh) ** 2 <= 1
    c.paint(dome & (c.y <= top), colour * rng.uniform(0.8, 1.2))
    c.paint(c.segment((x, top - rh * 1.35), (x, top - rh * 0.9), c.px(2.0)), colour)


def _bare_tree(c: _Canvas, rng, x: float, base: float, height: float, colour) -> None:
    def branch(a, angle, length, r, depth):
        b = (a[0] + np.cos(angle) * length * c.h / c.w, a[1] - np.sin(angle) * length)
        c.paint(c.segment(a, b, r), colour)
        if depth > 0:
            for _ in range(int(rng.integers(2, 4))):
                branch(b, angle + rng.uniform(-0.7, 0.7), length * rng.uniform(0.55, 0.8), r * 0.65, depth - 1)

    branch(
        (x, base), np.pi / 2 + rng.uniform(-0.1, 0.1), height * 0.4, c.px(rng.uniform(3, 12)), int(rng.integers(3, 6))
    )


def _leafy_tree(c: _Canvas, rng, x: float, base: float, height: float, colour, lat) -> None:
    trunk = c.px(rng.uniform(3, 10))
    c.paint(c.rect(x - trunk / 2, x + trunk / 2, base - height * 0.5, base + 0.01), colour * 0.7)
    cy, r = base - height * 0.65, height * 0.35
    n = fbm(lat, c.x * np.ones_like(c.y), c.y * np.ones_like(c.x), 20.0)
    crown = ((c.x - x) * c.w / c.h / r) ** 2 + ((c.y - cy) / r) ** 2 + 0.9 * (n - 0.5) < 1
    c.paint(crown, colour)


def _conifer(c: _Canvas, x: float, base: float, height: float, colour) -> None:
    half = height * 0.25 * c.h / c.w
    tri = (c.y <= base) & (c.y >= base - height) & (np.abs(c.x - x) <= half * (c.y - (base - height)) / height)
    c.paint(tri, colour)


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


def _foreground(c: _Canvas, rng, mode: str) -> None:
    """Near ground over the frame's lower part (still): boards in perspective, a road with lane lines and a
    guardrail, gravel, or rocks."""
    kind = FOREGROUNDS[int(rng.integers(len(FOREGROUNDS)))]
    light = {"night": 0.2, "storm": 0.5, "dusk": 0.5, "sunset": 0.55, "overcast": 0.8}.get(mode, 1.0)
    top = rng.uniform(0.55, 0.9)
    tilt = rng.uniform(-0.3, 0.3)
    edge = top + tilt * (c.x - 0.5)  # (1, W): the near ground's upper edge, maybe slanted
    m = np.broadcast_to(c.y >= edge, (c.h, c.w))
    yy, xx = np.broadcast_arrays(c.y, c.x)
    if kind == "boards":
        base = _jitter(rng, rng.choice([(0.6, 0.48, 0.32), (0.45, 0.45, 0.45), (0.5, 0.55, 0.6)]), 0.1)
        freq, slope = rng.uniform(8, 30), rng.uniform(-0.6, 0.6)
        phase = (yy - edge + slope * (xx - 0.5)) / np.maximum(yy - edge + 0.05, 0.05) * freq * 0.2 + yy * freq
        gaps = (np.mod(phase, 1.0) < rng.uniform(0.06, 0.15))[..., None]
        grain = fbm([rng.random((16, 64)).astype(np.float32) for _ in range(3)], xx, yy * 8, 12.0)[..., None]
        colour = base * (0.75 + 0.5 * grain) * np.where(gaps, 0.35, 1.0)
    elif kind == "road":
        colour = np.broadcast_to(_jitter(rng, (0.25, 0.26, 0.28), 0.05), (c.h, c.w, 3)).copy()
        for lane in rng.uniform(0, 1, int(rng.integers(1, 3))):
            y0 = top + (1 - top) * lane
            line = np.abs(yy - y0 - tilt * (xx - 0.5)) < c.px(rng.uniform(2, 8)) * c.w / c.h
            colour[line] = _jitter(rng, (0.9, 0.9, 0.85), 0.05)
        if rng.random() < 0.6:  # a guardrail: two metal bands along the road's top
            for dy in (0.0, rng.uniform(0.02, 0.05)):
                band = np.abs(yy - edge - dy) < rng.uniform(0.005, 0.015)
                colour[band] = _jitter(rng, (0.7, 0.72, 0.75), 0.05)
    elif kind == "gravel":
        lat = [rng.random((96, 96)).astype(np.float32) for _ in range(2)]
        n = fbm(lat, xx * 3, yy * 3, 40.0)[..., None]
        colour = _jitter(rng, rng.choice([(0.45, 0.45, 0.47), (0.55, 0.5, 0.42), (0.3, 0.32, 0.35)])) * (0.5 + n)
    else:  # rocks: large dark blobs over lighter ground
        lat = [rng.random((12, 12)).astype(np.float32) for _ in range(3)]
        n = fbm(lat, xx, yy * 2, 5.0)[..., None]
        colour = _jitter(rng, (0.4, 0.38, 0.35)) * np.where(n > 0.55, 0.5, 1.0) * (0.8 + 0.4 * n)
    c.paint(m, (np.asarray(colour, np.float32) * light)[m], structure=False)


def _grade(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """A photographer's colour grade, sometimes: teal shadows and orange highlights, a blue cast, or a faded look."""
    r = rng.random()
    if r < 0.15:
        luma = img.mean(-1, keepdims=True)
        return img + (1 - luma) * np.array([-0.06, 0.02, 0.08]) + luma * np.array([0.08, 0.02, -0.08])
    if r < 0.3:
        return img * np.array([0.8, 0.95, 1.2])
    if r < 0.4:
        return 0.2 + 0.7 * img
    return img


def _camera(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Exposure, white balance, gamma, vignetting, blur, noise and JPEG, each drawn per scene."""
    from scipy import ndimage

    h, w = img.shape[:2]
    img = _grade(rng, img * rng.uniform(0.6, 1.4) * rng.uniform(0.85, 1.15, 3))
    img = np.clip(img, 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w]
        r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) / 0.5
        img = img * (1 - rng.uniform(0.1, 0.5) * r2)[..., None]
    if rng.random() < 0.4:
        s = rng.uniform(0.3, 1.2) * min(h, w) / 256
        img = ndimage.gaussian_filter(img, (s, s, 0))
    img = img + rng.normal(0, rng.uniform(0, 0.03), img.shape)
    img = np.clip(img, 0, 1)
    if rng.random() < 0.6:
        buf = io.BytesIO()
        Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(40, 95)))
        img = np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255
    return img.astype(np.float32)


def render_world(
    seed: int,
    size: int | tuple[int, int],
    supersample: int = 2,
    mode: str | None = None,
    kinds: dict[str, bool] | None = None,
    camera: bool = True,
    tower_widths: tuple[float, ...] = (),
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
    """
    rng = np.random.default_rng([seed, 37])
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
    if has["hills"]:
        for _ in range(int(rng.integers(1, 3))):
            prof = horizon - rng.uniform(0.03, 0.25) * (0.5 + fbm_1d(rng, c.x[0], base_freq=rng.uniform(1, 4)))
            hill = c.y >= prof[None, :]
            c.paint(hill & (c.y < horizon + 0.01), _land_colour(rng, mode), structure=False)
            ground_top = np.minimum(ground_top, prof.astype(np.float32))
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
        water = _water(c, rng, c.img if rng.random() < 0.7 else sky, horizon, far, shore)
        c.still &= ~water
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
        _foreground(c, rng, mode)
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
