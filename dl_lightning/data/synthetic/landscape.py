"""Procedural landscape time-lapses: the embedded default dataset.

Each scene has the structure DeepLandscape models:

* static content (never moves within a video): 1-3 mountain ridges, ground,
  conifer trees, an optional lake whose shore is fixed;
* dynamic content: two cloud layers drifting at different speeds (so they also
  deform), and water that reflects the sky/mountains with moving ripples;
* global lighting: a time of day ``tau`` in [0, 1) (0 = midnight, 0.25 = dawn,
  0.5 = noon, 0.75 = dusk) that sets sky colours, sun position and the
  shading of the land, changing smoothly across a video.

``render_scene`` returns float RGB frames in [0, 1] of shape (T, H, W, 3) and
the dynamic mask (H, W) (True for sky and water); ``render`` also returns each frame's class map
(sky, cloud, ridge, grass, water, tree: :data:`dl_lightning.data.scenes.CLASSES`) and the scene's
parameters as plain numbers (:func:`scene_labels`), which the dataset stores with every sample. Everything
is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dl_lightning.data.scenes import CLASSES

SKY, CLOUD, RIDGE, GRASS, WATER, TREE = (CLASSES.index(c) for c in ("sky", "cloud", "ridge", "grass", "water", "tree"))

# ---------------------------------------------------------------- noise


def value_noise(lattice: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Periodic 2-D value noise: bilinear (smoothstep) interpolation of ``lattice`` at (u, v) lattice units."""
    n_v, n_u = lattice.shape
    u0, v0 = np.floor(u), np.floor(v)
    fu, fv = u - u0, v - v0
    fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    i0, j0 = u0.astype(np.int64) % n_u, v0.astype(np.int64) % n_v
    i1, j1 = (i0 + 1) % n_u, (j0 + 1) % n_v
    top = lattice[j0, i0] * (1 - fu) + lattice[j0, i1] * fu
    bottom = lattice[j1, i0] * (1 - fu) + lattice[j1, i1] * fu
    return top * (1 - fv) + bottom * fv


def fbm(lattices: list[np.ndarray], x: np.ndarray, y: np.ndarray, base_freq: float) -> np.ndarray:
    """Fractal sum of value-noise octaves at (x, y) in image units ([0,1] = frame width); output ~[0, 1]."""
    total, weight, norm = 0.0, 1.0, 0.0
    for k, lat in enumerate(lattices):
        f = base_freq * 2**k
        total = total + weight * value_noise(lat, x * f, y * f)
        norm += weight
        weight *= 0.5
    return total / norm


def fbm_1d(rng: np.random.Generator, x: np.ndarray, octaves: int = 5, base_freq: float = 2.0) -> np.ndarray:
    """A random 1-D fractal profile over x in [0, 1]; output ~[-0.5, 0.5]."""
    lattices = [rng.random((1, 64)) for _ in range(octaves)]
    prof = fbm(lattices, x, np.zeros_like(x), base_freq)
    return (prof - prof.min()) / max(float(np.ptp(prof)), 1e-6) - 0.5


def smoothstep(e0: float, e1: float, x: np.ndarray | float) -> np.ndarray:
    t = np.clip((np.asarray(x) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def lerp(a, b, t):
    return a + (b - a) * t


# ---------------------------------------------------------------- lighting


@dataclass
class Lighting:
    """Global lighting for one time of day: colours are RGB in [0, 1]."""

    zenith: np.ndarray
    horizon: np.ndarray
    sun: np.ndarray  # colour of direct light
    daylight: float  # 0 at night, 1 at noon
    ambient: float
    sun_x: float  # horizontal sun position in image units
    sun_y: float  # vertical sun position (fraction of horizon height above it)


_NIGHT_Z, _NIGHT_H = np.array([0.02, 0.03, 0.09]), np.array([0.06, 0.07, 0.15])
_TWI_Z, _TWI_H = np.array([0.22, 0.20, 0.45]), np.array([0.98, 0.52, 0.26])
_DAY_Z, _DAY_H = np.array([0.20, 0.45, 0.88]), np.array([0.70, 0.82, 0.95])


def lighting(tau: float, sun_from_left: bool = True) -> Lighting:
    """Sky colours, sun colour and intensity for time of day ``tau`` in [0, 1)."""
    elev = np.sin(2 * np.pi * (tau - 0.25))  # -1 midnight, 0 dawn/dusk, 1 noon
    day = float(smoothstep(-0.05, 0.45, elev))
    twilight = float(np.exp(-((elev / 0.18) ** 2)))  # peaks at dawn/dusk
    zenith = lerp(_NIGHT_Z, _DAY_Z, day)
    horizon = lerp(_NIGHT_H, _DAY_H, day)
    zenith = lerp(zenith, _TWI_Z, 0.6 * twilight)
    horizon = lerp(horizon, _TWI_H, 0.8 * twilight)
    sun = lerp(np.array([1.0, 0.97, 0.92]), np.array([1.0, 0.55, 0.28]), twilight)
    progress = ((tau - 0.25) % 1.0) / 0.5  # 0 at sunrise .. 1 at sunset
    sun_x = 1.2 * progress - 0.1
    if not sun_from_left:
        sun_x = 1.0 - sun_x
    light = max(day, 0.35 * twilight)
    return Lighting(zenith, horizon, sun, light, 0.10 + 0.25 * light, float(sun_x), float(elev))


# ---------------------------------------------------------------- scene


@dataclass
class SceneParams:
    """Everything random about a scene; all in image units (x, y in [0, 1], y down)."""

    horizon: float
    ridges: list[tuple[np.ndarray, np.ndarray]]  # (profile y(x), colour)
    has_water: bool
    shore: np.ndarray  # y of the near shore at each column (== horizon if no water)
    ground: np.ndarray
    ground_far: np.ndarray
    water: np.ndarray
    trees: list[tuple[float, float, float]]  # (x, base y, height)
    cloud_lattices: tuple[list[np.ndarray], list[np.ndarray]]
    cloud_cover: float
    wind: np.ndarray  # (2,) image widths per time unit for layer 1 (layer 2 is 1.6x)
    sun_from_left: bool
    star_lattice: np.ndarray


def sample_scene(rng: np.random.Generator, width: int) -> SceneParams:
    """Draw a random static layout, palette and weather."""
    x = (np.arange(width) + 0.5) / width
    horizon = rng.uniform(0.50, 0.64)
    ridges = []
    n_ridges = int(rng.integers(1, 4))
    for k in range(n_ridges):  # far to near
        base = horizon - rng.uniform(0.02, 0.06)
        height = rng.uniform(0.10, 0.30) * (1.0 - 0.2 * k)
        profile = base - height * (0.5 + fbm_1d(rng, x, base_freq=rng.uniform(1.5, 3.5)))
        hue = rng.uniform(0.0, 1.0)
        colour = np.array([0.25 + 0.15 * hue, 0.30 + 0.10 * rng.random(), 0.35 + 0.15 * (1 - hue)])
        haze = 0.5 * (n_ridges - 1 - k) / max(n_ridges - 1, 1)  # far ridges fade towards the sky
        colour = lerp(colour * 0.7, np.array([0.55, 0.62, 0.75]), haze)
        ridges.append((np.clip(profile, 0.08, horizon), colour))
    has_water = bool(rng.random() < 0.6)
    if has_water:
        depth = rng.uniform(0.08, 0.22)
        shore = horizon + depth + 0.05 * fbm_1d(rng, x, base_freq=2.0)
    else:
        shore = np.full_like(x, horizon)
    greens = np.array([[0.22, 0.42, 0.15], [0.35, 0.45, 0.18], [0.45, 0.40, 0.20], [0.20, 0.35, 0.22]])
    ground = greens[rng.integers(len(greens))] * rng.uniform(0.8, 1.1, 3)
    water = np.array([0.10, 0.22, 0.30]) * rng.uniform(0.8, 1.2, 3)
    trees = []
    for _ in range(int(rng.integers(0, 14))):
        tx = rng.random()
        col = min(int(tx * width), width - 1)
        base = shore[col] + rng.uniform(0.03, 1.0 - shore[col] - 0.02) if shore[col] < 0.95 else shore[col]
        trees.append((tx, float(base), float(rng.uniform(0.06, 0.16) * (0.5 + base))))
    trees.sort(key=lambda t: t[1])  # paint far (higher) trees first
    cloud_lattices = tuple([rng.random((32, 32)) for _ in range(5)] for _ in range(2))
    angle = rng.uniform(-0.35, 0.35) + (np.pi if rng.random() < 0.5 else 0.0)
    speed = rng.uniform(0.01, 0.04)
    return SceneParams(
        horizon=float(horizon),
        ridges=ridges,
        has_water=has_water,
        shore=shore,
        ground=ground,
        ground_far=ground * 0.75 + np.array([0.05, 0.07, 0.1]),
        water=water,
        trees=trees,
        cloud_lattices=cloud_lattices,
        cloud_cover=float(rng.uniform(0.25, 0.75)),
        wind=np.array([np.cos(angle), 0.25 * np.sin(angle)]) * speed,
        sun_from_left=bool(rng.random() < 0.5),
        star_lattice=rng.random((128, 128)),
    )


def _land_layers(p: SceneParams, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Static albedo (H,W,3), land mask (H,W), a shading-slope map (H,W) and which object owns each land pixel
    (H,W) int: ridge k (far to near) is ``k``, the ground ``len(ridges)``, tree j ``len(ridges) + 1 + j``; -1 off
    land."""
    y = ((np.arange(h) + 0.5) / h)[:, None]
    x = ((np.arange(w) + 0.5) / w)[None, :]
    albedo = np.zeros((h, w, 3))
    land = np.zeros((h, w), bool)
    slope = np.zeros((h, w))
    owner = np.full((h, w), -1, np.int64)
    for k, (profile, colour) in enumerate(p.ridges):
        m = y >= profile[None, :]
        m = m & (y < p.horizon + 1e-6)
        grad = np.gradient(profile) * w
        texture = 0.85 + 0.3 * fbm([p.star_lattice[:16, :16]] * 3, x * np.ones_like(y), y * np.ones_like(x), 12.0)
        albedo[m] = (colour[None, None, :] * texture[..., None])[m]
        slope[m] = np.broadcast_to(np.clip(-grad, -3, 3)[None, :], (h, w))[m]
        owner[m] = k
        land |= m
    near = y >= p.shore[None, :]
    if not p.has_water:
        near = y >= p.horizon
    depth = np.clip((y - p.horizon) / max(1 - p.horizon, 1e-3), 0, 1)
    grass = lerp(p.ground_far[None, None, :], p.ground[None, None, :], depth[..., None])
    tex = 0.8 + 0.4 * fbm([p.star_lattice[16:48, :32]] * 4, x * np.ones_like(y), y * 3 * np.ones_like(x), 8.0)
    albedo = np.where(near[..., None], grass * tex[..., None], albedo)
    owner[np.broadcast_to(near, (h, w))] = len(p.ridges)
    land |= near
    for j, (tx, base, th) in enumerate(p.trees):  # conifers: triangle crown + trunk
        half = th * 0.28
        crown = (y <= base - th * 0.15) & (y >= base - th) & (np.abs(x - tx) <= half * (y - (base - th)) / (th * 0.85))
        trunk = (y > base - th * 0.15) & (y <= base) & (np.abs(x - tx) <= half * 0.15)
        albedo[crown] = np.array([0.05, 0.17, 0.07])
        albedo[trunk] = np.array([0.20, 0.12, 0.06])
        slope[crown] = np.broadcast_to(np.sign(x - tx) * 1.5, (h, w))[crown]
        owner[crown | trunk] = len(p.ridges) + 1 + j
        land |= crown | trunk
    return albedo, land, slope, owner


def _sky(p: SceneParams, L: Lighting, h: int, w: int, t: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Sky with sun, stars and clouds at time ``t`` (clouds) and time of day ``tau``: (H,W,3), and the cloud
    density (H,W) in [0, 1]."""
    y = ((np.arange(h) + 0.5) / h)[:, None] * np.ones((1, w))
    x = ((np.arange(w) + 0.5) / w)[None, :] * np.ones((h, 1))
    g = np.clip(y / p.horizon, 0, 1)[..., None] ** 1.5
    sky = lerp(L.zenith[None, None], L.horizon[None, None], g)
    sun_y = p.horizon * (1.0 - 0.9 * max(L.sun_y, -0.2))
    d2 = (x - L.sun_x) ** 2 + (y - sun_y) ** 2
    above = float(smoothstep(-0.15, 0.05, L.sun_y))
    sky = sky + above * L.sun[None, None] * (np.exp(-d2 / 0.02) * 0.35 + (d2 < 0.0012) * 1.0)[..., None]
    stars = (value_noise(p.star_lattice, x * 128, y * 128) > 0.93) * (1 - L.daylight) ** 2
    sky = sky + 0.8 * stars[..., None]
    # two cloud layers moving at different speeds: they drift and change shape
    c1 = fbm(p.cloud_lattices[0], x - p.wind[0] * t, (y - p.wind[1] * t) * 2.5, 3.0)
    c2 = fbm(p.cloud_lattices[1], x - 1.6 * p.wind[0] * t + 0.37, (y - 1.6 * p.wind[1] * t) * 2.5, 4.0)
    density = smoothstep(1.0 - p.cloud_cover, 1.0 - p.cloud_cover + 0.25, 0.6 * c1 + 0.4 * c2)
    density = density * smoothstep(p.horizon + 0.02, p.horizon * 0.6, y)  # thin out near the horizon
    lit = L.ambient * np.array([0.7, 0.72, 0.8]) + L.daylight * L.sun * 0.85
    shade = 0.75 + 0.25 * (c1[..., None] - 0.3)
    clouds = np.clip(lit[None, None] * shade, 0, 1.2)
    return lerp(sky, clouds, density[..., None] * 0.95), density


@dataclass
class Render:
    """One rendered scene: ``frames`` (T, S, S, 3) float32 in [0, 1]; ``dynamic`` (S, S) bool (sky or water);
    ``classes`` (T, S, S) uint8, indices into :data:`CLASSES`; ``scene`` the labels of :func:`scene_labels`."""

    frames: np.ndarray
    dynamic: np.ndarray
    classes: np.ndarray
    scene: dict


#: What ``render(..., without=...)`` can leave out of a scene (the metric's calibration ladder).
REMOVABLE = ("trees", "ridges", "water")


def render(
    seed: int, size: int, taus: np.ndarray, times: np.ndarray, supersample: int = 2, without: tuple[str, ...] = ()
) -> Render:
    """Render one scene at several moments, with its class maps and labels.

    Args:
        seed: scene seed (layout, palette, weather).
        size: output side in pixels.
        taus: (T,) times of day in [0, 1).
        times: (T,) cloud/water clock in arbitrary units (clouds move ``wind`` image widths per unit).
        supersample: render at ``size * supersample`` and box-filter down (anti-aliasing).
        without: parts of :data:`REMOVABLE` to leave out (the same scene otherwise: no trees, sky down to the
            horizon instead of ridges, grass instead of the lake).

    Class maps take, per output pixel, the class covering most of its sub-pixels, except that a tree covering
    any sub-pixel wins: trees 1-2 px wide stay in the map.
    """
    rng = np.random.default_rng(seed)
    n = size * supersample
    p = sample_scene(rng, n)
    p.trees = [] if "trees" in without else p.trees
    p.ridges = [] if "ridges" in without else p.ridges
    if "water" in without:
        p.has_water, p.shore = False, np.full_like(p.shore, p.horizon)
    albedo, land, slope, owner = _land_layers(p, n, n)
    y = ((np.arange(n) + 0.5) / n)[:, None] * np.ones((1, n))
    x = ((np.arange(n) + 0.5) / n)[None, :] * np.ones((n, 1))
    water = ~land & (y > p.horizon)
    land_class = np.select([owner < 0, owner < len(p.ridges), owner == len(p.ridges)], [SKY, RIDGE, GRASS], TREE)
    # mirror rows about the horizon for reflections
    row_ref = np.clip(np.round(2 * p.horizon * n - (np.arange(n) + 0.5) - 0.5), 0, n - 1).astype(np.int64)
    frames, classes = [], []
    for tau, t in zip(taus, times):
        L = lighting(float(tau), p.sun_from_left)
        sky, density = _sky(p, L, n, n, float(t), float(tau))
        sun_dir = np.sign(L.sun_x - 0.5) if abs(L.sun_x - 0.5) > 0.05 else 0.0
        shading = np.clip(1.0 + 0.25 * slope * sun_dir, 0.5, 1.4)
        light = L.ambient * np.array([0.8, 0.85, 1.0]) + L.daylight * L.sun * shading[..., None]
        lit_land = albedo * light
        img = np.where(land[..., None], lit_land, sky)
        if p.has_water:
            # ripples: horizontal sampling offsets that travel towards the viewer over time
            dist = np.clip(y - p.horizon, 1e-3, None)
            ripple = 0.012 * dist * np.sin(60.0 * np.log(dist) - 1.5 * t + 6.0 * x) + 0.004 * np.sin(120 * y + 2.1 * t)
            cols = np.clip(np.round((x + ripple) * n - 0.5), 0, n - 1).astype(np.int64)
            rows = np.broadcast_to(row_ref[:, None], (n, n))
            reflected = img[rows, cols]
            fresnel = 0.45 + 0.35 * smoothstep(0.0, 0.25, y - p.horizon)
            water_col = lerp(reflected * 0.85, p.water[None, None] * (L.ambient + L.daylight), fresnel[..., None])
            img = np.where(water[..., None], water_col, img)
        frames.append(img)
        cls = np.where(land, land_class, np.where(water, WATER, np.where(density > 0.5, CLOUD, SKY)))
        classes.append(_downsample_classes(cls, supersample))
    frames = np.clip(np.stack(frames), 0, 1).astype(np.float32)
    dyn = ~land
    if supersample > 1:
        frames = frames.reshape(len(frames), size, supersample, size, supersample, 3).mean(axis=(2, 4))
        dyn = dyn.reshape(size, supersample, size, supersample).any(axis=(1, 3))  # any moving sub-pixel
    classes = np.stack(classes)
    return Render(frames, dyn, classes, scene_labels(p, owner, classes[0], supersample))


def render_scene(
    seed: int, size: int, taus: np.ndarray, times: np.ndarray, supersample: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render`'s frames (T, size, size, 3) float32 in [0, 1] and dynamic mask (size, size) bool
    (True = sky or water, the pixels that may move)."""
    r = render(seed, size, taus, times, supersample)
    return r.frames, r.dynamic


def _downsample_classes(cls: np.ndarray, k: int) -> np.ndarray:
    """(n, n) class indices -> (n/k, n/k) uint8: the majority of each k x k block, a tree if any sub-pixel is one."""
    if k == 1:
        return cls.astype(np.uint8)
    m = cls.shape[0] // k
    counts = np.stack([(cls == c).reshape(m, k, m, k).sum(axis=(1, 3)) for c in range(len(CLASSES))], -1)
    out = counts.argmax(-1)
    return np.where(counts[..., TREE] > 0, TREE, out).astype(np.uint8)


def scene_labels(p: SceneParams, owner: np.ndarray, classes: np.ndarray, supersample: int) -> dict:
    """The scene's parameters as plain numbers, for the dataset's JSON (y down, image units).

    ``ridges`` and ``trees`` count what is visible (a ridge hidden by a nearer one, or a tree by another tree,
    does not count: at least one output pixel's worth of sub-pixels); ``class_shares`` are the first frame's.
    """
    area = np.bincount(owner[owner >= 0], minlength=len(p.ridges) + 1 + len(p.trees))
    seen = area >= supersample**2
    ridges = [k for k in range(len(p.ridges)) if seen[k]]
    trees = [t for j, t in enumerate(p.trees) if seen[len(p.ridges) + 1 + j]]
    shares = np.bincount(classes.ravel(), minlength=len(CLASSES)) / classes.size
    return {
        "horizon": round(p.horizon, 5),
        "ridges": len(ridges),
        "ridge_heights": [round(p.horizon - float(p.ridges[k][0].min()), 5) for k in ridges],
        "water": p.has_water,
        "shore": round(float(p.shore.mean()), 5),
        "trees": len(trees),
        "tree_positions": [[round(v, 5) for v in t] for t in trees],
        "cloud_cover": round(p.cloud_cover, 5),
        "wind": [round(float(v), 6) for v in p.wind],
        "sun_from_left": p.sun_from_left,
        "class_shares": {c: round(float(v), 5) for c, v in zip(CLASSES, shares)},
    }


def sample_daytime(rng: np.random.Generator) -> float:
    """A time of day for a still image: mostly daylight, some dawn/dusk, a little night."""
    r = rng.random()
    if r < 0.6:
        return float(rng.uniform(0.32, 0.68))
    if r < 0.9:
        return float(rng.choice([rng.uniform(0.22, 0.32), rng.uniform(0.68, 0.8)]))
    return float(rng.uniform(0.8, 1.2) % 1.0)


def video_schedule(rng: np.random.Generator, frames: int, daytime_span: float) -> tuple[np.ndarray, np.ndarray]:
    """Times of day and cloud clock for one video: ``tau`` moves by up to ``daytime_span`` over the video."""
    start = sample_daytime(rng)
    span = rng.uniform(0.3, 1.0) * daytime_span * (1 if rng.random() < 0.5 else -1)
    taus = (start + span * np.linspace(0, 1, frames)) % 1.0
    times = np.arange(frames, dtype=np.float64) * rng.uniform(0.6, 1.4)
    return taus, times
