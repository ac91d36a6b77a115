"""Animate a user's photo at its own resolution: the whole job as one library function.

:func:`animate_photo` takes the photo, the networks (:class:`PhotoNetworks`, resolved by the caller: the CLI
with ``training.companions.photo_networks``, a notebook passes its own) and the options (:class:`PhotoOptions`),
and writes into ``out``: ``photo.mp4`` / ``photo.gif``, ``mask.png``, ``reconstruction.png``,
``inversion.safetensors`` (via ``save``) and ``metrics.json``. It returns the written paths and the report.

Stages, each a function of its own (the demo page calls them apart, to re-animate without inverting again):
:func:`open_and_segment` (the photo's square and dynamic mask: a user mask, else the segmenter's, land-coloured
regions dropped), :func:`invert_prepared` (encoder -> latent optimisation with S_dyn fitted in the mask and S_st
outside -> fine-tuning), :func:`render_photo` (frames at the photo's resolution,
:func:`dl_lightning.inversion.photo_animation.photo_frames`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dl_lightning.animation import DEFAULT_MOTION, Motion, get_motion
from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.data.photos import Geometry, open_photo, photo_at, square_at
from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path
from dl_lightning.inversion.photo_animation import (
    animate_inversion,
    drop_land_coloured,
    horizon_from_mask,
    inversion_ws,
    mask_to_alpha,
    open_user_mask,
    photo_frames,
    user_alpha,
    user_mask,
)
from dl_lightning.inversion.pipeline import FINETUNE_STEPS, OPTIM_STEPS, invert_photo
from dl_lightning.media import make_grid, save_image, write_streams
from dl_lightning.metrics.motion import RegionChange
from dl_lightning.models.generator import Generator
from dl_lightning.models.inversion import Inversion

SKIES = ("photo", "generator")


@dataclass
class PhotoNetworks:
    """The networks of a photo animation; None: go without (as each field says)."""

    G: Generator
    encoder: torch.nn.Module | None = None  # None: the inversion starts from the mean latent
    lighting: torch.nn.Module | None = None  # network A; None: the photo keeps its lighting
    segmenter: torch.nn.Module | None = None  # None and no mask: the whole frame moves
    upsampler: torch.nn.Module | None = None  # x4 for the generator's sky (sky="generator"); None: bicubic
    perceptual: torch.nn.Module | None = None  # LPIPS for the inversion; None: pixels only
    sources: dict[str, str | None] = field(default_factory=dict)  # where each came from, for the report


@dataclass
class PhotoOptions:
    """How a photo is animated (``dl-animate --image``'s flags have the same names).

    Attributes:
        fit: the generator's square covers the photo's centre square (``crop``) or the whole photo (``pad``).
        size: output short side in pixels, at most the photo's own.
        frames, fps, formats: the video.
        motion: the sky's motion preset (``motions.yaml``); ``speed`` multiplies it, ``direction`` (degrees,
            counter-clockwise from "to the right") turns its shift.
        water_speed, water_direction: the water's own motion (below the horizon); both None: the sky's, mirrored.
            With only a speed, the sky's shift mirrored, at that speed.
        horizon: normalised y of the horizon on the square, None for none, or "auto" (from the mask).
        loop: the last frame leads into the first (forward and backward moves cross-faded; ``sky="photo"``).
        sky: ``photo`` (the photo's own sky moves; the generator relights) or ``generator`` (the paper).
        daytime: z_dyn path (``fixed``, ``linear``, ``slerp``, ``cycle``); needs ``networks.lighting``.
        zdyn_end: the path's end (z_dyn_dim,), or None for a random one from ``seed``.
        raw_mask: keep the segmenter's mask as predicted.
        keep_thin: thin things against the sky (towers, masts, tree tops) stay still.
    """

    fit: str = "crop"
    size: int = 1024
    frames: int = 48
    fps: int = 12
    formats: tuple[str, ...] = ("mp4", "gif")
    motion: str = DEFAULT_MOTION
    speed: float = 1.0
    direction: float | None = None
    water_speed: float | None = None
    water_direction: float | None = None
    horizon: float | str | None = "auto"
    loop: bool = False
    sky: str = "photo"
    daytime: str = "fixed"
    zdyn_end: torch.Tensor | None = None
    seed: int = 0
    chunk: int = 8
    optim_steps: int = OPTIM_STEPS
    finetune_steps: int = FINETUNE_STEPS
    lpips_weight: float = 1.0
    raw_mask: bool = False
    keep_thin: bool = True
    device: str = "cpu"
    stage_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sky not in SKIES:
            raise UserError(f"--sky must be one of {', '.join(SKIES)}, got {self.sky!r}")
        if self.loop and self.sky != "photo":
            raise UserError("--loop needs --sky photo (the generator's sky cannot be made to loop)")
        if self.speed < 0 or (self.water_speed is not None and self.water_speed < 0):
            raise UserError("--speed and --water-speed must be >= 0")
        get_motion(self.motion)  # an unknown preset fails now, not after the inversion

    def motions(self, horizon: float | None) -> tuple[Motion, Motion | None]:
        """(the sky's motion with ``horizon``, the water's own motion or None for the sky's mirrored)."""
        sky = get_motion(self.motion, horizon=horizon).scaled(self.speed, self.direction)
        if self.water_speed is None and self.water_direction is None:
            return sky, None
        base = get_motion(self.motion)
        base.shift = (base.shift[0], -base.shift[1])  # mirrored, as the water's default
        speed = self.water_speed if self.water_speed is not None else self.speed
        return sky, Motion(shift=base.scaled(speed, self.water_direction).shift)


def segment(segmenter: torch.nn.Module | None, photo_lr: torch.Tensor, raw: bool) -> tuple[torch.Tensor | None, str]:
    """(1, 1, R, R) dynamic mask from ``segmenter`` (or None without one) and where it came from; unless ``raw``,
    regions below the sky coloured like the land are dropped."""
    if segmenter is None:
        print("note: no --mask and no segmenter: the whole frame is treated as moving")
        return None, "none"
    mask = segmenter.to(photo_lr.device).predict(photo_lr)[:, None].float()
    if raw:
        return mask, "segmenter"
    mask, dropped = drop_land_coloured(mask, photo_lr)
    return mask, f"segmenter, {dropped} land-coloured px of {mask.shape[-1]}x{mask.shape[-1]} dropped"


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    cols = sorted({k for m in metrics.values() for k in m}, key=["mse", "psnr", "lpips", "seconds"].index)
    print(f"{'stage':<10}" + "".join(f"{c:>10}" for c in cols))
    for stage, m in metrics.items():
        print(f"{stage:<10}" + "".join(f"{m[c]:>10.4f}" if c in m else f"{'-':>10}" for c in cols))


def write_report(out: Path, report: dict) -> Path:
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2))
    return out / "metrics.json"


@dataclass
class PreparedPhoto:
    """A photo opened for animation (:func:`open_and_segment`): the generator's square and the dynamic mask."""

    image: str
    fit: str  # crop or pad (PhotoOptions.fit)
    square: Image.Image  # the square the generator sees (data.photos.photo_square)
    geometry: Geometry  # where the photo lies on it
    photo_lr: torch.Tensor  # (1, 3, R, R) in [-1, 1]: the square at the generator's resolution
    mask_lr: torch.Tensor | None  # (1, 1, R, R) in [0, 1], 1 = moves; None: the whole frame moves
    mask_source: str  # where the mask came from, for the report
    seconds: float
    mask_square: Image.Image | None = None  # the user's mask on the square (open_user_mask), if one was given

    def alpha(self, size: int, keep_thin: bool = True, mask: str | Path | None = None) -> torch.Tensor:
        """(1, 1, h, w) dynamic alpha at output short side ``size``: the user's mask as given (``mask``, an image of
        the photo's size, white = moves; else the one given to :func:`open_and_segment`), or the predicted one
        feathered."""
        square = open_user_mask(mask, self.geometry.source, self.fit) if mask is not None else self.mask_square
        if square is not None:
            return user_alpha(square, self.geometry, size)
        photo = photo_at(self.square, self.geometry, size)
        return mask_to_alpha(self.mask_lr.cpu() if self.mask_lr is not None else None, photo, self.geometry, keep_thin)


def open_and_segment(
    image: str | Path, networks: PhotoNetworks, options: PhotoOptions, mask: str | Path | None = None
) -> PreparedPhoto:
    """Open ``image`` (any size, aspect or mode; one-line :class:`UserError` if unreadable) and find what moves:
    ``mask`` (an image of the photo's size, white = moves), else the segmenter's prediction."""
    t0 = time.perf_counter()
    square, geometry = open_photo(image, options.fit)
    photo_lr = square_at(square, networks.G.cfg.resolution).to(options.device)
    mask_square = None
    if mask is not None:
        mask_square = open_user_mask(mask, geometry.source, options.fit)
        mask_lr, source = user_mask(mask_square, photo_lr.shape[-1]).to(options.device), f"--mask {mask}"
    else:
        mask_lr, source = segment(networks.segmenter, photo_lr, options.raw_mask)
    seconds = time.perf_counter() - t0
    return PreparedPhoto(str(image), options.fit, square, geometry, photo_lr, mask_lr, source, seconds, mask_square)


def invert_prepared(prepared: PreparedPhoto, networks: PhotoNetworks, options: PhotoOptions) -> Inversion:
    """Encoder -> latent optimisation (S_dyn fitted in the mask, S_st outside) -> generator fine-tuning."""
    opts = options
    G = networks.G.to(opts.device)
    A = networks.lighting.to(opts.device) if networks.lighting is not None else None
    inv = invert_photo(
        prepared.photo_lr, G, networks.encoder, A, opts.optim_steps, opts.finetune_steps, networks.perceptual,
        opts.lpips_weight, dynamic_mask=prepared.mask_lr, **opts.stage_kwargs,
    )  # fmt: skip
    print_metrics(inv.metrics)
    return inv


def save_reconstruction(inv: Inversion, out: Path) -> Path:
    """The photo and each stage's reconstruction side by side (``reconstruction.png``)."""
    strip = torch.cat([inv.photo] + [inv.stages[k] for k in ("encoder", "optimised", "finetuned")])
    return save_image(make_grid(strip, nrow=4), out / "reconstruction.png")


def animate_photo(
    image: str | Path,
    out: str | Path,
    networks: PhotoNetworks,
    options: PhotoOptions | None = None,
    mask: str | Path | None = None,
    save: Callable[[Inversion, Path], Path] | None = None,
) -> tuple[list[Path], dict]:
    """Invert ``image`` and animate it at its own resolution (see the module docstring).

    ``mask``: a mask image of the photo's size (white = moves) that replaces the segmenter at full resolution.
    ``save``: writes the inversion (``checkpoints.save_inversion``), or None to skip it.
    """
    opts, out = options or PhotoOptions(), Path(out)
    if opts.daytime != "fixed" and networks.lighting is None:
        print(f"note: daytime {opts.daytime} needs the lighting network A for a photo; keeping its lighting fixed")
    prepared = open_and_segment(image, networks, opts, mask)
    inv = invert_prepared(prepared, networks, opts)
    written = [save_reconstruction(inv, out)]
    if save is not None:
        written.append(save(inv, out / "inversion.safetensors"))
    more, report = render_photo(prepared, inv, out, networks, opts)
    return written + more, report


def render_photo(
    prepared: PreparedPhoto,
    inv: Inversion,
    out: str | Path,
    networks: PhotoNetworks,
    options: PhotoOptions,
    mask: str | Path | None = None,
) -> tuple[list[Path], dict]:
    """The frames of an inverted photo at its own resolution, with ``options``' motion, into ``out``
    (``photo.mp4`` / ``.gif``, ``mask.png``, ``metrics.json``); ``mask`` as in :meth:`PreparedPhoto.alpha`.
    A finished inversion is animated again with other options without inverting again."""
    opts, out, dev = options, Path(out), options.device
    A = networks.lighting.to(dev) if networks.lighting is not None else None
    times = {"mask": prepared.seconds, "inversion": sum(m["seconds"] for m in inv.metrics.values())}
    source = f"--mask {mask}" if mask is not None else prepared.mask_source
    report: dict = {"image": prepared.image, "mask": source, "sky": opts.sky, **networks.sources}
    report["stages"] = inv.metrics
    auto = horizon_from_mask(prepared.mask_lr) if prepared.mask_lr is not None else None
    horizon = auto if opts.horizon == "auto" else opts.horizon
    sky, water = opts.motions(horizon)
    report.update({"horizon": horizon, "motion": opts.motion, "speed": opts.speed, "loop": opts.loop})
    t0 = time.perf_counter()
    if opts.size == 0:  # the generator's resolution, no compositing
        written = animate_saved(inv, out, A, replace(opts, horizon=horizon))
        times["animation"] = time.perf_counter() - t0
        return written + [write_report(out, report | {"seconds": times})], report
    photo = photo_at(prepared.square, prepared.geometry, opts.size)
    alpha = prepared.alpha(opts.size, opts.keep_thin, mask)
    written = [save_image(tensor_to_uint8((alpha * 2 - 1).expand(-1, 3, -1, -1)[0]), out / "mask.png")]
    relight = A is not None and opts.daytime != "fixed"
    daytime = "cycle" if relight and opts.loop and opts.daytime != "cycle" else opts.daytime
    ws = inversion_ws(inv.to(dev), opts.frames, daytime, A, opts.zdyn_end, opts.seed)
    change = RegionChange(alpha)

    def to_frame(batch: torch.Tensor) -> np.ndarray:
        change.add(batch)
        return tensor_to_uint8(batch[0])

    frames = photo_frames(
        inv, ws, sky, photo.to(dev), alpha.to(dev), prepared.geometry, relight, networks.upsampler, opts.chunk,
        opts.sky, water, opts.loop,
    )  # fmt: skip
    written += write_streams((f.cpu() for f in frames), {"photo": to_frame}, out, list(opts.formats), opts.fps,
                             opts.frames)  # fmt: skip
    times["animation"] = time.perf_counter() - t0
    report.update(
        {
            "size": list(photo.shape[-2:]),
            "daytime": daytime if relight else "fixed",
            "region_change": change.result(),
            "seconds": times,
        }
    )
    written.append(write_report(out, report))
    rc = report["region_change"]
    print(f"frame-to-frame change: static region {rc['change_static']:.5f}, dynamic region {rc['change_dynamic']:.5f}")
    return written, report


def animate_saved(inv: Inversion, out: str | Path, lighting: torch.nn.Module | None, options: PhotoOptions):
    """Re-animate a saved inversion at the generator's resolution (it keeps no full-size photo): the generator's
    frames, S_dyn moved by the sky's motion. Returns the written paths."""
    opts, dev = options, options.device
    A = lighting.to(dev) if lighting is not None else None
    horizon = None if opts.horizon == "auto" else opts.horizon
    sky, _ = opts.motions(horizon)
    frames = animate_inversion(inv.to(dev), sky, opts.frames, opts.daytime, A, opts.zdyn_end, opts.chunk, opts.seed)
    named = {"photo": lambda b: tensor_to_uint8(b[0])}
    return write_streams(frames, named, Path(out), list(opts.formats), opts.fps, opts.frames)
