"""``dl-animate``: time-lapse videos from a trained generator.

    dl-animate --ckpt runs/synthetic64/checkpoints/last.ckpt --out outputs/animate --num 4 --frames 48

Each scene keeps ``z_st`` and ``S_st`` fixed, warps ``S_dyn`` with the ``--motion`` preset and moves
``z_dyn`` along the ``--daytime`` path. Writes ``scene_XXX.mp4``/``.gif`` per scene and, for
``--num > 1``, ``grid.mp4``/``.gif`` with all scenes side by side.

With ``--image PHOTO`` the photo is inverted first (encoder -> latent optimisation -> generator
fine-tuning), then animated at up to its own resolution (``--size``): its own sky and water (``--mask``, or
the segmenter's prediction) move, the land stays the photo's own pixels; the generator relights it when the
daytime moves (``--sky generator``: the generator's frames fill the sky, as in the paper). Networks not given
are found where ``make train`` and the last photo left them, and the needed ones trained first if missing
(``--no-train``: go without; :func:`dl_lightning.training.companions.photo_network_paths`). Writes
``photo.mp4``/``.gif``, ``mask.png``, ``reconstruction.png`` (photo | encoder | optimised |
fine-tuned), ``inversion.safetensors`` (re-animate later with ``--inversion``) and ``metrics.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dl_lightning.animation import DAYTIME_PATHS, DEFAULT_MOTION, get_motion, load_motions, sample_timelapse
from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, DEFAULT_UPSAMPLER, find_gan, load_generator
from dl_lightning.cli.animate_photo import add_photo_flags, animate_photo_cli
from dl_lightning.cli.common import horizon_arg, parse_vector
from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.errors import UserError, cli_entry
from dl_lightning.hardware import default_device
from dl_lightning.media import make_grid, write_streams
from dl_lightning.models.generator import VIEW_TRUNCATION


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dl-animate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--ckpt",
        help="GAN Lightning checkpoint (.ckpt) or exported generator (.safetensors); default: make train's, else the "
        "shipped long-recipe model",
    )
    p.add_argument("--out", default="outputs/animate", help="output folder")
    p.add_argument("--frames", type=int, default=48, help="frames per video")
    p.add_argument("--fps", type=int, default=12, help="frames per second")
    p.add_argument("--seed", type=int, default=0, help="latent seed")
    p.add_argument("--num", type=int, default=4, help="number of scenes")
    p.add_argument("--truncation", type=float, default=VIEW_TRUNCATION, help="truncation psi (1 = none)")
    p.add_argument("--motion", default=DEFAULT_MOTION, help=f"S_dyn motion preset: {', '.join(load_motions())}")
    p.add_argument(
        "--horizon",
        default="auto",
        help="normalised y in [-1, 1] below which motion is mirrored (water); 'none' disables; "
        "'auto': from the photo's mask, 0 (the middle) for generated scenes",
    )
    p.add_argument(
        "--daytime", default=None, choices=DAYTIME_PATHS,
        help="z_dyn path over the video (default: slerp for generated scenes, fixed for --image as on the page: a "
        "photo's moving time of day needs the lighting network A)",
    )  # fmt: skip
    p.add_argument("--zdyn-start", help="start z_dyn as comma-separated values (default: random)")
    p.add_argument("--zdyn-end", help="end z_dyn as comma-separated values (default: random)")
    p.add_argument("--formats", default="mp4,gif", help="comma-separated subset of mp4,gif")
    p.add_argument("--no-grid", action="store_true", help="skip the side-by-side grid video")
    p.add_argument("--chunk", type=int, default=8, help="frames generated per batch (memory vs speed)")
    p.add_argument("--device", default=default_device(), help="torch device")
    g = p.add_argument_group("real photos")
    g.add_argument("--image", help="animate this photo (inverted first)")
    g.add_argument("--inversion", help="re-animate a saved inversion.safetensors instead of inverting again")
    g.add_argument(
        "--encoder",
        help="encoder checkpoint (configs/encoder; default: the one beside --ckpt if current, never trained on the "
        "spot; without one the inversion starts from the mean latent)",
    )
    g.add_argument(
        "--lighting",
        help="lighting network A checkpoint (configs/lighting; default: beside --ckpt, trained first if missing "
        "when the photo's --daytime moves)",
    )
    g.add_argument(
        "--no-train",
        action="store_true",
        help="do not train missing networks (A, segmenter, upsampler) on the spot: go without them",
    )
    add_photo_flags(g)
    g.add_argument("--mask", help="dynamic mask image of the photo's size, white = moves (default: the segmenter's)")
    g.add_argument(
        "--segmenter",
        help="segmenter for the moving region: .safetensors or .ckpt, or a Hugging Face SegFormer folder (config.json "
        f"and weights, e.g. nvidia/segformer-b0-finetuned-ade-512-512); default: the shipped {DEFAULT_PHOTO_SEGMENTER}",
    )
    g.add_argument(
        "--upsampler",
        help=f"x4 super-resolution checkpoint for --sky generator (default: {DEFAULT_UPSAMPLER}, trained first if "
        "missing; 'none': bicubic)",
    )
    g.add_argument("--lpips-net", default="alex", choices=["alex", "vgg"])
    g.add_argument("--lpips-weights", help="local torchvision backbone weights for LPIPS (no downloads here)")
    g.add_argument("--lpips-random", action="store_true", help="random LPIPS backbone (smoke tests only)")
    return p


def check_args(args: argparse.Namespace) -> list[str]:
    if not args.inversion:
        args.ckpt, what = find_gan(args.ckpt)
        print(f"model: {args.ckpt} ({what})")
    if args.frames < 1:
        raise UserError(f"--frames must be >= 1, got {args.frames}")
    if args.num < 1:
        raise UserError(f"--num must be >= 1, got {args.num}")
    if args.chunk < 1:
        raise UserError(f"--chunk must be >= 1, got {args.chunk}")
    if str(args.horizon).lower() not in ("auto", "none"):
        try:
            args.horizon = float(args.horizon)
        except ValueError:
            raise UserError(f"--horizon must be a number in [-1, 1], 'auto' or 'none', got {args.horizon!r}") from None
    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    if not formats or any(f not in ("mp4", "gif") for f in formats):
        raise UserError(f"--formats must name mp4 and/or gif, got {args.formats!r}")
    return formats


def animate(args: argparse.Namespace) -> list[Path]:
    """Render and write the videos; returns the written paths."""
    formats = check_args(args)
    if args.image or args.inversion:
        return animate_photo_cli(args, formats)
    motion = get_motion(args.motion, horizon=horizon_arg(args.horizon, 0.0))
    G = load_generator(args.ckpt).to(args.device)
    n, dim = args.num, G.cfg.z_dyn_dim
    start, end = parse_vector(args.zdyn_start, dim, "--zdyn-start"), parse_vector(args.zdyn_end, dim, "--zdyn-end")
    frames = sample_timelapse(
        G, n, args.frames, args.seed, motion, args.daytime or "slerp", args.truncation, args.chunk, start, end
    )
    named = {f"scene_{i:03d}": (lambda batch, i=i: tensor_to_uint8(batch[i])) for i in range(n)}
    if n > 1 and not args.no_grid:
        named["grid"] = make_grid
    return write_streams(frames, named, Path(args.out), formats, args.fps, args.frames)


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = animate(args)
    print(
        f"wrote {len(paths)} file(s) to {args.out}: "
        f"{', '.join(p.name for p in paths[:6])}{' ...' if len(paths) > 6 else ''}"
    )
    return 0


if __name__ == "__main__":
    main()
