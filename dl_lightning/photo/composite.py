"""Photo-resolution output: static regions straight from the photo, dynamic regions from the generator.

The generator works at a few dozen pixels; a person wants the photo's own size. As in the
authors' high-resolution step, each output frame is a blend, through a feathered dynamic mask,
of the original photo (static region: land stays exactly still, with all its detail) and the
generator's frame upsampled (dynamic region: sky and water move). When the time of day moves,
the lighting change of the generator's frames is carried over to the static region as a smooth
per-pixel colour gain, so the land is relit but never moves.

Geometry: the generator's square frame covers the photo as :func:`photo_square` made it
(``crop``: the centre square; ``pad``: the whole photo on a padded square), so output frames
cover the same area at up to the photo's own resolution, whatever its aspect ratio.
"""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F

from dl_lightning.data.photos import Geometry


def frame_to_output(
    frame: torch.Tensor, geometry: Geometry, out_hw: tuple[int, int], upsampler: torch.nn.Module | None = None
) -> torch.Tensor:
    """A generator frame (B, C, R, R) -> the photo's area at output size (B, C, h, w).

    ``upsampler`` (a x4 super-resolution net, optional) is applied first; bicubic does the rest.
    """
    x = frame.float()
    if upsampler is not None:
        with torch.no_grad():
            x = upsampler(x)
    s = x.shape[-1] / geometry.side  # pixels of x per photo-square pixel
    left, top, w, h = geometry.box
    sq = F.interpolate(x, scale_factor=(out_hw[0] / (h * s)), mode="bicubic", align_corners=False)
    k = sq.shape[-1] / geometry.side
    y0, x0 = round(top * k), round(left * k)
    sq = sq[..., y0 : y0 + out_hw[0], x0 : x0 + out_hw[1]]
    if sq.shape[-2:] != out_hw:  # rounding: resample the last pixel or two
        sq = F.interpolate(sq, size=out_hw, mode="bilinear", align_corners=False)
    return sq


def lighting_gain(
    lit: torch.Tensor, reference: torch.Tensor, out_hw: tuple[int, int], geometry: Geometry, smooth: float = 0.08
) -> torch.Tensor:
    """Smooth per-pixel colour gain (1, 3, h, w) that takes ``reference`` to ``lit`` (generator frames, [-1, 1]).

    Computed on heavily blurred low-resolution frames (sigma = ``smooth`` x side), so it carries the
    change of light and colour, not texture or motion.
    """
    r = lit.shape[-1]
    sigma = max(smooth * r, 0.5)
    k = 2 * int(3 * sigma) + 1
    blur = lambda x: kornia.filters.gaussian_blur2d(
        (x.float() + 1) / 2, (k, k), (sigma, sigma), border_type="replicate"
    )  # noqa: E731
    gain = ((blur(lit) + 0.03) / (blur(reference) + 0.03)).clamp(0.1, 10)
    return frame_to_output(gain, geometry, out_hw)


def composite(
    photo: torch.Tensor, frame: torch.Tensor, alpha: torch.Tensor, gain: torch.Tensor | None = None
) -> torch.Tensor:
    """One output frame (1, 3, h, w) in [-1, 1]: photo (relit by ``gain``) where static, ``frame`` where dynamic."""
    static = photo if gain is None else ((photo + 1) / 2 * gain).clamp(0, 1) * 2 - 1
    return static * (1 - alpha) + frame.clamp(-1, 1) * alpha
