"""``dl-animate --image``: resolve the photo networks (trained on the spot when missing), then call
:func:`dl_lightning.inversion.photo_job.animate_photo`; ``--inversion`` re-animates a saved inversion."""

from __future__ import annotations

import argparse
from pathlib import Path

from dl_lightning.checkpoints import (
    DEFAULT_SEGMENTER,
    DEFAULT_UPSAMPLER,
    load_encoder,
    load_generator,
    load_inversion,
    load_lighting,
    load_segmenter,
    load_upsampler,
    save_inversion,
)
from dl_lightning.cli.common import horizon_arg, parse_vector
from dl_lightning.inversion.losses import PerceptualConfig
from dl_lightning.inversion.photo_job import PhotoNetworks, PhotoOptions, animate_photo, animate_saved
from dl_lightning.training.companions import companion_path, ensure_companion, is_current


def fill_companions(args: argparse.Namespace) -> None:
    """Networks the user did not name: the GAN's companions, trained now if missing (not with ``--no-train``).

    The encoder is not trained on the spot: latent optimisation from the mean latent ends within 0.4 dB of the
    encoder's start on real photos (README, "Does the encoder earn its place?"), and training it costs minutes.
    One already beside the GAN and current is used."""
    if args.inversion:
        return
    if args.encoder is None and is_current("encoder", args.ckpt):
        args.encoder = str(companion_path("encoder", args.ckpt))
    if args.no_train:
        return
    needed = {
        "segmenter": not args.mask,
        "lighting": args.daytime != "fixed",
        "upsampler": args.size != 0 and args.sky == "generator",
    }
    for name, need in needed.items():
        if need and getattr(args, name) is None:
            setattr(args, name, str(ensure_companion(name, args.ckpt)))


def default_path(given: str | None, default: str, what: str) -> str | None:
    """``given``, else ``default`` if it exists, else None with a note."""
    if given is not None:
        return None if str(given).lower() == "none" else given
    if Path(default).is_file():
        return default
    print(f"note: no {what} ({default} not found); going without it")
    return None


def options(args: argparse.Namespace, formats: list[str], z_dyn_dim: int) -> PhotoOptions:
    return PhotoOptions(
        fit=args.fit, size=args.size, frames=args.frames, fps=args.fps, formats=tuple(formats), motion=args.motion,
        speed=args.speed, direction=args.direction, water_speed=args.water_speed,
        water_direction=args.water_direction, horizon=horizon_arg(args.horizon, "auto"), loop=args.loop,
        sky=args.sky, daytime=args.daytime, zdyn_end=parse_vector(args.zdyn_end, z_dyn_dim, "--zdyn-end"),
        seed=args.seed, chunk=args.chunk, optim_steps=args.optim_steps, finetune_steps=args.finetune_steps,
        lpips_weight=args.lpips_weight, raw_mask=args.raw_mask, keep_thin=not args.no_thin, device=args.device,
    )  # fmt: skip


def animate_photo_cli(args: argparse.Namespace, formats: list[str]) -> list[Path]:
    if args.inversion:
        inv = load_inversion(args.inversion)
        A = load_lighting(args.lighting, inv.G) if args.lighting else None
        return animate_saved(inv, args.out, A, options(args, formats, inv.G.cfg.z_dyn_dim))
    G = load_generator(args.ckpt)
    opts = options(args, formats, G.cfg.z_dyn_dim)  # bad options fail before any training
    fill_companions(args)
    segmenter = None if args.mask else default_path(args.segmenter, DEFAULT_SEGMENTER, "segmenter (make segmenter)")
    upsampler = None
    if args.sky == "generator":
        upsampler = default_path(args.upsampler, DEFAULT_UPSAMPLER, "x4 upsampler (make upsampler)")
    perceptual = PerceptualConfig(args.lpips_weight, args.lpips_net, args.lpips_weights, args.lpips_random)
    nets = PhotoNetworks(
        G,
        encoder=load_encoder(args.encoder, G) if args.encoder else None,
        lighting=load_lighting(args.lighting, G) if args.lighting else None,
        segmenter=load_segmenter(segmenter) if segmenter else None,
        upsampler=load_upsampler(upsampler).to(args.device) if upsampler else None,
        perceptual=perceptual.build(),
        sources={"encoder": args.encoder, "lighting": args.lighting, "segmenter": segmenter, "upsampler": upsampler},
    )
    written, _ = animate_photo(args.image, args.out, nets, opts, mask=args.mask, save=save_inversion)
    return written
