"""The photo's own sky and water, moved at the photo's resolution (the default ``--sky photo``).

A generator trained at 64 px cannot redraw a real sky; the photo's pixels can move. Every output frame is

    out_t = photo + alpha * (moved_t - plate)        (then relit by the lighting gain, if the daytime changes)

* ``plate``: the photo with its static region (land, towers) filled with the surrounding sky and water colours
  (push-pull, :func:`sky_plate`), so a moving sky never drags the land's pixels along.
* ``moved_t``: the plate warped by the same normalised homography the animation gives ``S_dyn``
  (:meth:`dl_lightning.animation.Motion.homography`, mirrored below the horizon for water, or the water's own
  motion), bicubic, reflected at the photo's border (content that enters the frame continues the sky there).
* ``alpha``: the feathered dynamic mask (0: exactly the photo).

At t = 0, ``moved_0 = plate`` and the frame is the photo to the bit. With ``loop``, frame t of T cross-fades the
plate moved forward by t frames and moved back by T - t (as Eulerian-motion cinemagraphs do), so frame T would
be frame 0 again and the last frame leads into the first with an ordinary step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from dl_lightning.animation import Motion
from dl_lightning.data.photos import Geometry
from dl_lightning.noise_warp import source_points, translation_of

#: alpha at and above which a pixel is moving sky or water, a source for the plate's fill.
SOLID = 0.99
#: The fractional shift's filter, Lanczos-3. Measured by `bench/photo_animation.py`: Lanczos-2 rings less (+8%
#: isolated pixels on 256 px renders against +20%) but blurs more (detail kept 0.87-0.96 against 0.97-1.00; with
#: `--loop` 0.685 on one photo, below the 0.70 bar).
LANCZOS = 3


def sky_plate(photo: torch.Tensor, alpha: torch.Tensor, levels: int = 12) -> torch.Tensor:
    """The photo (1, 3, h, w) with every pixel where ``alpha`` (1, 1, h, w) < :data:`SOLID` filled from the
    moving pixels around it: push-pull (averages of the known pixels over a pyramid, coarse levels filling
    what fine ones lack). Without any moving pixel the photo is returned unchanged."""
    known = (alpha >= SOLID).float()
    if not known.any():
        return photo.clone()
    sums, weights = [photo * known], [known]
    for _ in range(levels):
        if min(sums[-1].shape[-2:]) < 2:
            break
        sums.append(F.avg_pool2d(sums[-1], 2, ceil_mode=True))
        weights.append(F.avg_pool2d(weights[-1], 2, ceil_mode=True))
    fill = sums[-1] / weights[-1].clamp_min(1e-8)
    for s, w in zip(reversed(sums[:-1]), reversed(weights[:-1])):
        up = F.interpolate(fill, size=s.shape[-2:], mode="bilinear", align_corners=False)
        conf = (w * 4).clamp(max=1)  # a quarter of a cell known is enough to trust this level's average
        fill = conf * s / w.clamp_min(1e-8) + (1 - conf) * up
    return torch.where(known.bool(), photo, fill)


def output_points(geometry: Geometry, out_hw: tuple[int, int], device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised coordinates on the generator's square ([-1, 1], y down) of every output pixel's centre:
    (gx, gy), each (h, w)."""
    h, w = out_hw
    left, top, bw, bh = geometry.box
    xs = (left + (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * bw / w) / geometry.side * 2 - 1
    ys = (top + (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * bh / h) / geometry.side * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return gx, gy


def sample_grid(sx: torch.Tensor, sy: torch.Tensor, geometry: Geometry, out_hw: tuple[int, int]) -> torch.Tensor:
    """Square-normalised source points (h, w) -> ``grid_sample``'s grid (1, h, w, 2) over the output image."""
    h, w = out_hw
    left, top, bw, bh = geometry.box
    x = ((sx + 1) / 2 * geometry.side - left) / bw * 2 - 1  # the photo box spans [-1, 1] of the output
    y = ((sy + 1) / 2 * geometry.side - top) / bh * 2 - 1
    return torch.stack([x, y], -1)[None]


def lanczos_taps(frac: float, a: int = 3) -> torch.Tensor:
    """Weights (2a,) of the samples at offsets -a .. a-1 for the value ``frac`` (in [0, 1)) before offset 0:
    Lanczos-``a``, normalised to sum 1."""
    x = torch.arange(-a, a, dtype=torch.float64) + frac
    w = torch.sinc(x) * torch.sinc(x / a)
    return (w / w.sum()).float()


def shift_image(image: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """(B, C, H, W) translated by (dx, dy) pixels (out[y, x] = image[y - dy, x - dx]), reflected at the border:
    whole pixels by indexing, the fraction by a separable Lanczos filter (:data:`LANCZOS`; sharper than bicubic
    interpolation, docs/photos.md's photo table)."""
    h, w = image.shape[-2:]
    out = image
    for dim, d, n in ((-1, dx, w), (-2, dy, h)):
        i, f = math.floor(d), d - math.floor(d)
        taps = lanczos_taps(f, LANCZOS) if f > 1e-6 else None
        a = len(taps) // 2 if taps is not None else 0  # the filter's reach on each side
        idx = (torch.arange(-a, n + a, device=image.device) - i) % (2 * n)  # reflect: 1 0 | 0 1 .. n-1 | n-1 ..
        idx = torch.where(idx >= n, 2 * n - 1 - idx, idx)
        out = out.index_select(dim, idx)
        if taps is not None:
            k = taps.to(image.device, image.dtype)  # conv2d correlates: tap j at offset j - a
            c = out.shape[1]
            weight = (k.view(1, 1, 1, -1) if dim == -1 else k.view(1, 1, -1, 1)).expand(c, 1, -1, -1)
            out = F.conv2d(out, weight, groups=c)
            out = out[..., :n, :] if dim == -2 else out[..., :n]
    return out


class PhotoMotion:
    """The moving layer of a photo: :meth:`frame` (1, 3, h, w) at time t (see the module docstring).

    Args:
        photo: (1, 3, h, w) in [-1, 1], at output size.
        alpha: (1, 1, h, w) dynamic mask in [0, 1].
        geometry: where the photo lies on the generator's square (the motion's coordinates).
        sky: the sky's motion; ``sky.horizon`` (normalised y on the square, or None) is where water begins.
        water: the water's own motion below the horizon; None: the sky's, mirrored.
        period: with ``loop``, the number of frames after which the animation repeats.
        loop: cross-fade forward and backward warps over ``period``.
        whole_pixels: round translations to whole pixels (no interpolation at all): the reference that measures
            what interpolation and the loop's cross-fade cost (``bench/photo_animation.py``).
    """

    def __init__(
        self,
        photo: torch.Tensor,
        alpha: torch.Tensor,
        geometry: Geometry,
        sky: Motion,
        water: Motion | None = None,
        period: int = 48,
        loop: bool = False,
        whole_pixels: bool = False,
    ):
        self.whole_pixels = whole_pixels
        self.photo, self.alpha, self.geometry = photo, alpha, geometry
        self.sky, self.water, self.period, self.loop = sky, water, max(period, 1), loop
        self.plate = sky_plate(photo, alpha)
        self.points = output_points(geometry, tuple(photo.shape[-2:]), photo.device)

    def moved(self, t: float) -> torch.Tensor:
        """The plate moved by t frames (1, 3, h, w); the plate itself at t = 0."""
        if t == 0:
            return self.plate
        water = self.water.homography(t) if self.water is not None else None
        sky_shift = translation_of(self.sky.homography(t))
        water_shift = translation_of(water) if water is not None else None
        if sky_shift is not None and (water is None or water_shift is not None):
            return self.translated(sky_shift, water_shift)
        sx, sy = source_points(*self.points, self.sky.homography(t), self.sky.horizon, water)
        grid = sample_grid(sx, sy, self.geometry, tuple(self.photo.shape[-2:]))
        out = F.grid_sample(self.plate, grid, mode="bicubic", padding_mode="reflection", align_corners=False)
        return out.clamp(-1, 1)

    def translated(self, sky: tuple[float, float], water: tuple[float, float] | None) -> torch.Tensor:
        """The plate moved by a translation (normalised units on the square), exactly (:func:`shift_image`);
        below the horizon by ``water``, or by ``sky`` mirrored."""
        (h, w), (_, _, bw, bh) = self.photo.shape[-2:], self.geometry.box
        scale = (self.geometry.side * w / bw / 2, self.geometry.side * h / bh / 2)
        px = lambda d: tuple(round(v * k) if self.whole_pixels else v * k for v, k in zip(d, scale))  # noqa: E731
        out = shift_image(self.plate, *px(sky))
        if self.sky.horizon is None:
            return out.clamp(-1, 1)
        water = water if water is not None else (sky[0], -sky[1])
        below = self.points[1] > self.sky.horizon  # (h, w)
        if water != sky:
            out = torch.where(below, shift_image(self.plate, *px(water)), out)
        return out.clamp(-1, 1)

    def layer(self, t: int) -> torch.Tensor:
        """The moving layer at frame t: the plate moved, or with ``loop`` the cross-fade of two moves."""
        if not self.loop:
            return self.moved(t)
        t %= self.period
        if t == 0:
            return self.plate
        a = t / self.period
        return (1 - a) * self.moved(t) + a * self.moved(t - self.period)

    def frame(self, t: int, gain: torch.Tensor | None = None) -> torch.Tensor:
        """Output frame t (1, 3, h, w) in [-1, 1]: the photo with its moving region moved, relit by ``gain``
        (1, 3, h, w) if given. Exactly the photo at t = 0 without a gain; the static region always is."""
        out = self.photo + self.alpha * (self.layer(t) - self.plate)
        if gain is not None:
            out = ((out + 1) / 2 * gain).clamp(0, 1) * 2 - 1
        return out

    def frames(self, count: int, gains: Iterator[torch.Tensor] | None = None) -> Iterator[torch.Tensor]:
        for t in range(count):
            yield self.frame(t, next(gains) if gains is not None else None)
