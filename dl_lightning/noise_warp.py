"""Warping noise maps with a homography (the animation's S_dyn motion; training's generated pairs too).

Homographies act on normalised coordinates ([-1, 1] across the frame), so one motion is
consistent at every layer resolution. A translation (the wind presets) is applied exactly in
the Fourier domain (:func:`fourier_shift`): the noise stays white and unit-variance at any
sub-pixel offset. Other homographies (zoom) fall back to periodic bilinear interpolation whose
variance is corrected back to 1 (bilinear interpolation of white noise at half-pixel offsets
shrinks its variance 4x and correlates neighbours, i.e. blurs the texture). Below ``horizon`` the
motion is mirrored (water reflects the sky's drift).
"""

from __future__ import annotations

import kornia
import torch


def _shift_operator(shift: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Fourier multipliers (B, 1, h, w//2+1) of a periodic translation by ``shift`` (B, 2) normalised units."""
    dev = shift.device
    ky = torch.fft.fftfreq(h, device=dev)[:, None]  # cycles per pixel
    kx = torch.fft.rfftfreq(w, device=dev)[None, :]
    px, py = shift[:, 0, None, None] * (w / 2), shift[:, 1, None, None] * (h / 2)  # pixels
    return torch.polar(torch.ones((), device=dev), -2 * torch.pi * (kx * px + ky * py))[:, None]


def fourier_shift(noise: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Translate (B, C, H, W) maps periodically by ``shift`` (B, 2) = (dx, dy) in normalised units (2 = the side).

    Exact for every frequency below Nyquist: integer-pixel shifts equal ``torch.roll``, and a
    shift by a then by b equals a shift by a + b. The Nyquist bins (a pattern that alternates
    every pixel) cannot move by a fraction of a pixel on the grid and are attenuated by
    |cos(pi * offset)|; the result is rescaled by the exact expected loss (the norm of the
    operator's impulse response), so white unit-variance noise stays white (up to those bins) and
    unit-variance at any offset.
    """
    b, c, h, w = noise.shape
    if not shift.any():
        return noise.clone()
    op = _shift_operator(shift.float().to(noise.device), h, w)
    out = torch.fft.irfft2(torch.fft.rfft2(noise.float()) * op, s=(h, w))
    delta = torch.zeros(h, w, device=noise.device)
    delta[0, 0] = 1.0
    gain = torch.fft.irfft2(torch.fft.rfft2(delta) * op, s=(h, w)).square().sum(dim=(-2, -1), keepdim=True)
    return (out * gain.rsqrt()).to(noise.dtype)


def translation_of(homography: torch.Tensor) -> tuple[float, float] | None:
    """(dx, dy) if the normalised homography (3, 3) is a pure translation, else None."""
    eye = torch.eye(3, dtype=homography.dtype, device=homography.device)
    lin = homography.clone()
    lin[:2, 2] = 0
    if torch.allclose(lin, eye, atol=1e-7):
        return float(homography[0, 2]), float(homography[1, 2])
    return None


def shift_noise_map(noise: torch.Tensor, shift: torch.Tensor, horizon: torch.Tensor | None = None) -> torch.Tensor:
    """Exact translation of (B, C, H, W) maps by per-sample ``shift`` (B, 2), mirrored vertically below the
    per-sample ``horizon`` (B,) (normalised y; None = no mirroring), as water mirrors the sky's motion."""
    out = fourier_shift(noise, shift)
    if horizon is None:
        return out
    mirrored = fourier_shift(noise, shift * shift.new_tensor([1.0, -1.0]))
    h = noise.shape[-2]
    ys = (torch.arange(h, device=noise.device, dtype=torch.float32) + 0.5) / h * 2 - 1
    below = ys[None, :] > horizon.to(noise.device, torch.float32)[:, None]  # (B, h)
    return torch.where(below[:, None, :, None], mirrored, out)


def warp_noise_map(noise: torch.Tensor, homography: torch.Tensor, horizon: float | None = None) -> torch.Tensor:
    """Warp (B, C, H, W) noise by a normalised homography (3, 3), wrapping around the borders.

    Output pixel p takes the value at H^-1 p. Below ``horizon`` (normalised y) the motion is
    mirrored vertically. Translations are exact (:func:`shift_noise_map`); any other homography
    uses periodic bilinear interpolation rescaled so each output pixel keeps unit variance.
    """
    t = translation_of(homography)
    if t is None:
        return bilinear_warp_noise(noise, homography, horizon)
    hz = None if horizon is None else torch.full((noise.shape[0],), float(horizon))
    return shift_noise_map(noise, torch.tensor([t]).expand(noise.shape[0], 2), hz)


def bilinear_warp_noise(noise: torch.Tensor, homography: torch.Tensor, horizon: float | None = None) -> torch.Tensor:
    """:func:`warp_noise_map` by periodic bilinear interpolation, each output pixel rescaled to unit variance
    (neighbouring pixels become correlated at sub-pixel offsets: the texture blurs)."""
    b, c, h, w = noise.shape
    dev = noise.device
    ys = (torch.arange(h, device=dev, dtype=torch.float32) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, device=dev, dtype=torch.float32) + 0.5) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    sx, sy = source_points(gx, gy, homography, horizon)
    # normalised -> pixel coordinates (pixel centres at integers)
    px, py = (sx + 1) / 2 * w - 0.5, (sy + 1) / 2 * h - 0.5
    x0, y0 = px.floor(), py.floor()
    fx, fy = px - x0, py - y0
    x0, y0 = x0.long() % w, y0.long() % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    flat = noise.reshape(b, c, h * w)

    def at(yy, xx):
        return flat[..., (yy * w + xx).reshape(-1)].reshape(b, c, h, w)

    out = (
        at(y0, x0) * ((1 - fx) * (1 - fy))
        + at(y0, x1) * (fx * (1 - fy))
        + at(y1, x0) * ((1 - fx) * fy)
        + at(y1, x1) * (fx * fy)
    )
    var = ((1 - fx) ** 2 + fx**2) * ((1 - fy) ** 2 + fy**2)
    return (out / var.sqrt()).to(noise.dtype)


def source_points(
    gx: torch.Tensor,
    gy: torch.Tensor,
    homography: torch.Tensor,
    horizon: float | None = None,
    water: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where output points (gx, gy) (normalised, any shape) take their value from: H^-1 p.

    Below ``horizon`` (normalised y) the motion is mirrored vertically (water mirrors the sky's motion), or,
    with ``water`` (3, 3), follows that homography instead (not mirrored). Returns (sx, sy) of gx's shape.
    """
    dev = gx.device
    below = gy > horizon if horizon is not None else torch.zeros_like(gx, dtype=torch.bool)
    mirrored = horizon is not None and water is None
    gy_m = torch.where(below, 2 * horizon - gy, gy) if mirrored else gy
    pts = torch.stack([gx, gy_m], -1).reshape(1, -1, 2)
    inv = torch.linalg.inv(homography.float().to(dev))[None]
    src = kornia.geometry.linalg.transform_points(inv, pts)[0]
    sx, sy = src[:, 0].reshape(gx.shape), src[:, 1].reshape(gx.shape)
    if mirrored:
        sy = torch.where(below, 2 * horizon - sy, sy)
    elif water is not None:
        wsrc = kornia.geometry.linalg.transform_points(torch.linalg.inv(water.float().to(dev))[None], pts)[0]
        sx = torch.where(below, wsrc[:, 0].reshape(gx.shape), sx)
        sy = torch.where(below, wsrc[:, 1].reshape(gx.shape), sy)
    return sx, sy


def warp_noise(noise: list[torch.Tensor], homography: torch.Tensor, horizon: float | None = None) -> list[torch.Tensor]:
    """Warp every layer's noise map with the same normalised homography."""
    return [warp_noise_map(n, homography, horizon) for n in noise]
