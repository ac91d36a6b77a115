"""The photo world's drawing parts: the canvas, still structures (towers, domes, trees), near ground and the camera.

:func:`.photo_world.render_world` composes a scene from them; every draw takes the scene's generator, so a
seed gives the same scene.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from dl_lightning.data.synthetic.landscape import fbm

#: The near ground's kinds (``foreground``), drawn over the lower part of the frame, still.
FOREGROUNDS = ("boards", "road", "gravel", "rocks")


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
