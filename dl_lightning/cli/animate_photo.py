"""``dl-animate --image``: the photo flags, one per :class:`~dl_lightning.photo.job.PhotoOptions` field that has a
help text (its default, help and choices; checked once, in its ``__post_init__``); resolve the photo networks
(trained on the spot when missing), then call :func:`dl_lightning.photo.job.animate_photo`; ``--inversion``
re-animates a saved inversion."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from dl_lightning.checkpoints import load_generator, load_inversion, load_lighting, save_inversion
from dl_lightning.cli.common import horizon_arg, parse_vector
from dl_lightning.metrics.reconstruction import PerceptualConfig
from dl_lightning.photo.job import PhotoOptions, animate_photo, animate_saved
from dl_lightning.training.companions import PhotoNetworkPaths, photo_networks

PHOTO_FLAGS = [f for f in fields(PhotoOptions) if "help" in f.metadata]


def add_photo_flags(group: argparse._ArgumentGroup) -> None:
    """One flag per :data:`PHOTO_FLAGS` field of :class:`PhotoOptions`, with its default, help and choices."""
    for f in PHOTO_FLAGS:
        m = f.metadata
        flag = m["flag"] or "--" + f.name.replace("_", "-")
        if m["kind"] is bool:
            group.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", help=m["help"])
        else:
            group.add_argument(flag, dest=f.name, type=m["kind"], default=f.default, choices=m["choices"],
                               help=m["help"] + ("" if f.default is None else f" (default {f.default})"))  # fmt: skip


def options(args: argparse.Namespace, formats: list[str], z_dyn_dim: int) -> PhotoOptions:
    """The photo flags (:func:`add_photo_flags`) and the general ones they share with generated scenes."""
    return PhotoOptions(
        **{f.name: getattr(args, f.name) for f in PHOTO_FLAGS},
        frames=args.frames, fps=args.fps, formats=tuple(formats), motion=args.motion,
        horizon=horizon_arg(args.horizon, "auto"), daytime=args.daytime or PhotoOptions.daytime,
        zdyn_end=parse_vector(args.zdyn_end, z_dyn_dim, "--zdyn-end"), seed=args.seed, chunk=args.chunk,
        device=args.device,
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
        "lighting": opts.daytime != "fixed",
        "upsampler": opts.size != 0 and opts.sky == "generator",
    }
    perceptual = PerceptualConfig(args.lpips_weight, args.lpips_net, args.lpips_weights, args.lpips_random)
    nets = photo_networks(paths, need, perceptual, args.device, G)
    written, _ = animate_photo(args.image, args.out, nets, opts, mask=args.mask, save=save_inversion)
    return written
