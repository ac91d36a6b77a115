"""``dl-eval gan``: the quality report of a generator (scene-network distances, structure and pixel figures, or
FID/KID in Inception's features against stills and video frames; quality per frame index of generated
time-lapses) and its animation and dynamic-region motion tables. ``dl-eval run``: a run's scene-network figures
as the mean of its last checkpoints, each with its spread between checkpoints and between resamples. The parser
and the other jobs are in :mod:`dl_lightning.cli.eval`."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dl_lightning.checkpoints import DEFAULT_SEGMENTER, load_generator, load_scene_net, load_segmenter
from dl_lightning.data.ordered import dataset_videos, real_batches
from dl_lightning.data.shards import read_manifest
from dl_lightning.errors import UserError
from dl_lightning.metrics.animation_metrics import generated_animation
from dl_lightning.metrics.features import make_extractor
from dl_lightning.metrics.fid import fid_vs_data, generated_batches
from dl_lightning.metrics.motion import motion_by_layer, motion_table
from dl_lightning.metrics.scene_quality import real_side, reference_sets, scene_quality
from dl_lightning.metrics.spread import headline, summarise
from dl_lightning.metrics.video_fid import features_of, per_frame_quality


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
    args.video_data = getattr(args, "video_data", None) or video or args.data


def eval_gan(args: argparse.Namespace) -> dict:
    gan_data(args)
    G = load_generator(args.ckpt).to(args.device)
    out: dict = {"ckpt": str(args.ckpt), "features": args.features, "truncation": args.truncation, "seed": args.seed}
    out["data"], out["video_data"] = str(args.data), str(args.video_data)
    has_videos = int(read_manifest(args.video_data).get("counts", {}).get("videos", 0)) > 0
    if args.features == "scene":
        out["quality"] = print_quality(G, args)
        if args.relight_pairs > 0:
            out["relighting"] = print_relighting(G, args)
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
    segmenter = segmenter_or_none(args.segmenter) if args.motion_videos > 0 else None
    if args.motion_videos <= 0:
        print("--motion-videos 0: skipping the dynamic-region motion table")
    if segmenter is not None:
        out["motion"] = print_motion_table(G, segmenter, args)
        if args.motion_by_layer:
            out["motion_by_layer"] = print_motion_by_layer(G, segmenter, args)
    return out


def last_checkpoints(run: str | Path, n: int) -> list[Path]:
    """The ``n`` latest periodic checkpoints (``checkpoints/step*.ckpt``) of the run folder ``run``."""
    found = sorted((Path(run) / "checkpoints").glob("step*.ckpt"))
    if not found:
        raise UserError(f"--run {run}: no checkpoints/step*.ckpt there (the run folder, its default_root_dir)")
    return found[-n:]


def eval_run(args: argparse.Namespace) -> dict:
    """Scene-network figures of every (checkpoint, resample) pair and their summary (:mod:`~dl_lightning.metrics.
    spread`): the checkpoints are ``--ckpt`` or the ``--last`` latest of ``--run``; resample ``i`` draws its
    ``--num`` samples with seed ``--seed + i``, against the same real stills and floor set."""
    from tqdm import tqdm

    gan_data(args)
    ckpts = [Path(c) for c in args.ckpt] if args.ckpt else last_checkpoints(args.run, args.last)
    generators = {str(c): load_generator(c).to(args.device) for c in ckpts}
    res = next(iter(generators.values())).cfg.resolution
    real = torch.cat(list(real_batches(args.data, "static", args.num, res, args.batch)))
    reference, labels, _ = reference_sets(len(real), res, ladder=False, workers=args.workers)
    net = load_scene_net(args.scene_net)
    fixed = real_side(net, real, reference, labels, None, args.batch)  # once for every checkpoint and resample
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in generators}
    with tqdm(total=len(generators) * args.resamples, desc="checkpoints x resamples") as bar:
        for name, G in generators.items():
            for i in range(args.resamples):
                batches = generated_batches(G, len(real), args.batch, args.truncation, args.seed + i)
                generated = torch.cat([x.cpu() for x in batches])
                report = scene_quality(net, real, generated, reference, labels, None, args.batch, fixed)
                figures[name].append(headline(report))
                bar.update()
    summary = summarise(figures)
    print(f"\n{len(generators)} checkpoint(s) x {args.resamples} resample(s) of {len(real)} samples against "
          f"{len(real)} real stills ({args.data}); structure and pixel figures as ratios to real")  # fmt: skip
    print(f"{'figure':<26} {'mean':>9} {'sd ckpts':>9} {'sd resamples':>12}")
    for fig, s in summary.items():
        print(f"{fig:<26} {s['mean']:9.3f} {s['between_checkpoints']:9.3f} {s['between_resamples']:12.3f}")
    return {"checkpoints": list(generators), "num": len(real), "resamples": args.resamples, "figures": figures,
            "summary": summary}  # fmt: skip


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


def print_relighting(G, args: argparse.Namespace) -> dict:
    """The land's structure change between two times of day (:mod:`dl_lightning.metrics.relighting`): generated
    pairs against the renderer's own (the reference of the synthetic world)."""
    from dl_lightning.metrics.relighting import generator_change, renderer_change

    n = args.relight_pairs
    generated = generator_change(G, load_scene_net(args.scene_net), n, args.seed, args.truncation, args.batch)
    reference = renderer_change(n, G.cfg.resolution, args.seed)
    ratio = generated / reference
    print(f"relighting ({n} pairs, one z_st and noise, two z_dyn): the land's structure change {generated:.3f}, "
          f"the renderer's at two times of day {reference:.3f}: {ratio:.2f}x (1: as the renderer)\n")  # fmt: skip
    return {"generated": generated, "renderer": reference, "ratio": ratio}


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


def segmenter_or_none(path: str | None):
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
    return print_motion("dynamic-region motion", table)


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
    return print_motion(f"S_dyn in one layer ({preset}, {daytime})", table)


def print_motion(title: str, table: dict) -> dict:
    print(f"\n{title:<36} {'dynamic':>8} {'static':>8} {'ratio':>7} {'excess':>8} {'videos':>6}")
    for name, r in table.items():
        print(
            f"{name:<36} {r['dynamic']:8.4f} {r['static']:8.4f} {r['ratio']:7.2f} {r['excess']:8.4f} {r['videos']:6d}"
        )
    print()
    return table
