"""The real-photo benchmark of the moving region: photos with hand masks, and synthetic hard cases.

    make photos                                   # fetch the photos (Debian wallpaper packages) to data/photos
    python bench/real_photos.py                   # every photo and hard case: IoU, boundary F, leaks
    python bench/real_photos.py --views DIR       # also each photo's mask overlay and animation frames, to look at

Photos: :data:`data_prep.wallpapers.PHOTOS` and ``tests/data/hills.jpg``, at a long side of :data:`SIDE` px, each
with a hand mask in ``bench/photo_masks/`` (how they were drawn: ``bench/photo_masks/draw.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
#: The benchmark's long side in pixels (the hand masks are drawn at it).
SIDE = 1024
HILLS = REPO / "tests" / "data" / "hills.jpg"
MASKS = REPO / "bench" / "photo_masks"


def benchmark_names() -> list[str]:
    from data_prep.wallpapers import PHOTOS

    return [*PHOTOS, "hills"]


def open_benchmark_photo(photos: str | Path, name: str) -> Image.Image:
    """Photo ``name`` as the benchmark sees it: RGB, long side :data:`SIDE` (Lanczos)."""
    path = (
        HILLS
        if name == "hills"
        else Path(photos) / json.loads((Path(photos) / "photos.json").read_text())[name]["file"]
    )
    img = Image.open(path).convert("RGB")
    s = SIDE / max(img.size)
    return img.resize((round(img.width * s), round(img.height * s)), Image.LANCZOS) if s != 1 else img


#: The hard cases' sizes.
HARD_SIZES = (256, 1024)
#: The steps of :func:`dl_lightning.photo.region.moving_region` in order, each with the option value that turns it
#: off; ``--ablate`` switches them on (to their defaults) one after another.
STEP_OFF = {"colour vote": ("colour_vote", False), "islands": ("islands", False),
            "land-coloured water": ("land_coloured", False), "mirrored sky": ("mirror", False),
            "calm water": ("water_reach", 0.0),
            "matting": ("refine", False), "thin": ("keep_thin", False)}  # fmt: skip
STEPS = {("+" + name if i else "coarse"): dict(list(STEP_OFF.values())[i:]) for i, name in enumerate([None, *STEP_OFF])}


def hand_mask(name: str):
    import numpy as np

    return np.asarray(Image.open(MASKS / f"{name}.png").convert("L")) > 127


def predict(segmenter, image: Image.Image, options):
    """(alpha (H, W) float numpy, the Region) for an RGB PIL image."""
    from dl_lightning.data.images import pil_to_tensor
    from dl_lightning.photo.region import moving_region

    region = moving_region(pil_to_tensor(image)[None], segmenter, options)
    return region.alpha[0, 0].numpy(), region


def evaluate(segmenter, photos: str | Path, options, hard: bool = True) -> list[dict]:
    """One row per photo and hard case: :func:`dl_lightning.metrics.region_scores.region_scores` and, for the hard
    cases, the share of dark-cloud pixels left still."""
    import numpy as np

    from dl_lightning.data.synthetic.photo_world import HARD_CASES, hard_case
    from dl_lightning.metrics.region_scores import region_scores

    rows = []
    for name in benchmark_names():
        alpha, region = predict(segmenter, open_benchmark_photo(photos, name), options)
        rows.append({"case": name, **region_scores(alpha > 0.5, hand_mask(name)), **region.report()})
    for name in HARD_CASES if hard else ():
        for size in HARD_SIZES:
            r = hard_case(name, size)
            alpha, region = predict(segmenter, Image.fromarray((r.image * 255 + 0.5).astype(np.uint8)), options)
            scores = region_scores(alpha > 0.5, r.moving, r.structures, margin=1)
            dark = float((r.dark_clouds & (alpha <= 0.5)).sum() / max(r.dark_clouds.sum(), 1))
            rows.append({"case": f"{name}@{size}", **scores, "dark_clouds_still": dark, **region.report()})
    return rows


def table(rows: list[dict]) -> str:
    cols = ["iou", "boundary_f", "sky_still", "structures_moving", "dark_clouds_still", "uncertain_share"]
    out = ["| case | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    for r in rows:
        out.append(f"| {r['case']} | " + " | ".join(f"{r[c]:.3f}" if c in r else "-" for c in cols) + " |")
    photos = [r for r in rows if "@" not in r["case"]]
    if photos:
        mean = sum(r["iou"] for r in photos) / len(photos)
        worst = min(photos, key=lambda r: r["iou"])
        out.append(f"\nphotos: mean IoU {mean:.3f}, lowest {worst['iou']:.3f} ({worst['case']}); "
                   f"largest sky left still {max(r['sky_still'] for r in photos):.3f}, "
                   f"largest structures moving {max(r['structures_moving'] for r in photos):.3f}")  # fmt: skip
    return "\n".join(out)


def views(segmenter, img: Image.Image, options, frames: int = 24):
    """What a person looks at for one photo: the mask overlay (moving tinted blue, the uncertain band hatched in
    yellow) and frames 0, middle and last of its animation with the photo's own sky moving (``sky=photo``, the
    default preset, no relighting), each (H, W, 3) uint8."""
    import torch

    from dl_lightning.animation import DEFAULT_MOTION, get_motion
    from dl_lightning.data.images import pil_to_tensor, tensor_to_uint8
    from dl_lightning.data.photos import Geometry
    from dl_lightning.photo.frames import horizon_from_mask
    from dl_lightning.photo.job import uncertain_overlay
    from dl_lightning.photo.motion import PhotoMotion

    alpha, region = predict(segmenter, img, options)
    photo = pil_to_tensor(img)[None]
    geometry = Geometry(max(img.size), (0, 0, *img.size), img.size)
    lr = torch.nn.functional.interpolate(region.alpha, size=(64, 64), mode="area")
    motion = get_motion(DEFAULT_MOTION, horizon=horizon_from_mask((lr > 0.5).float()))
    moved = list(PhotoMotion(photo, region.alpha, geometry, motion, None, period=frames).frames(frames, None))
    picks = [moved[0], moved[frames // 2], moved[-1]]
    return uncertain_overlay(photo, region), [tensor_to_uint8(f[0]) for f in picks]


def save_views(segmenter, photos: str | Path, options, out: Path, names=None, width: int = 0) -> list[Path]:
    """For each photo (all of the benchmark's, or ``names``): ``<name>_views.png``, the overlay and the three frames
    side by side (each ``width`` px wide when given). Returns the paths."""
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or benchmark_names():
        overlay, frames = views(segmenter, open_benchmark_photo(photos, name), options)
        tiles = [overlay, *frames]
        if width:
            h = round(overlay.shape[0] * width / overlay.shape[1])
            tiles = [np.asarray(Image.fromarray(t).resize((width, h), Image.LANCZOS)) for t in tiles]
        path = out / f"{name}_views.png"
        Image.fromarray(np.concatenate(tiles, 1)).save(path)
        written.append(path)
    return written


def main() -> None:
    import argparse
    import sys

    sys.path.insert(0, str(REPO))
    from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, load_photo_segmenter
    from dl_lightning.photo.region import RegionOptions

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", default="data/photos", help="the folder `make photos` fills")
    p.add_argument("--segmenter", default=DEFAULT_PHOTO_SEGMENTER, help="segmenter (.safetensors or .ckpt)")
    p.add_argument("--ablate", action="store_true", help="each step of the region in turn (coarse, +islands, ...)")
    p.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE", help="RegionOptions fields, e.g. flip=true")
    p.add_argument("--no-hard", action="store_true", help="photos only")
    p.add_argument("--views", default=None, help="write each photo's mask overlay and animation frames here")
    p.add_argument("--json", default=None, help="write every row here")
    args = p.parse_args()
    from data_prep.wallpapers import fetch_photos

    fetch_photos(args.photos)
    segmenter = load_photo_segmenter(args.segmenter)
    results = {}
    given = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.set)}
    for step, kw in STEPS.items() if args.ablate else [("default", {})]:
        rows = evaluate(segmenter, args.photos, RegionOptions(**{**kw, **given}), hard=not args.no_hard)
        results[step] = rows
        print(f"\n### {step} ({args.segmenter})\n\n{table(rows)}", flush=True)
    if args.views:
        save_views(segmenter, args.photos, RegionOptions(**given), Path(args.views))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
