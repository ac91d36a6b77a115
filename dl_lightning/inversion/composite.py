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
import numpy as np
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


#: The largest side at which :func:`feathered_mask` shapes the mask (it is upsampled from there).
WORK_SIDE = 512


def feathered_mask(dynamic: torch.Tensor, photo: torch.Tensor, feather: float = 0.01) -> torch.Tensor:
    """(1, 1, h, w) soft dynamic mask: edges aligned to the photo (guided filter), then feathered.

    ``dynamic`` is the mask upsampled to the photo's size (1, 1, h, w) in [0, 1]; ``feather`` is the
    blur's sigma as a fraction of the short side.
    """
    h, w = photo.shape[-2:]
    scale = min(1.0, WORK_SIDE / max(h, w))  # the mask is smooth: shape it at most WORK_SIDE px, then upsample
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    m = F.interpolate(dynamic.float(), size=size, mode="area")
    grey = F.interpolate(((photo.float() + 1) / 2).mean(1, keepdim=True), size=size, mode="area")
    r = max(1, round(min(size) / 64))  # about one generator pixel at 64 px
    m = kornia.filters.guided_blur(grey, m, 2 * r + 1, 1e-3).clamp(0, 1)
    sigma = max(feather * min(size), 0.5)
    k = 2 * int(3 * sigma) + 1
    m = kornia.filters.gaussian_blur2d(m, (k, k), (sigma, sigma), border_type="replicate")
    return F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)


def thin_structures(
    alpha: torch.Tensor, photo: torch.Tensor, width: float = 1 / 200, contrast: float = 0.08
) -> torch.Tensor:
    """(1, 1, h, w) bool: thin things against the sky that rise from the land (towers, masts, antennas, tree tops,
    roof edges), too thin for the generator's 64 px mask.

    A pixel is a candidate when it stands out from its surroundings by more than ``contrast`` (grey, [0, 1]) at
    a scale up to ``width`` x the short side (4-5 px at 1024: the black and white top-hats, a closing or an
    opening with that square less the photo). Candidates are kept only when connected, through candidates, to
    the land (``alpha`` < 0.5): a mast or a tree top is, the texture inside a cloud is not.
    """
    from scipy import ndimage

    h, w = photo.shape[-2:]
    k = 2 * max(1, round(width * min(h, w))) + 1

    def dilate(x: torch.Tensor) -> torch.Tensor:  # a square's max is separable: a row, then a column
        return F.max_pool2d(F.max_pool2d(x, (1, k), 1, (0, k // 2)), (k, 1), 1, (k // 2, 0))

    def erode(x: torch.Tensor) -> torch.Tensor:
        return -dilate(-x)

    grey = ((photo.float() + 1) / 2).mean(1, keepdim=True)
    standout = torch.maximum(erode(dilate(grey)) - grey, grey - dilate(erode(grey)))
    land = (alpha < 0.5)[0, 0].cpu().numpy()
    labels, _ = ndimage.label((standout[0, 0] > contrast).cpu().numpy() | land, np.ones((3, 3)))  # 8-connected
    thin = np.isin(labels, np.unique(labels[land])) & ~land
    thin = torch.from_numpy(thin).to(alpha.device)[None, None].float()
    return F.max_pool2d(thin, 3, 1, 1) > 0  # their anti-aliased edges too


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
