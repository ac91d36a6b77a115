"""``dl-animate --image``: invert a photo, save the inversion, animate it (see ``dl_lightning.inversion``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dl_lightning.animation import get_motion
from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.export import load_generator
from dl_lightning.inversion.losses import PerceptualConfig
from dl_lightning.inversion.pipeline import (animate_inversion, invert_photo, load_encoder, load_inversion, load_lighting,
                                             prepare_photo, save_inversion)
from dl_lightning.media import atomic_path, make_grid, save_image


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    cols = sorted({k for m in metrics.values() for k in m}, key=["mse", "psnr", "lpips", "seconds"].index)
    print(f"{'stage':<10}" + "".join(f"{c:>10}" for c in cols))
    for stage, m in metrics.items():
        print(f"{stage:<10}" + "".join(f"{m[c]:>10.4f}" if c in m else f"{'-':>10}" for c in cols))


def animate_photo(args: argparse.Namespace, formats: list[str]) -> list[Path]:
    from dl_lightning.cli.animate import parse_vector, write_streams

    out = Path(args.out)
    dev = args.device
    if args.inversion:
        inv = load_inversion(args.inversion)
        G = inv.G
    else:
        G = load_generator(args.ckpt)
    A = load_lighting(args.lighting, G).to(dev) if args.lighting else None
    if args.daytime != "fixed" and A is None:
        print(f"note: --daytime {args.daytime} needs --lighting (network A) for a photo; keeping its lighting fixed")
    written = []
    if not args.inversion:
        photo = prepare_photo(args.image, G.cfg.resolution, args.fit).to(dev)
        encoder = load_encoder(args.encoder, G).to(dev) if args.encoder else None
        if encoder is None:
            print("note: no --encoder given; inversion starts from the mean latent")
        perceptual = PerceptualConfig(args.lpips_weight, args.lpips_net, args.lpips_weights, args.lpips_random)
        inv = invert_photo(photo, G.to(dev), encoder, A, args.optim_steps, args.finetune_steps, perceptual.build(),
                           args.lpips_weight)
        print_metrics(inv.metrics)
        strip = torch.cat([inv.photo] + [inv.stages[k] for k in ("encoder", "optimised", "finetuned")])
        written.append(save_image(make_grid(strip, nrow=4), out / "reconstruction.png"))
        written.append(save_inversion(inv, out / "inversion.safetensors"))
        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps({"image": str(args.image), "stages": inv.metrics}, indent=2))
        written.append(out / "metrics.json")
    motion = get_motion(args.motion, horizon=None if str(args.horizon).lower() == "none" else float(args.horizon))
    inv.to(dev)
    frames = animate_inversion(inv, motion, args.frames, args.daytime, A,
                               parse_vector(args.zdyn_end, inv.G.cfg.z_dyn_dim, "--zdyn-end"), args.chunk, args.seed)
    written += write_streams(frames, {"photo": lambda b: tensor_to_uint8(b[0])}, out, formats, args.fps, args.frames)
    return written
