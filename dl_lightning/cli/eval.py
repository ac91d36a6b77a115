"""``dl-eval``: evaluation jobs. Results are printed as a table and written to JSON.

    dl-eval gan --ckpt CKPT --data data/synthetic64 --num 1000 [--features inception --inception-weights P]
                [--segmenter runs/segmenter64/checkpoints/last.ckpt]
    dl-eval run --run RUN_DIR [--last 3 --resamples 3] # a run: mean of its last checkpoints, spreads of each figure
    dl-eval videos --data data/synthetic64             # animation metrics of real videos (with masks)
    dl-eval lpips a.png b.png [--lpips-weights P]      # LPIPS between two images or two folders
    dl-eval photo --image P --video V [--mask M]       # an animated photo: frame 0 vs the photo, motion in/out
    dl-eval lighting --ckpt CKPT --lighting A_CKPT     # how well A inverts the mapping (held-out latents)
    dl-eval segmenter --data data/synthetic64          # segmenter accuracy / IoU on held-out video frames
    dl-eval scene-net --data data/scenes64             # how well the scene network reads held-out renders
    dl-eval upsampler --data data/synthetic256         # x4 super-resolution PSNR/LPIPS against bicubic

``gan`` measures generated frames against real stills in the scene network's features (the default,
:mod:`dl_lightning.metrics.scene_quality`: Fréchet distance, KID, precision and recall, beside the real-against-real
floor and a calibration ladder of damaged renders; scene statistics against the renderer's prior; isolated pixels
and high-frequency energy against the real stills'), or FID and KID in Inception's (or, as a smoke test, random)
features against real stills and video frames; then animation metrics (frame change, flicker, daytime range)
of generated time-lapses and, with a segmenter, the dynamic-region motion table
(:mod:`dl_lightning.metrics.motion`): change inside and outside the predicted dynamic region for several motion
presets with the time of day fixed and moving, beside the same figures for real videos with true and predicted masks.
``--wandb-run ID`` also logs the numbers to that W&B run (offline without an API key).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tqdm import tqdm

from dl_lightning.animation import DAYTIME_PATHS, DEFAULT_MOTION, METRIC_MOTION, load_motions
from dl_lightning.checkpoints import (
    DEFAULT_SCENE_NET,
    DEFAULT_SEGMENTER,
    load_generator,
    load_lighting,
    load_scene_net,
)
from dl_lightning.cli.eval_gan import eval_gan, eval_run, segmenter_or_none
from dl_lightning.data.images import from_uint8
from dl_lightning.data.ordered import dataset_videos
from dl_lightning.errors import UserError, cli_entry
from dl_lightning.files import atomic_path
from dl_lightning.hardware import default_device
from dl_lightning.metrics.animation_metrics import animation_metrics, mean_of
from dl_lightning.metrics.features import FEATURES
from dl_lightning.metrics.lighting_accuracy import lighting_accuracy
from dl_lightning.metrics.lpips_metric import load_lpips, lpips_between, lpips_or_none
from dl_lightning.metrics.motion import real_motion
from dl_lightning.metrics.segmentation import segmentation_metrics


# ---------------------------------------------------------------- jobs
def eval_videos(args: argparse.Namespace) -> dict:
    res = args.resolution
    videos = list(tqdm(dataset_videos(args.data, args.num, res), desc="videos", unit="video"))
    if not videos:
        raise UserError(f"{args.data} has no videos")
    rows = [animation_metrics(v, m) for v, m in videos]
    out = {"data": str(args.data), "videos": len(rows), "animation_real": mean_of(rows)}
    segmenter = segmenter_or_none(args.segmenter)
    out["motion_real"] = real_motion(videos, segmenter)
    return out


def eval_lpips(args: argparse.Namespace) -> dict:
    values = lpips_between(load_lpips(args.net, args.lpips_weights, args.random_backbone), args.a, args.b)
    return {
        "net": args.net,
        "random_backbone": args.random_backbone,
        "lpips_mean": sum(values.values()) / len(values),
        "lpips": values,
    }


def eval_photo(args: argparse.Namespace) -> dict:
    """Frame 0 of an animated photo against the photo (SSIM, PSNR, LPIPS), and its motion in and out of the mask."""
    from dl_lightning.data.convert_videos import read_video_frames
    from dl_lightning.data.images import open_rgb, pil_to_tensor
    from dl_lightning.metrics.photo_video import photo_video_metrics

    photo = pil_to_tensor(open_rgb(args.image))[None]
    mask = pil_to_tensor(open_rgb(args.mask))[0] > 0 if args.mask else None
    model = lpips_or_none(args.net, args.lpips_weights, args.random_backbone, without="no LPIPS figure")
    frames = (pil_to_tensor(f) for f in read_video_frames(args.video))
    result = photo_video_metrics(photo, frames, mask, model)
    print(f"frame 0 against {args.image}: SSIM {result['ssim']:.4f}, PSNR {result['psnr']:.2f} dB"
          + (f", LPIPS {result['lpips']:.4f}" if "lpips" in result else ""))  # fmt: skip
    print(f"motion over {result['frames']} frames: {result['change_moving']:.4f} in the moving region, "
          f"{result['change_still']:.4f} outside (ratio {result['ratio']:.1f})")  # fmt: skip
    return {"image": str(args.image), "video": str(args.video), "mask": args.mask, **result}


def eval_lighting(args: argparse.Namespace) -> dict:
    G = load_generator(args.ckpt)
    return lighting_accuracy(G, load_lighting(args.lighting, G), args.num, args.seed)


def eval_segmenter(args: argparse.Namespace) -> dict:
    from dl_lightning.data.masks import load_masked

    images, masks = load_masked(args.data, "videos", args.resolution, args.num)
    return segmentation_metrics(segmenter_or_none(args.segmenter or DEFAULT_SEGMENTER), images, masks)


def eval_scene_net(args: argparse.Namespace) -> dict:
    from dl_lightning.data.scenes import load_scenes
    from dl_lightning.metrics.scene_reading import scene_reading

    images, classes, targets = load_scenes(args.data, args.resolution, args.num, args.skip)
    return {"frames": len(images), **scene_reading(load_scene_net(args.scene_net), images, classes, targets)}


def eval_upsampler(args: argparse.Namespace) -> dict:
    from dl_lightning.checkpoints import DEFAULT_UPSAMPLER, load_upsampler
    from dl_lightning.data.masks import load_masked
    from dl_lightning.metrics.superres import superres_metrics

    net = load_upsampler(args.upsampler or DEFAULT_UPSAMPLER)
    frames = from_uint8(load_masked(args.data, "videos", args.resolution, args.num)[0])
    result = superres_metrics(net, frames, lpips_or_none("alex", args.lpips_weights, without="reporting PSNR only"))
    return {"frames": len(frames), **result, "psnr_gain_db": result["upsampler"]["psnr"] - result["bicubic"]["psnr"]}


# ---------------------------------------------------------------- output
def flatten(d: dict, prefix: str = "") -> dict[str, float | str]:
    flat = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        flat.update(flatten(v, key + "/") if isinstance(v, dict) else {key: v})
    return flat


def print_table(results: dict) -> None:
    """Every scalar of ``results``, one per line (lists of records, such as ``dl-eval run``'s, are in the JSON)."""
    flat = {k: v for k, v in flatten(results).items() if not (isinstance(v, list) and v and isinstance(v[0], dict))}
    width = max(len(k) for k in flat)
    for k, v in flat.items():
        print(f"{k:<{width}}  {v:.5g}" if isinstance(v, float) else f"{k:<{width}}  {v}")


def log_wandb(results: dict, run_id: str, project: str) -> None:
    import wandb

    from dl_lightning.loggers import wandb_has_credentials

    mode = "online" if wandb_has_credentials() else "offline"
    with wandb.init(id=run_id, project=project, resume="allow", mode=mode, dir="runs") as run:
        run.summary.update({f"eval/{k}": v for k, v in flatten(results).items() if isinstance(v, (int, float))})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dl-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(q):
        q.add_argument("--json", help="write results here (default: outputs/eval/<command>-<time>.json)")
        q.add_argument("--wandb-run", help="also log results to this W&B run id")
        q.add_argument("--wandb-project", default="dl_lightning")

    def generated_vs_real(q):
        """The flags ``gan`` and ``run`` share: the real stills, the sample size and how samples are drawn."""
        q.add_argument("--data", help="dataset folder of the real stills (default data/synthetic64, or --config's)")
        q.add_argument("--config", help="the run's config (its data section names --data and --video-data)")
        q.add_argument("--num", type=int, default=1000, help="images per set (real, generated, each ladder rung)")
        q.add_argument("--batch", type=int, default=50)
        q.add_argument("--truncation", type=float, default=1.0)
        q.add_argument("--seed", type=int, default=0, help="the samples' seed (dl-eval run: resample i uses seed + i)")
        q.add_argument("--scene-net", default=DEFAULT_SCENE_NET, help="scene network weights (.safetensors or .ckpt)")
        q.add_argument("--workers", type=int, default=2, help="rendering processes for the reference set and ladder")
        q.add_argument("--device", default=default_device())

    q = sub.add_parser(
        "gan", help="quality of generated frames (scene-network distances, statistics) + animation metrics"
    )
    q.add_argument("--ckpt", required=True, help="GAN .ckpt or exported .safetensors")
    generated_vs_real(q)
    q.add_argument(
        "--video-data", help="dataset folder of the real videos (default: --config's video_root, else --data)"
    )
    q.add_argument(
        "--per-frame-videos", type=int, default=0,
        help="also the quality per frame index (first, middle, last) of this many generated time-lapses",
    )  # fmt: skip
    q.add_argument(
        "--features",
        default="scene",
        choices=FEATURES,
        help="scene: the shipped scene network (the project's quality metric); inception: FID/KID with local "
        "weights; random: a smoke test of the code path (an untrained network does not see picture quality)",
    )
    q.add_argument("--no-ladder", action="store_true", help="skip the calibration ladder (5 x --num renders)")
    q.add_argument(
        "--relight-pairs", type=int, default=200,
        help="generated and rendered pairs for the relighting figure (the land's structure change between two times "
        "of day, against the renderer's; 0: skip)",
    )  # fmt: skip
    q.add_argument("--inception-weights", help="local InceptionV3 weights (pt_inception-2015-12-05-6726825d.pth)")
    q.add_argument("--kid-subset-size", type=int, default=1000)
    q.add_argument("--videos", type=int, default=8, help="generated time-lapses for animation metrics")
    q.add_argument("--frames", type=int, default=24)
    q.add_argument("--motion", default=DEFAULT_MOTION, help=f"one of {', '.join(load_motions())}")
    q.add_argument("--daytime", default="slerp", choices=DAYTIME_PATHS)
    q.add_argument(
        "--segmenter", help=f"SegmenterModule checkpoint for the motion table (default {DEFAULT_SEGMENTER} if present)"
    )
    q.add_argument(
        "--motion-presets",
        default=f"{METRIC_MOTION},{DEFAULT_MOTION},towards_viewer",
        help="comma-separated presets for the motion table",
    )
    q.add_argument(
        "--motion-daytimes", default="fixed,slerp", help="comma-separated daytime paths for the motion table"
    )
    q.add_argument("--motion-videos", type=int, default=32, help="generated and real videos per motion-table row")
    q.add_argument(
        "--motion-by-layer",
        action="store_true",
        help="also the first preset / daytime row with S_dyn in one synthesis layer at a time (which layers move what)",
    )
    common(q)

    q = sub.add_parser(
        "run",
        help="a run's scene-network figures: the mean of its last checkpoints, with spreads between "
        "checkpoints and between resamples",
    )
    q.add_argument("--run", help="the run folder (its default_root_dir): its --last latest checkpoints/step*.ckpt")
    q.add_argument("--ckpt", action="append", help="a checkpoint (repeat the flag for several); instead of --run")
    q.add_argument("--last", type=int, default=3, help="how many of --run's latest checkpoints")
    q.add_argument("--resamples", type=int, default=3, help="independent generated sets per checkpoint")
    generated_vs_real(q)
    common(q)

    q = sub.add_parser("photo", help="an animated photo: frame 0 against the photo, motion in and out of its mask")
    q.add_argument("--image", required=True, help="the photo that was animated")
    q.add_argument("--video", required=True, help="its animation (mp4 or gif)")
    q.add_argument("--mask", help="its moving region (white = moves), e.g. the mask.png dl-animate writes")
    q.add_argument("--net", default="alex", choices=["alex", "vgg"])
    q.add_argument("--lpips-weights", help="local torchvision backbone weights (e.g. alexnet-owt-7be5be79.pth)")
    q.add_argument("--random-backbone", action="store_true", help="random LPIPS backbone (smoke tests only)")
    common(q)

    q = sub.add_parser("videos", help="animation metrics of a dataset's videos (inside/outside the dynamic mask)")
    q.add_argument("--data", default="data/synthetic64")
    q.add_argument("--num", type=int, default=32, help="number of clips")
    q.add_argument("--resolution", type=int, default=64)
    q.add_argument(
        "--segmenter",
        help=f"SegmenterModule checkpoint: also measure with predicted masks (default {DEFAULT_SEGMENTER} if present)",
    )
    common(q)

    q = sub.add_parser("lpips", help="LPIPS between two images (or folders of same-named images)")
    q.add_argument("a")
    q.add_argument("b")
    q.add_argument("--net", default="alex", choices=["alex", "vgg"])
    q.add_argument("--lpips-weights", help="local torchvision backbone weights (e.g. alexnet-owt-7be5be79.pth)")
    q.add_argument("--random-backbone", action="store_true", help="random backbone (smoke tests only)")
    common(q)

    q = sub.add_parser("lighting", help="accuracy of lighting network A on held-out mapping samples")
    q.add_argument("--ckpt", required=True, help="GAN .ckpt or exported .safetensors")
    q.add_argument("--lighting", required=True, help="LightingNetModule checkpoint")
    q.add_argument("--num", type=int, default=2048, help="held-out latents")
    q.add_argument("--seed", type=int, default=999, help="seed of the held-out latents (training draws its own)")
    common(q)

    q = sub.add_parser(
        "segmenter", help="segmenter pixel accuracy and dynamic IoU on video frames (held out from training)"
    )
    q.add_argument("--segmenter", help=f"SegmenterModule checkpoint (default {DEFAULT_SEGMENTER})")
    q.add_argument("--data", default="data/synthetic64")
    q.add_argument("--num", type=int, default=512, help="frames (first and last of each clip)")
    q.add_argument("--resolution", type=int, default=64)
    common(q)

    q = sub.add_parser(
        "scene-net", help="scene network: class IoU, tree/ridge/water/time-of-day errors on held-out stills"
    )
    q.add_argument("--scene-net", default=DEFAULT_SCENE_NET, help="scene network weights (.safetensors or .ckpt)")
    q.add_argument("--data", default="data/scenes64", help="labelled renders (dl-data synthetic, this version)")
    q.add_argument("--skip", type=int, default=3584, help="stills to skip (the training part of configs/scene_net)")
    q.add_argument("--num", type=int, default=512, help="held-out stills")
    q.add_argument("--resolution", type=int, default=64)
    common(q)

    q = sub.add_parser("upsampler", help="x4 super-resolution PSNR/LPIPS against bicubic on held-out video frames")
    q.add_argument("--upsampler", help="UpsamplerModule checkpoint (default runs/upsampler256/checkpoints/last.ckpt)")
    q.add_argument("--data", default="data/synthetic256", help="synthetic dataset at the high resolution")
    q.add_argument("--num", type=int, default=32, help="frames (first and last of each clip)")
    q.add_argument("--resolution", type=int, default=256, help="high-resolution side (the input is a quarter of it)")
    q.add_argument("--lpips-weights", help="local torchvision alex weights for LPIPS (skipped with one line without)")
    common(q)
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "num", 2) < 2:
        raise UserError("--num must be >= 2")
    if args.command == "run" and (bool(args.run) == bool(args.ckpt) or args.last < 1 or args.resamples < 1):
        raise UserError("dl-eval run: give --run DIR or --ckpt PATH (not both), with --last and --resamples >= 1")
    if 0 < getattr(args, "per_frame_videos", 0) < 4:
        raise UserError("--per-frame-videos must be 0 (off) or at least 4 (precision and recall need k + 1 = 4)")
    job = {
        "gan": eval_gan,
        "run": eval_run,
        "videos": eval_videos,
        "lpips": eval_lpips,
        "photo": eval_photo,
        "lighting": eval_lighting,
        "segmenter": eval_segmenter,
        "scene-net": eval_scene_net,
        "upsampler": eval_upsampler,
    }[args.command]
    t0 = time.perf_counter()
    results = {"command": args.command, **job(args), "seconds": round(time.perf_counter() - t0, 2)}
    print_table(results)
    path = Path(args.json or f"outputs/eval/{args.command}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    print(f"wrote {path}")
    if args.wandb_run:
        log_wandb(results, args.wandb_run, args.wandb_project)
    return 0


if __name__ == "__main__":
    main()
