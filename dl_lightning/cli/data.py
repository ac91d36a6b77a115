"""``dl-data``: build the synthetic dataset or convert photo/video folders into WebDataset shards."""

from __future__ import annotations

import argparse

from dl_lightning.data.synthetic.dataset import NUM_STATIC, NUM_VIDEOS
from dl_lightning.errors import UserError, cli_entry


def _common(p: argparse.ArgumentParser, resolution: int, shard_size: int) -> None:
    p.add_argument("--out", required=True, help="output dataset folder (written atomically, with manifest.json)")
    p.add_argument("--resolution", type=int, default=resolution, help="square side in pixels (power of two)")
    p.add_argument("--shard-size", type=int, default=shard_size, help="samples per tar shard")
    p.add_argument("--format", dest="fmt", choices=["jpg", "png"], default="jpg", help="image encoding in shards")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def _mixing(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--min-shards", type=int, default=32, help="at least this many shards (>= ranks x workers of the biggest run)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random order the samples are written in")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dl-data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synthetic", help="render the embedded procedural landscape timelapses")
    _common(p, 64, 128)
    p.add_argument("--num-static", type=int, default=NUM_STATIC, help="number of still images")
    p.add_argument("--num-videos", type=int, default=NUM_VIDEOS, help="number of videos")
    p.add_argument("--frames", type=int, default=16, help="frames per video")
    p.add_argument(
        "--daytime-span", type=float, default=0.15, help="max change of time of day per video (fraction of a day)"
    )
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")

    p = sub.add_parser("world", help="render the photo segmenter's photo-like stills with their moving region")
    p.add_argument("--out", required=True, help="output dataset folder (held-out scenes in OUT/val)")
    p.add_argument("--resolution", type=int, default=128, help="square side in pixels (power of two)")
    p.add_argument("--num", type=int, default=6000, help="training stills")
    p.add_argument("--num-val", type=int, default=256, help="held-out stills")
    p.add_argument("--extras", action="store_true", help="also the photo world's extras (an experiment, see its doc)")
    p.add_argument("--haze", action="store_true", help="also the photo world's distant land in haze (see its doc)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")

    p = sub.add_parser("images", help="convert a folder of photos into static-image shards")
    p.add_argument("src", help="folder of jpg/png/webp/... photos (searched recursively)")
    _common(p, 256, 1000)
    _mixing(p)
    p.add_argument(
        "--upscale", action="store_true", help="enlarge images smaller than --resolution instead of skipping them"
    )

    p = sub.add_parser("videos", help="convert a folder of timelapse videos or frame folders into video shards")
    p.add_argument("src", help="folder of mp4/mov/webm/... videos and/or sub-folders of frames")
    _common(p, 256, 100)
    _mixing(p)
    p.add_argument("--frames-per-clip", type=int, default=16, help="frames per shard sample")
    p.add_argument("--every", type=int, default=1, help="keep one frame in EVERY (frame-rate subsampling)")
    p.add_argument(
        "--max-clips-per-video", type=int, default=None, help="keep only a video's first N clips (default: all)"
    )
    p.add_argument(
        "--upscale", action="store_true", help="enlarge frames smaller than --resolution instead of skipping"
    )
    p.add_argument(
        "--masks", default="photo", choices=["photo", "none"],
        help="each clip's dynamic mask (mask.png) for the motion segmenter, the stillness term and the motion "
        "metrics: photo = the shipped photo segmenter on the clip's median frame (dl_lightning/photo/clip_mask.py)",
    )  # fmt: skip
    p.add_argument("--segmenter", help="photo segmenter for --masks photo (default: the shipped one)")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.resolution < 8 or args.resolution & (args.resolution - 1):
        raise UserError(f"--resolution must be a power of two >= 8, got {args.resolution}")
    if args.command == "synthetic":
        from dl_lightning.data.synthetic.dataset import build_synthetic

        if min(args.num_static, args.num_videos) < 0 or args.frames < 2:
            raise UserError("--num-static/--num-videos must be >= 0 and --frames >= 2")
        writer = build_synthetic(
            args.out,
            args.resolution,
            args.num_static,
            args.num_videos,
            args.frames,
            args.daytime_span,
            args.seed,
            args.shard_size,
            args.fmt,
            args.workers,
            args.overwrite,
        )
    elif args.command == "world":
        from dl_lightning.data.synthetic.world_dataset import build_world

        if args.num < 1 or args.num_val < 1:
            raise UserError("--num and --num-val must be >= 1")
        writer = build_world(args.out, args.resolution, args.num, args.num_val, args.seed, workers=args.workers,
                             overwrite=args.overwrite, extras=args.extras, haze=args.haze)  # fmt: skip
    elif args.command == "images":
        from dl_lightning.data.convert_images import images_to_shards

        writer = images_to_shards(
            args.src, args.out, args.resolution, args.shard_size, args.upscale, args.fmt, args.overwrite,
            args.min_shards, args.seed,
        )  # fmt: skip
    else:
        from dl_lightning.data.convert_videos import videos_to_shards
        from dl_lightning.photo.clip_mask import clip_masker

        masker = clip_masker(args.segmenter) if args.masks == "photo" else None
        writer = videos_to_shards(
            args.src,
            args.out,
            args.resolution,
            args.frames_per_clip,
            args.every,
            args.max_clips_per_video,
            args.shard_size,
            args.upscale,
            args.fmt,
            args.overwrite,
            args.min_shards,
            args.seed,
            masker,
        )
    print(writer.summary())
    return 0


if __name__ == "__main__":
    main()
