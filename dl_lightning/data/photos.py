"""A user's photo, any size and aspect ratio, and the square the generator sees.

The generator's square frame covers the photo as :func:`photo_square` made it (``crop``: the
centre square; ``pad``: the whole photo on an edge-coloured square). :class:`Geometry` records
where the photo lies on that square, so outputs can go back to the photo's own resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dl_lightning.data.images import center_crop_resize, open_rgb, pil_to_tensor
from dl_lightning.errors import UserError


@dataclass
class Geometry:
    """Where the photo lies on the generator's square: the square's side and the photo's box in it (pixels)."""

    side: int
    box: tuple[int, int, int, int]  # left, top, width, height
    source: tuple[int, int]  # the original photo's (width, height)

    def output_size(self, size: int) -> tuple[int, int]:
        """(out_height, out_width) of an output whose short side is at most ``size`` (and the photo's)."""
        w, h = self.box[2], self.box[3]
        scale = min(min(w, h), size) / min(w, h)
        return max(1, round(h * scale)), max(1, round(w * scale))


def photo_square(img: Image.Image, fit: str) -> tuple[Image.Image, Geometry]:
    """The square the generator sees and its geometry. ``crop``: the centre square. ``pad``: the whole photo, its
    edge rows (or columns) repeated outwards, so the sky continues above and the ground below (a single fill
    colour would put a sky-coloured band under the ground, which reads as water)."""
    w, h = img.size
    if fit == "crop":
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        return img.crop((left, top, left + s, top + s)), Geometry(s, (0, 0, s, s), (w, h))
    if fit == "pad":
        s = max(w, h)
        box = ((s - w) // 2, (s - h) // 2, w, h)
        pad = ((box[1], s - h - box[1]), (box[0], s - w - box[0]), (0, 0))
        canvas = Image.fromarray(np.pad(np.asarray(img.convert("RGB")), pad, mode="edge"))
        return canvas, Geometry(s, box, (w, h))
    raise UserError(f"--fit must be crop or pad, got {fit!r}")


def open_photo(path: str | Path, fit: str = "crop") -> tuple[Image.Image, Geometry]:
    """Any photo -> the square the generator sees (centre-crop or pad, see :func:`photo_square`) and its geometry."""
    img = open_rgb(path)
    if min(img.size) < 8:
        raise UserError(f"{path}: {img.width}x{img.height} px is too small to invert (need at least 8 px)")
    return photo_square(img, fit)


def square_at(square: Image.Image, resolution: int) -> torch.Tensor:
    """The generator's view of a photo's square: (1, 3, R, R) in [-1, 1]."""
    return pil_to_tensor(center_crop_resize(square, resolution))[None]


def prepare_photo(path: str | Path, resolution: int, fit: str = "crop") -> torch.Tensor:
    """Any photo -> (1, 3, R, R) in [-1, 1]: centre-crop, or pad (edge colour) to square, then resize."""
    return square_at(open_photo(path, fit)[0], resolution)


def photo_at(square: Image.Image, geometry: Geometry, size: int) -> torch.Tensor:
    """The photo's area of ``square`` at output size: (1, 3, h, w) in [-1, 1] (Lanczos)."""
    oh, ow = geometry.output_size(size)
    left, top, w, h = geometry.box
    return pil_to_tensor(square.crop((left, top, left + w, top + h)).resize((ow, oh), Image.LANCZOS))[None]
