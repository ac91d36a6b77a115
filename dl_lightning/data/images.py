"""Robust image decoding: any mode, size or format in, RGB square crops out.

Every failure is raised as :class:`UserError` with a one-line reason, so a
folder converter can count and skip it and a CLI can print it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile

from dl_lightning.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
#: Images with more pixels than this are refused (decompression-bomb guard).
MAX_PIXELS = 16384 * 16384
ImageFile.LOAD_TRUNCATED_IMAGES = False


def open_rgb(source: str | Path | bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an image file (path or bytes) fully and return it as 8-bit RGB.

    Grayscale, palette, RGBA/LA (composited on white), CMYK, and 16-bit/float
    modes are converted. Truncated/corrupt files and decompression bombs raise
    :class:`UserError`.
    """
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            old_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                img = Image.open(fp)
                if img.width * img.height > max_pixels:
                    raise UserError(f"{name}: {img.width}x{img.height} px is over the {max_pixels} px limit")
                img.load()
            finally:
                Image.MAX_IMAGE_PIXELS = old_limit
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{name}: image is too large (decompression-bomb guard, limit {max_pixels} px)") from None
    except FileNotFoundError:
        raise UserError(f"{name}: file not found") from None
    except (OSError, SyntaxError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{name}: not a readable image ({reason})") from None
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (alpha is composited on white)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def center_crop_resize(img: Image.Image, resolution: int, upscale: bool = True) -> Image.Image:
    """Centre-crop the largest square and resize it to ``resolution`` (Lanczos).

    With ``upscale=False`` an image whose short side is below ``resolution``
    raises :class:`UserError` instead of being enlarged.
    """
    w, h = img.size
    side = min(w, h)
    if side < 2:
        raise UserError(f"image is {w}x{h} px, too small to crop")
    if side < resolution and not upscale:
        raise UserError(f"image short side {side} px is below the target {resolution} px (use --upscale to enlarge)")
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    if side != resolution:
        img = img.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return img


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> float tensor (3,H,W) in [-1, 1]."""
    arr = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy())
    return from_uint8(arr.permute(2, 0, 1))


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float tensor in [-1, 1] (any shape) -> uint8 tensor of the same shape (0..255), rounded."""
    return x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    """uint8 tensor (any shape) -> float tensor in [-1, 1] of the same shape; the inverse of :func:`to_uint8`."""
    return x.float() / 127.5 - 1


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """Float tensor (3,H,W) or (B,3,H,W) in [-1, 1] -> uint8 array (...,H,W,3)."""
    return to_uint8(x).cpu().movedim(-3, -1).numpy()


def encode_image(img: Image.Image, fmt: str = "jpg", quality: int = 95) -> bytes:
    """Encode a PIL image as jpg or png bytes."""
    buf = io.BytesIO()
    if fmt in ("jpg", "jpeg"):
        img.save(buf, format="JPEG", quality=quality, subsampling=0)
    elif fmt == "png":
        img.save(buf, format="PNG", compress_level=1)
    else:
        raise UserError(f"unknown image format {fmt!r}; use jpg or png")
    return buf.getvalue()
