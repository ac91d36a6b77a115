"""Does an animated photo stay the user's photo? Frame against photo, inside the moving region.

* ``region_psnr``: PSNR (dB, pixels in [0, 1]) of a frame against the photo inside a (H, W) mask.
* detail kept: the frame's mean |Laplacian| (grey) inside the mask over a reference's: the share of the
  photo's high-frequency energy a moving sky keeps (1: all of it; blur lowers it, speckles raise it). The
  reference is the photo, or, given to :meth:`PhotoFidelity.add`, the same frame moved by whole pixels (so
  content that leaves the frame does not count, only what interpolation and blending cost).
* ``isolated_rate``: the share of isolated pixels (see :mod:`pixel_stats`) inside the mask.
* ``speckle_count``: the number of speckles inside the mask: 8-connected groups of isolated pixels. A dot moved by
  a fraction of a pixel is spread over two pixels by any interpolation (two isolated pixels, one speckle); a
  generator's droplets are new speckles. Against the same frame moved by whole pixels, it counts what motion adds
  (stars entering at the border are content, not speckles).
* ``phase_shift``: the translation (dx, dy) in pixels that takes one frame's window to the next one's, by
  phase correlation with a sub-pixel peak: how far and where the sky really moved.
* ``PhotoFidelity``: all of them over a stream of frames, frame by frame (frames are never held).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from dl_lightning.metrics.pixel_stats import ISOLATED_THRESHOLD, grey, isolated_pixels


def region_psnr(frame: torch.Tensor, photo: torch.Tensor, mask: torch.Tensor) -> float:
    """(1, 3, H, W) frame and photo in [-1, 1], (H, W) bool mask -> PSNR in dB (inf when equal there)."""
    d = ((frame.float() - photo.float()) / 2).square().mean(1)[0][mask]
    mse = float(d.mean()) if d.numel() else 0.0
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def laplacian_map(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1] -> (H, W) |4-neighbour Laplacian| of the grey image (0 on the border)."""
    g = F.pad(grey(image), (1, 1, 1, 1), mode="replicate")[0, 0]
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    lap[[0, -1], :] = 0
    lap[:, [0, -1]] = 0
    return lap.abs()


def isolated_map(image: torch.Tensor, threshold: float = ISOLATED_THRESHOLD) -> torch.Tensor:
    """(1, 3, H, W) -> (H, W) bool: grey differs from its 3x3 median by more than ``threshold`` (border pixels
    against their replicated neighbours)."""
    return isolated_pixels(F.pad(image.float(), (1, 1, 1, 1), mode="replicate"), threshold)[0, 0]


def speckle_count(image: torch.Tensor, mask: torch.Tensor, threshold: float = ISOLATED_THRESHOLD) -> int:
    """(1, 3, H, W) in [-1, 1], (H, W) bool -> the number of 8-connected groups of isolated pixels inside ``mask``."""
    return _groups(isolated_map(image, threshold) & mask)


def _groups(pixels: torch.Tensor) -> int:
    """(H, W) bool -> its number of 8-connected groups."""
    return int(ndimage.label(pixels.numpy(), structure=np.ones((3, 3), dtype=bool))[1])


def phase_shift(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(H, W) grey windows -> (dx, dy) in pixels such that ``b`` is ``a`` moved by (dx, dy) (phase correlation,
    Hann-windowed, parabolic sub-pixel peak)."""
    h, w = a.shape
    win = torch.hann_window(h, periodic=False)[:, None] * torch.hann_window(w, periodic=False)[None]
    fa, fb = torch.fft.fft2((a - a.mean()) * win), torch.fft.fft2((b - b.mean()) * win)
    r = fb * fa.conj()
    corr = torch.fft.ifft2(r / r.abs().clamp_min(1e-9)).real
    iy, ix = divmod(int(corr.argmax()), w)

    def refine(m1: float, c: float, p1: float) -> float:
        den = m1 - 2 * c + p1
        return 0.0 if abs(den) < 1e-12 else 0.5 * (m1 - p1) / den

    dy = iy + refine(float(corr[(iy - 1) % h, ix]), float(corr[iy, ix]), float(corr[(iy + 1) % h, ix]))
    dx = ix + refine(float(corr[iy, (ix - 1) % w]), float(corr[iy, ix]), float(corr[iy, (ix + 1) % w]))
    dy = dy - h if dy > h / 2 else dy
    dx = dx - w if dx > w / 2 else dx
    return dx, dy


class PhotoFidelity:
    """Frame-by-frame fidelity of an animated photo (1, 3, H, W frames in [-1, 1]).

    Args:
        photo: the photo at output size (1, 3, H, W).
        moving: (H, W) bool, the moving region (alpha >= 0.99).
        static: (H, W) bool, the static region (alpha == 0).
        window: (top, left, height, width) of the moving region where the motion is measured, or None.
    """

    def __init__(self, photo: torch.Tensor, moving: torch.Tensor, static: torch.Tensor, window=None):
        self.photo, self.moving, self.static, self.window = photo.float(), moving, static, window
        self.photo_detail = float(laplacian_map(photo)[moving].mean()) if moving.any() else 0.0
        iso = isolated_map(photo)
        self.photo_isolated = float(iso[moving].float().mean()) if moving.any() else 0.0
        self.photo_speckles = _groups(iso & moving)
        self.first = self.prev = None
        self.rows: list[dict[str, float]] = []

    def add(self, frame: torch.Tensor, reference: torch.Tensor | None = None) -> None:
        """One frame (1, 3, H, W); ``reference``: the reference of its detail and speckles (default: the photo)."""
        frame = frame.float()
        if reference is None:
            ref, ref_speckles = self.photo_detail, self.photo_speckles
        else:
            reference = reference.float()
            ref = float(laplacian_map(reference)[self.moving].mean())
            ref_speckles = speckle_count(reference, self.moving)
        iso = isolated_map(frame)
        row = {
            "psnr": region_psnr(frame, self.photo, self.moving),
            "detail": float(laplacian_map(frame)[self.moving].mean()) / max(ref, 1e-8),
            "isolated": float(iso[self.moving].float().mean()),
            "speckles": _groups(iso & self.moving),
            "speckles_ref": ref_speckles,
            "static_change": float((frame - self.photo).abs()[0].amax(0)[self.static].max())
            if self.static.any()
            else 0.0,
        }
        if self.prev is not None:
            row["step"] = float((frame - self.prev).abs().mean() / 2)
            if self.window is not None:
                top, left, h, w = self.window
                g0, g1 = (grey(x)[0, 0, top : top + h, left : left + w] for x in (self.prev, frame))
                row["dx"], row["dy"] = phase_shift(g0, g1)
        self.first = frame if self.first is None else self.first
        self.prev = frame
        self.rows.append(row)

    def result(self) -> dict[str, float]:
        """frame-0 PSNR, the least and mean detail kept, isolated rate and speckle count (most over the frames)
        against the photo's, all frames' speckles over their references' (+1 each: 1.0 when neither has any), the
        largest static change, the mean measured step (dx, dy), and the loop's closing step
        (last -> first) over the mean step."""
        rows = self.rows
        if not rows:
            raise ValueError("PhotoFidelity needs at least one frame")
        steps = [r["step"] for r in rows[1:]]
        out = {
            "frame0_psnr": rows[0]["psnr"],
            "detail_min": min(r["detail"] for r in rows),
            "detail_mean": sum(r["detail"] for r in rows) / len(rows),
            "isolated_max": max(r["isolated"] for r in rows),
            "photo_isolated": self.photo_isolated,
            "speckles_max": max(r["speckles"] for r in rows),
            "photo_speckles": self.photo_speckles,
            "speckles_vs_reference": (sum(r["speckles"] for r in rows) + 1)
            / (sum(r["speckles_ref"] for r in rows) + 1),
            "static_change_max": max(r["static_change"] for r in rows),
        }
        if steps:
            closing = float((self.first - self.prev).abs().mean() / 2)
            out["loop_closure"] = closing / max(sum(steps) / len(steps), 1e-12)
        if "dx" in rows[-1]:
            out["dx"] = sum(r["dx"] for r in rows[1:]) / len(steps)
            out["dy"] = sum(r["dy"] for r in rows[1:]) / len(steps)
        return out
