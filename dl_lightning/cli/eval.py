"""``dl-eval``: evaluation jobs. Results are printed as a table and written to JSON.

    dl-eval gan --ckpt CKPT --data data/synthetic64 --num 1000 [--features inception --inception-weights P]
                [--segmenter runs/segmenter64/checkpoints/last.ckpt]
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

import torch
from tqdm import tqdm

from dl_lightning.animation import DAYTIME_PATHS, DEFAULT_MOTION, METRIC_MOTION, load_motions
from dl_lightning.checkpoints import (
    DEFAULT_SCENE_NET,
    DEFAULT_SEGMENTER,
    load_generator,
    load_lighting,
    load_scene_net,
    load_segmenter,
)
from dl_lightning.data.images import from_uint8
from dl_lightning.data.ordered import dataset_videos, real_batches
from dl_lightning.data.shards import read_manifest
from dl_lightning.errors import UserError, cli_entry
from dl_lightning.files import atomic_path
from dl_lightning.hardware import default_device
from dl_lightning.metrics.animation_metrics import animation_metrics, generated_animation, mean_of
from dl_lightning.metrics.features import FEATURES, make_extractor
from dl_lightning.metrics.fid import fid_vs_data, generated_batches
from dl_lightning.metrics.lighting_accuracy import lighting_accuracy
from dl_lightning.metrics.lpips_metric import load_lpips, lpips_between, lpips_or_none
from dl_lightning.metrics.motion import motion_by_layer, motion_table, real_motion
from dl_lightning.metrics.scene_quality import reference_sets, scene_quality
from dl_lightning.metrics.segmentation import segmentation_metrics
from dl_lightning.metrics.video_fid import features_of, per_frame_quality


# ---------------------------------------------------------------- jobs
def gan_data(args: argparse.Namespace) -> None:
    """Fill ``--data`` / ``--video-data``: the flags, else the run's ``--config`` (its data section's
    ``static_root`` / ``video_root``), else ``data/synthetic64``; videos default to the stills' folder."""
    static = video = None
    if args.config:
        import yaml

        try:
            init = (yaml.safe_load(Path(args.config).read_text()).get("data") or {}).get("init_args") or {}
        except (OSError, AttributeError, yaml.YAMLError) as err:
            raise UserError(f"--config {args.config}: not a readable run config ({type(err).__name__})") from None
        static, video = init.get("static_root"), init.get("video_root")
    args.data = args.data or static or "data/synthetic64"
    args.video_data = args.video_data or video or args.data


def eval_gan(args: argparse.Namespace) -> dict:
    gan_data(args)
    G = load_generator(args.ckpt).to(args.device)
    out: dict = {"ckpt": str(args.ckpt), "features": args.features, "truncation": args.truncation, "seed": args.seed}
    out["data"], out["video_data"] = str(args.data), str(args.video_data)
    has_videos = int(read_manifest(args.video_data).get("counts", {}).get("videos", 0)) > 0
    if args.features == "scene":
        out["quality"] = print_quality(G, args)
    else:
        feature = make_extractor(args.features, args.inception_weights)
        for source, root in (("static", args.data), ("videos", args.video_data)):
            if source == "static" or has_videos:
                out[f"vs_{source}"] = fid_vs_data(
                    G, root, source, feature, args.num, args.batch, args.truncation, args.seed, args.kid_subset_size
                )
    if args.per_frame_videos > 0:
        out["per_frame"] = print_per_frame(G, args, "videos" if has_videos else "static")
    out["animation_generated"] = generated_animation(
        G, args.videos, args.frames, args.seed, args.motion, args.daytime, args.truncation
    )
    segmenter = _segmenter(args.segmenter) if args.motion_videos > 0 else None
    if args.motion_videos <= 0:
        print("--motion-videos 0: skipping the dynamic-region motion table")
    if segmenter is not None:
        out["motion"] = print_motion_table(G, segmenter, args)
        if args.motion_by_layer:
            out["motion_by_layer"] = print_motion_by_layer(G, segmenter, args)
    return out


def print_quality(G, args: argparse.Namespace) -> dict:
    """The scene-network report (generated, floor, ladder; scene and pixel statistics), printed as tables."""
    res = G.cfg.resolution
    real = torch.cat(list(real_batches(args.data, "static", args.num, res, args.batch)))
    generated = torch.cat([x.cpu() for x in generated_batches(G, args.num, args.batch, args.truncation, args.seed)])
    reference, labels, rungs = reference_sets(len(real), res, ladder=not args.no_ladder, workers=args.workers)
    report = scene_quality(load_scene_net(args.scene_net), real, generated, reference, labels, rungs, args.batch)
    print(f"\nscene-network distances to {len(real)} real stills ({args.data})")
    print(f"{'set':<28} {'FD':>8} {'KID x1e3':>9} {'precision':>9} {'recall':>7}")
    rows = {"generated": report["generated"], "floor (other real scenes)": report["floor"], **report["ladder"]}
    for name, d in rows.items():
        print(f"{name:<28} {d['fd']:8.2f} {d['kid']:9.2f} {d['precision']:9.3f} {d['recall']:7.3f}")
    tv, px = report["scene_tv"], report["pixels"]
    print("\nscene statistics, total variation (water / ridges / daytime / classes), mean tree count")
    stats = report["scene_stats"]
    for name, against in (("generated", "prior"), ("real", "prior"), ("generated_vs_real", "real")):
        t, trees = tv[name], stats[name.split("_vs_")[0]]["mean_trees"]
        tvs = " / ".join(f"{t[k]:.3f}" for k in ("tv_water", "tv_ridges", "tv_daytime", "tv_class_shares"))
        label = f"{name.split('_vs_')[0]} vs {against}"
        print(f"{label:<22} {tvs}, trees {trees:.2f} against {stats[against]['mean_trees']:.2f}")
    print_structure(report["structure"], report["structure_ratio"])
    print(
        f"\npixels: isolated {px['generated']['isolated_rate']:.4f} vs real {px['real']['isolated_rate']:.4f} "
        f"({px['isolated_ratio']:.2f}x); mean |Laplacian| {px['generated']['mean_abs_laplacian']:.4f} vs "
        f"{px['real']['mean_abs_laplacian']:.4f} ({px['laplacian_ratio']:.2f}x)\n"
    )
    return report


def print_structure(structure: dict, ratios: dict) -> None:
    """The structure figures of every set (real first), each set's as a ratio to real's (1 = as real)."""
    names = list(structure["real"])
    short = {n: n.replace("edge_", "").replace("tree_", "t.") for n in names}
    print("\nstructure (scene-network class maps; the real row in absolute values, the others as ratios to it)")
    print(f"{'set':<22} " + " ".join(f"{short[n]:>11}" for n in names))
    print(f"{'real':<22} " + " ".join(f"{structure['real'][n]:11.3f}" for n in names))
    for name, r in ratios.items():
        print(f"{name:<22} " + " ".join(f"{r[n]:10.2f}x" for n in names))


def print_per_frame(G, args: argparse.Namespace, source: str) -> dict:
    """Quality per frame index of ``--per-frame-videos`` generated time-lapses against real ``source`` images."""
    feature = make_extractor(args.features, args.scene_net if args.features == "scene" else args.inception_weights)
    root = args.video_data if source == "videos" else args.data
    real = features_of(real_batches(root, source, args.num, G.cfg.resolution, args.batch, args.seed), feature)
    last = args.frames - 1
    table = per_frame_quality(G, real, feature, args.per_frame_videos, args.frames, sorted({0, last // 2, last}),
                              args.batch, args.seed, args.motion, args.daytime, args.truncation,
                              args.kid_subset_size)  # fmt: skip
    print(f"\nper frame index: {args.per_frame_videos} generated time-lapses ({args.motion}, {args.daytime}) "
          f"against {len(real)} real {source} images of {root}, {args.features} features")  # fmt: skip
    print(f"{'frame':>5} {'FD':>9} {'KID x1e3':>9} {'precision':>9} {'recall':>7}")
    for t, d in table.items():
        print(f"{t:5d} {d['fd']:9.2f} {d['kid_mean'] * 1e3:9.2f} {d['precision']:9.3f} {d['recall']:7.3f}")
    return {str(t): d for t, d in table.items()}


def _segmenter(path: str | None):
    """The segmenter at ``path`` (default location if None); None with one line if there is none."""
    if path is None and not Path(DEFAULT_SEGMENTER).is_file():
        print(
            f"no segmenter at {DEFAULT_SEGMENTER}: skipping the dynamic-region motion table "
            "(dl-train fit --config configs/segmenter/synthetic64.yaml, or --segmenter PATH)"
        )
        return None
    return load_segmenter(path or DEFAULT_SEGMENTER)


def print_motion_table(G, segmenter, args: argparse.Namespace) -> dict:
    """Dynamic-region motion of generated time-lapses (presets x daytime paths) and of real videos."""
    table = motion_table(
        G,
        segmenter.to(args.device),
        dataset_videos(args.video_data, args.motion_videos, G.cfg.resolution),
        args.motion_presets.split(","),
        args.motion_daytimes.split(","),
        args.motion_videos,
        args.frames,
        args.truncation,
        args.seed,
    )
    return _print_motion("dynamic-region motion", table)


def print_motion_by_layer(G, segmenter, args: argparse.Namespace) -> dict:
    """The first preset and daytime path of the motion table, with S_dyn acting in one layer at a time."""
    preset, daytime = args.motion_presets.split(",")[0], args.motion_daytimes.split(",")[0]
    table = motion_by_layer(
        G,
        segmenter,
        num=args.motion_videos,
        frames=args.frames,
        motion=preset,
        daytime=daytime,
        truncation=args.truncation,
        seed=args.seed,
    )
    return _print_motion(f"S_dyn in one layer ({preset}, {daytime})", table)


def _print_motion(title: str, table: dict) -> dict:
    print(f"\n{title:<36} {'dynamic':>8} {'static':>8} {'ratio':>7} {'excess':>8} {'videos':>6}")
    for name, r in table.items():
        print(
            f"{name:<36} {r['dynamic']:8.4f} {r['static']:8.4f} {r['ratio']:7.2f} {r['excess']:8.4f} {r['videos']:6d}"
        )
    print()
    return table


def eval_videos(args: argparse.Namespace) -> dict:
    res = args.resolution
    videos = list(tqdm(dataset_videos(args.data, args.num, res), desc="videos", unit="video"))
    if not videos:
        raise UserError(f"{args.data} has no videos")
    rows = [animation_metrics(v, m) for v, m in videos]
    out = {"data": str(args.data), "videos": len(rows), "animation_real": mean_of(rows)}
    segmenter = _segmenter(args.segmenter)
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
    return segmentation_metrics(_segmenter(args.segmenter or DEFAULT_SEGMENTER), images, masks)


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
    flat = flatten(results)
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

    q = sub.add_parser(
        "gan", help="quality of generated frames (scene-network distances, statistics) + animation metrics"
    )
    q.add_argument("--ckpt", required=True, help="GAN .ckpt or exported .safetensors")
    q.add_argument("--data", help="dataset folder of the real stills (default data/synthetic64, or --config's)")
    q.add_argument(
        "--video-data", help="dataset folder of the real videos (default: --config's video_root, else --data)"
    )
    q.add_argument("--config", help="the run's config (its data section names --data and --video-data)")
    q.add_argument("--num", type=int, default=1000, help="images per side (real, generated, each ladder rung)")
    q.add_argument(
        "--per-frame-videos", type=int, default=0,
        help="also the quality per frame index (first, middle, last) of this many generated time-lapses",
    )  # fmt: skip
    q.add_argument("--batch", type=int, default=50)
    q.add_argument("--truncation", type=float, default=1.0)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument(
        "--features",
        default="scene",
        choices=FEATURES,
        help="scene: the shipped scene network (the project's quality metric); inception: FID/KID with local "
        "weights; random: a smoke test of the code path (an untrained network does not see picture quality)",
    )
    q.add_argument("--scene-net", default=DEFAULT_SCENE_NET, help="scene network weights (.safetensors or .ckpt)")
    q.add_argument("--no-ladder", action="store_true", help="skip the calibration ladder (5 x --num renders)")
    q.add_argument("--workers", type=int, default=2, help="rendering processes for the reference set and ladder")
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
    q.add_argument("--device", default=default_device())
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
    if 0 < getattr(args, "per_frame_videos", 0) < 4:
        raise UserError("--per-frame-videos must be 0 (off) or at least 4 (precision and recall need k + 1 = 4)")
    job = {
        "gan": eval_gan,
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
