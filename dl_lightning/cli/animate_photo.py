"""``dl-animate --image``: invert a photo, save the inversion, animate it at the photo's resolution.

Stages (each timed in ``metrics.json``): dynamic mask (``--mask`` or the segmenter), inversion
(encoder -> latent optimisation with S_dyn fitted in the mask and S_st outside -> fine-tuning),
then frames composited into the photo (see ``dl_lightning.inversion.composite``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from dl_lightning.animation import animate_inversion, get_motion, inversion_ws
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
from dl_lightning.data.images import center_crop_resize, pil_to_tensor, tensor_to_uint8
from dl_lightning.data.photos import open_photo, photo_at
from dl_lightning.files import atomic_path
from dl_lightning.inversion.losses import PerceptualConfig
from dl_lightning.inversion.photo_animation import (
    RegionChange,
    drop_land_coloured,
    horizon_from_mask,
    mask_to_alpha,
    photo_frames,
    user_mask,
)
from dl_lightning.inversion.pipeline import invert_photo
from dl_lightning.inversion.result import Inversion
from dl_lightning.media import make_grid, save_image, write_streams
from dl_lightning.training.companions import ensure_companion


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    cols = sorted({k for m in metrics.values() for k in m}, key=["mse", "psnr", "lpips", "seconds"].index)
    print(f"{'stage':<10}" + "".join(f"{c:>10}" for c in cols))
    for stage, m in metrics.items():
        print(f"{stage:<10}" + "".join(f"{m[c]:>10.4f}" if c in m else f"{'-':>10}" for c in cols))


def fill_companions(args: argparse.Namespace) -> None:
    """Networks the user did not name: the GAN's companions, trained now if missing (not with ``--no-train``)."""
    if args.inversion or args.no_train:
        return
    needed = {
        "segmenter": not args.mask,
        "encoder": True,
        "lighting": args.daytime != "fixed",
        "upsampler": args.size != 0,
    }
    for name, need in needed.items():
        if need and getattr(args, name) is None:
            setattr(args, name, str(ensure_companion(name, args.ckpt)))


def dynamic_mask(
    args: argparse.Namespace, photo_lr: torch.Tensor, photo_size: tuple[int, int]
) -> tuple[torch.Tensor | None, str]:
    """(1, 1, R, R) dynamic mask of the photo and where it came from (user mask, segmenter, or none)."""
    if args.mask:
        return user_mask(args.mask, photo_size, args.fit, photo_lr.shape[-1]).to(photo_lr.device), f"--mask {args.mask}"
    path = args.segmenter or (DEFAULT_SEGMENTER if Path(DEFAULT_SEGMENTER).is_file() else None)
    if path is None:
        print("note: no --mask and no segmenter (make segmenter): the whole frame is treated as moving")
        return None, "none"
    seg = load_segmenter(path).to(photo_lr.device)
    mask = seg.predict(photo_lr)[:, None].float()
    if args.raw_mask:
        return mask, f"segmenter {path}"
    mask, dropped = drop_land_coloured(mask, photo_lr)
    return mask, f"segmenter {path}, {dropped} land-coloured px of {mask.shape[-1]}x{mask.shape[-1]} dropped"


def upsampler(args: argparse.Namespace) -> tuple[torch.nn.Module | None, str]:
    """The x4 super-resolution net for the dynamic region (``--upsampler``, else the default if trained) or None."""
    if str(args.upsampler).lower() == "none":
        return None, "bicubic"
    path = args.upsampler or (DEFAULT_UPSAMPLER if Path(DEFAULT_UPSAMPLER).is_file() else None)
    if path is None:
        print("note: no x4 upsampler (make upsampler): the sky and water are upsampled bicubically")
        return None, "bicubic"
    return load_upsampler(path).to(args.device), f"upsampler {path}"


def animate_photo(args: argparse.Namespace, formats: list[str]) -> list[Path]:
    out, dev, times = Path(args.out), args.device, {}
    G = load_inversion(args.inversion).G if args.inversion else load_generator(args.ckpt)
    if not args.inversion:
        square, geometry = open_photo(args.image, args.fit)  # a bad photo fails before any training
    t0 = time.perf_counter()
    fill_companions(args)
    times["training"] = time.perf_counter() - t0
    A = load_lighting(args.lighting, G).to(dev) if args.lighting else None
    if args.daytime != "fixed" and A is None:
        print(f"note: --daytime {args.daytime} needs --lighting (network A) for a photo; keeping its lighting fixed")
    written, report = [], {}
    t0 = time.perf_counter()
    if args.inversion:
        inv = load_inversion(args.inversion)
        square, geometry, mask = None, None, None
    else:
        photo_lr = pil_to_tensor(center_crop_resize(square, G.cfg.resolution))[None].to(dev)
        mask, source = dynamic_mask(args, photo_lr, geometry.source)
        times["mask"] = time.perf_counter() - t0
        report.update({"image": str(args.image), "mask": source, "encoder": args.encoder, "lighting": args.lighting})
        inv = invert(args, G, A, photo_lr, mask, dev)
        times["inversion"] = sum(m["seconds"] for m in inv.metrics.values())
        report["stages"] = inv.metrics
        strip = torch.cat([inv.photo] + [inv.stages[k] for k in ("encoder", "optimised", "finetuned")])
        written.append(save_image(make_grid(strip, nrow=4), out / "reconstruction.png"))
        written.append(save_inversion(inv, out / "inversion.safetensors"))
    horizon = horizon_arg(args.horizon, horizon_from_mask(mask) if mask is not None else None)
    report["horizon"] = horizon
    motion = get_motion(args.motion, horizon=horizon)
    inv.to(dev)
    zdyn_end = parse_vector(args.zdyn_end, inv.G.cfg.z_dyn_dim, "--zdyn-end")
    t0 = time.perf_counter()
    if square is None or args.size == 0:  # generator resolution (a saved inversion keeps no full-size photo)
        frames = animate_inversion(inv, motion, args.frames, args.daytime, A, zdyn_end, args.chunk, args.seed)
        written += write_streams(
            frames, {"photo": lambda b: tensor_to_uint8(b[0])}, out, formats, args.fps, args.frames
        )
    else:
        photo = photo_at(square, geometry, args.size)
        alpha = mask_to_alpha(mask.cpu() if mask is not None else None, photo, geometry)
        written.append(save_image(tensor_to_uint8((alpha * 2 - 1).expand(-1, 3, -1, -1)[0]), out / "mask.png"))
        ws = inversion_ws(inv, args.frames, args.daytime, A, zdyn_end, args.seed)
        relight = A is not None and args.daytime != "fixed"
        change = RegionChange(alpha)
        up, report["upsampler"] = upsampler(args)

        def to_frame(batch: torch.Tensor) -> np.ndarray:
            change.add(batch)
            return tensor_to_uint8(batch[0])

        frames = (f.cpu() for f in photo_frames(inv, ws, motion, photo, alpha, geometry, relight, up, args.chunk))
        written += write_streams(frames, {"photo": to_frame}, out, formats, args.fps, args.frames)
        report.update(
            {
                "size": list(photo.shape[-2:]),
                "motion": args.motion,
                "daytime": args.daytime if relight else "fixed",
                "region_change": change.result(),
            }
        )
    times["animation"] = time.perf_counter() - t0
    report["seconds"] = times
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2))
    written.append(out / "metrics.json")
    if "region_change" in report:
        rc = report["region_change"]
        print(
            f"frame-to-frame change: static region {rc['change_static']:.5f}, dynamic region {rc['change_dynamic']:.5f}"
        )
    return written


def invert(args: argparse.Namespace, G, A, photo_lr: torch.Tensor, mask: torch.Tensor | None, dev) -> Inversion:
    encoder = load_encoder(args.encoder, G).to(dev) if args.encoder else None
    if encoder is None:
        print("note: no --encoder given; inversion starts from the mean latent")
    perceptual = PerceptualConfig(args.lpips_weight, args.lpips_net, args.lpips_weights, args.lpips_random)
    inv = invert_photo(
        photo_lr,
        G.to(dev),
        encoder,
        A,
        args.optim_steps,
        args.finetune_steps,
        perceptual.build(),
        args.lpips_weight,
        dynamic_mask=mask,
    )
    print_metrics(inv.metrics)
    return inv
