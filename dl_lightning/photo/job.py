"""Animate a user's photo at its own resolution: the whole job as one library function.

:func:`animate_photo` takes the photo, the networks (:class:`PhotoNetworks`, resolved by the caller: the CLI
with ``training.companions.photo_networks``, a notebook passes its own) and the options (:class:`PhotoOptions`),
and writes into ``out``: ``photo.mp4`` / ``photo.gif``, ``mask.png``, ``reconstruction.png``,
``inversion.safetensors`` (via ``save``) and ``metrics.json``. It returns the written paths and the report.

Stages, each a function of its own (the demo page calls them apart, to re-animate without inverting again):
:func:`open_and_segment` (the photo's square and dynamic mask: a user mask, else the segmenter's, land-coloured
regions dropped), :func:`invert_prepared` (encoder -> latent optimisation with S_dyn fitted in the mask and S_st
outside -> fine-tuning), :func:`render_photo` (frames at the photo's resolution,
:func:`dl_lightning.photo.frames.photo_frames`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from dl_lightning.animation import DEFAULT_MOTION, Motion, get_motion
from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.data.photos import Geometry, open_photo, photo_at, square_at
from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path
from dl_lightning.inversion.pipeline import FINETUNE_STEPS, OPTIM_STEPS, invert_photo
from dl_lightning.media import make_grid, save_image, write_streams
from dl_lightning.metrics.motion import RegionChange
from dl_lightning.models.generator import Generator
from dl_lightning.models.inversion import Inversion
from dl_lightning.photo.frames import (
    animate_inversion,
    horizon_from_mask,
    inversion_ws,
    open_user_mask,
    photo_frames,
    user_alpha,
    user_mask,
)
from dl_lightning.photo.region import Region, RegionOptions, moving_region

SKIES = ("photo", "generator")


def _opt(default, help: str, choices: tuple | None = None, kind: type | None = None, flag: str | None = None):
    """A :class:`PhotoOptions` field that is a ``dl-animate`` flag: its default, help and choices; ``kind``, the
    value's type where the default is None; ``flag``, the flag's name where it is not ``--<name>`` (a True
    default: the flag turns it off)."""
    meta = {"help": help, "choices": choices, "kind": kind or type(default), "flag": flag}
    return field(default=default, metadata=meta)


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
    """How a photo is animated. The fields with a help text in their metadata are ``dl-animate --image``'s photo
    flags, built from them (:func:`dl_lightning.cli.animate_photo.add_photo_flags`: one default and one help
    each, checked once, in ``__post_init__``); the others share ``dl-animate``'s general flags of the same name."""

    fit: str = _opt("pad", "the output covers the whole photo, of any aspect, padded to the generator's square (pad), "
                    "or only its centre square (crop)", choices=("pad", "crop"))  # fmt: skip
    size: int = _opt(1024, "output short side in pixels, at most the photo's own (0: the generator's resolution, "
                     "no compositing)")  # fmt: skip
    frames: int = 48
    fps: int = 12
    formats: tuple[str, ...] = ("mp4", "gif")
    motion: str = DEFAULT_MOTION  # the sky's motion preset (motions.yaml)
    speed: float = _opt(1.0, "multiplies the sky's motion (--motion)")
    direction: float | None = _opt(None, "the sky's direction in degrees (0: to the right, 90: up; default: "
                                   "--motion's)", kind=float)  # fmt: skip
    water_speed: float | None = _opt(None, "the water's speed multiplier (default: the sky's, mirrored)", kind=float)
    water_direction: float | None = _opt(None, "the water's direction in degrees (default: the sky's)", kind=float)
    horizon: float | str | None = "auto"  # normalised y of the horizon on the square, None, or "auto" (the mask's)
    loop: bool = _opt(False, "seamless loop: the last frame leads into the first (--sky photo)")
    sky: str = _opt("photo", "photo: the photo's own sky and water move at full resolution, the generator only "
                    "relights (default); generator: the generator's frames fill them (the paper, for models "
                    "trained on real data at 256 px+)", choices=SKIES)  # fmt: skip
    daytime: str = "fixed"  # z_dyn path (fixed, linear, slerp, cycle): moving needs network A
    zdyn_end: torch.Tensor | None = None  # the path's end (z_dyn_dim,), or None for a random one from seed
    seed: int = 0
    chunk: int = 8
    optim_steps: int = _opt(OPTIM_STEPS, "latent optimisation steps")
    finetune_steps: int = _opt(FINETUNE_STEPS, "generator fine-tuning steps")
    lpips_weight: float = _opt(1.0, "LPIPS weight in the inversion loss (0: pixels only)")
    raw_mask: bool = _opt(False, "keep the segmenter's coarse mask as predicted (default: the colour vote, islands "
                          "in the sky move, land-coloured water stays, a lake takes in its rest, edges follow "
                          "the photo, thin structures stay)")  # fmt: skip
    refine: bool = _opt(True, "the moving region's edges follow the photo's (matting at up to 1024 px); the flag "
                        "keeps the coarse edges", flag="--no-refine")  # fmt: skip
    keep_thin: bool = _opt(True, "thin and upright things (masts, twigs, towers) stay still; the flag lets them move "
                           "with the sky", flag="--no-thin")  # fmt: skip
    device: str = "cpu"
    stage_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sky not in SKIES:
            raise UserError(f"--sky must be one of {', '.join(SKIES)}, got {self.sky!r}")
        if self.loop and self.sky != "photo":
            raise UserError("--loop needs --sky photo (the generator's sky cannot be made to loop)")
        if self.speed < 0 or (self.water_speed is not None and self.water_speed < 0):
            raise UserError("--speed and --water-speed must be >= 0")
        if self.size < 0:
            raise UserError(f"--size must be >= 0, got {self.size}")
        if self.fit not in ("crop", "pad"):
            raise UserError(f"--fit must be crop or pad, got {self.fit!r}")
        get_motion(self.motion)  # an unknown preset fails now, not after the inversion

    def region(self) -> RegionOptions:
        """How the moving region is found (:mod:`dl_lightning.photo.region`)."""
        raw = self.raw_mask
        return RegionOptions(
            colour_vote=not raw, islands=not raw, land_coloured=not raw,
            water_reach=0.0 if raw else RegionOptions.water_reach, refine=self.refine and not raw,
            keep_thin=self.keep_thin and not raw,
        )  # fmt: skip

    def motions(self, horizon: float | None) -> tuple[Motion, Motion | None]:
        """(the sky's motion with ``horizon``, the water's own motion or None for the sky's mirrored)."""
        sky = get_motion(self.motion, horizon=horizon).scaled(self.speed, self.direction)
        if self.water_speed is None and self.water_direction is None:
            return sky, None
        base = get_motion(self.motion)
        base.shift = (base.shift[0], -base.shift[1])  # mirrored, as the water's default
        speed = self.water_speed if self.water_speed is not None else self.speed
        return sky, Motion(shift=base.scaled(speed, self.water_direction).shift)


def segment(
    segmenter: torch.nn.Module | None, photo: torch.Tensor, options: RegionOptions | None = None
) -> tuple[Region | None, str]:
    """The moving region of ``photo`` (1, 3, H, W) at its own size (:func:`moving_region`), or None without a
    segmenter, and a line saying where it came from."""
    if segmenter is None:
        print("note: no --mask and no segmenter: the whole frame is treated as moving")
        return None, "none"
    region = moving_region(photo, segmenter, options)
    r = region.report()
    print(
        f"moving region: {100 * r['moving_share']:.1f}% of the photo moves; {100 * r['uncertain_share']:.1f}% is "
        "uncertain (hatched in uncertain.png): check it there, and give --mask to correct it"
    )
    return region, f"segmenter ({segmenter.cfg.resolution} px), {r['uncertain_share']:.3f} uncertain"


def region_on_square(alpha: torch.Tensor, geometry: Geometry, resolution: int) -> torch.Tensor:
    """A moving region's alpha (1, 1, h, w) over the photo's area -> the generator's square at ``resolution``:
    (1, 1, R, R) in {0, 1}, the photo's edges repeated outwards where the square is padded (as the photo is)."""
    left, top, w, h = geometry.box
    s = alpha.shape[-1] / w  # alpha pixels per square pixel
    side = round(geometry.side * s)
    pad = (
        round(left * s),
        side - alpha.shape[-1] - round(left * s),
        round(top * s),
        side - alpha.shape[-2] - round(top * s),
    )
    square = F.pad(alpha.float(), pad, mode="replicate") if any(pad) else alpha.float()
    return (F.interpolate(square, size=(resolution, resolution), mode="area") > 0.5).float()


def region_alpha(region: Region | None, geometry: Geometry, size: int) -> torch.Tensor:
    """A moving region's alpha at output short side ``size`` (:meth:`Geometry.output_size`): (1, 1, h, w), exactly 0
    where the region's was; 1 everywhere without a region."""
    hw = geometry.output_size(size)
    if region is None:
        return torch.ones(1, 1, *hw)
    alpha = region.alpha
    if tuple(alpha.shape[-2:]) != hw:
        alpha = F.interpolate(alpha, size=hw, mode="area" if alpha.shape[-1] > hw[1] else "bilinear")
    return torch.where(alpha < 1e-3, torch.zeros_like(alpha), alpha.clamp(0, 1))


def uncertain_overlay(photo: torch.Tensor, region: Region) -> np.ndarray:
    """(H, W, 3) uint8: the photo, its moving region tinted blue and the uncertain pixels hatched in yellow (the
    places to check and paint)."""
    rgb = (photo[0].permute(1, 2, 0).float().cpu().numpy() + 1) / 2
    moving = region.alpha[0, 0].numpy() > 0.5
    rgb[moving] = 0.6 * rgb[moving] + 0.4 * np.array([0.1, 0.3, 1.0])
    h, w = moving.shape
    hatch = (np.add.outer(np.arange(h), np.arange(w)) // max(2, min(h, w) // 128)) % 2 == 0
    unsure = region.uncertain[0, 0].numpy() & hatch
    rgb[unsure] = 0.4 * rgb[unsure] + 0.6 * np.array([1.0, 0.85, 0.0])
    return (rgb.clip(0, 1) * 255 + 0.5).astype(np.uint8)


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
    region: Region | None = None  # the predicted moving region over the photo's area at its own size

    def alpha(self, size: int, mask: str | Path | None = None) -> torch.Tensor:
        """(1, 1, h, w) dynamic alpha at output short side ``size``: the user's mask as given (``mask``, an image of
        the photo's size, white = moves; else the one given to :func:`open_and_segment`), else the predicted
        region (exactly 0 where the photo stays), else 1 everywhere."""
        square = open_user_mask(mask, self.geometry.source, self.fit) if mask is not None else self.mask_square
        if square is not None:
            return user_alpha(square, self.geometry, size)
        return region_alpha(self.region, self.geometry, size)


def open_and_segment(
    image: str | Path, networks: PhotoNetworks, options: PhotoOptions, mask: str | Path | None = None
) -> PreparedPhoto:
    """Open ``image`` (any size, aspect or mode; one-line :class:`UserError` if unreadable) and find what moves:
    ``mask`` (an image of the photo's size, white = moves), else the moving region the segmenter finds at the
    photo's own size (:mod:`dl_lightning.photo.region`)."""
    t0 = time.perf_counter()
    square, geometry = open_photo(image, options.fit)
    resolution = networks.G.cfg.resolution
    photo_lr = square_at(square, resolution).to(options.device)
    mask_square, region, mask_lr = None, None, None
    if mask is not None:
        mask_square = open_user_mask(mask, geometry.source, options.fit)
        mask_lr, source = user_mask(mask_square, resolution).to(options.device), f"--mask {mask}"
    else:
        full = photo_at(square, geometry, min(geometry.box[2:]))  # the photo's area at its own size
        region, source = segment(networks.segmenter, full, options.region())
        if region is not None:
            mask_lr = region_on_square(region.alpha, geometry, resolution).to(options.device)
    seconds = time.perf_counter() - t0
    return PreparedPhoto(
        str(image), options.fit, square, geometry, photo_lr, mask_lr, source, seconds, mask_square, region
    )


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
    alpha = prepared.alpha(opts.size, mask)
    written = [save_image(tensor_to_uint8((alpha * 2 - 1).expand(-1, 3, -1, -1)[0]), out / "mask.png")]
    if mask is None and prepared.mask_square is None and prepared.region is not None:
        full = photo_at(prepared.square, prepared.geometry, min(prepared.geometry.box[2:]))
        written.append(save_image(uncertain_overlay(full, prepared.region), out / "uncertain.png"))
        report["region"] = prepared.region.report()
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
