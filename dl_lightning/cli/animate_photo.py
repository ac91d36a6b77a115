"""``dl-animate --image``: resolve the photo networks (trained on the spot when missing), then call
:func:`dl_lightning.photo.job.animate_photo`; ``--inversion`` re-animates a saved inversion."""

from __future__ import annotations

import argparse
from pathlib import Path

from dl_lightning.checkpoints import load_generator, load_inversion, load_lighting, save_inversion
from dl_lightning.cli.common import horizon_arg, parse_vector
from dl_lightning.metrics.reconstruction import PerceptualConfig
from dl_lightning.photo.job import PhotoOptions, animate_photo, animate_saved
from dl_lightning.training.companions import PhotoNetworkPaths, photo_networks


def options(args: argparse.Namespace, formats: list[str], z_dyn_dim: int) -> PhotoOptions:
    return PhotoOptions(
        fit=args.fit, size=args.size, frames=args.frames, fps=args.fps, formats=tuple(formats), motion=args.motion,
        speed=args.speed, direction=args.direction, water_speed=args.water_speed,
        water_direction=args.water_direction, horizon=horizon_arg(args.horizon, "auto"), loop=args.loop,
        sky=args.sky, daytime=args.daytime or PhotoOptions.daytime,
        zdyn_end=parse_vector(args.zdyn_end, z_dyn_dim, "--zdyn-end"),
        seed=args.seed, chunk=args.chunk, optim_steps=args.optim_steps, finetune_steps=args.finetune_steps,
        lpips_weight=args.lpips_weight, raw_mask=args.raw_mask, refine=not args.no_refine,
        keep_thin=not args.no_thin, device=args.device,
    )  # fmt: skip


def animate_photo_cli(args: argparse.Namespace, formats: list[str]) -> list[Path]:
    if args.inversion:
        inv = load_inversion(args.inversion)
        A = load_lighting(args.lighting, inv.G) if args.lighting else None
        return animate_saved(inv, args.out, A, options(args, formats, inv.G.cfg.z_dyn_dim))
    G = load_generator(args.ckpt)
    opts = options(args, formats, G.cfg.z_dyn_dim)  # bad options fail before any training
    paths = PhotoNetworkPaths(args.ckpt, args.encoder, args.lighting, args.segmenter, args.upsampler, not args.no_train)
    need = {
        "segmenter": not args.mask,
        "lighting": (args.daytime or PhotoOptions.daytime) != "fixed",
        "upsampler": args.size != 0 and args.sky == "generator",
    }
    perceptual = PerceptualConfig(args.lpips_weight, args.lpips_net, args.lpips_weights, args.lpips_random)
    nets = photo_networks(paths, need, perceptual, args.device, G)
    written, _ = animate_photo(args.image, args.out, nets, opts, mask=args.mask, save=save_inversion)
    return written
