"""The photo-animation table of docs/photos.md: does an animated photo stay the photo?

For each test photo (hills.jpg at 1024 px; an off-centre crop, a wide non-square crop and a tall one; a
horizontal flip; a colour shift; a crop with the sky mirrored below into a lake; 256 px synthetic renders),
the moving region comes from the segmenter (``--segmenter``, default the shipped photo segmenter) as in
``dl-animate --image``, and the photo's own sky moves (``--sky photo``) for 48 frames:

* ``right_wind``: frame-0 PSNR in the moving region, the least detail kept (mean |Laplacian| against the same
  frame moved by whole pixels), isolated pixels and speckles (8-connected groups of them) against the photo's,
  all frames' speckles against the same frames moved by whole pixels (what sub-pixel motion adds), the largest
  change of a static pixel, and
  the measured step (phase correlation) against the preset's;
* ``clouds --loop``: the least detail kept and the loop's closing step over the mean step;
* timing of 48 frames at 1024 px and at 4K (``--size 2160``, an upscaled photo), encoded to MP4 and GIF
  (frames streamed), with the peak memory of the process.

    python bench/photo_animation.py                    # docs/photos.md's table
    python bench/photo_animation.py --photos DIR       # your own photos too

Writes nothing into the repository (videos go to a temporary folder).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dl_lightning.animation import get_motion  # noqa: E402
from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, load_photo_segmenter  # noqa: E402
from dl_lightning.data.images import from_uint8, tensor_to_uint8, to_uint8  # noqa: E402
from dl_lightning.data.photos import photo_at, photo_square  # noqa: E402
from dl_lightning.media import write_streams  # noqa: E402
from dl_lightning.metrics.photo_fidelity import PhotoFidelity  # noqa: E402
from dl_lightning.photo.frames import horizon_from_mask  # noqa: E402
from dl_lightning.photo.job import region_alpha, region_on_square, segment  # noqa: E402
from dl_lightning.photo.motion import PhotoMotion  # noqa: E402

HILLS = REPO / "tests" / "data" / "hills.jpg"


def variants(extra: Path | None) -> dict[str, Image.Image]:
    """The test photos: hills.jpg and photos made from it, synthetic renders, and the user's."""
    hills = Image.open(HILLS).convert("RGB")
    lake = np.asarray(hills.crop((0, 0, 1024, 560))).copy()
    lake = np.concatenate([lake[:400], lake[:400][::-1][:300] * np.array([0.7, 0.8, 0.9])], 0).astype(np.uint8)
    out = {
        "hills 1024": hills,
        "off-centre crop 700x500": hills.crop((300, 50, 1000, 550)),
        "wide crop 1024x420": hills.crop((0, 150, 1024, 570)),
        "tall crop 500x900": hills.crop((100, 0, 600, 900)),
        "flipped": ImageOps.mirror(hills),
        "colour shift (warm)": Image.fromarray((np.asarray(hills) * [1.1, 0.95, 0.8]).clip(0, 255).astype(np.uint8)),
        "sky over a lake 1024x700": Image.fromarray(lake),
    }  # fmt: skip
    from dl_lightning.data.synthetic.dataset import render_still

    for seed in (7, 8):
        frame = render_still(10**9 + seed, 256)[0].frames[0]  # seeds far from the training set's
        out[f"synthetic render 256 (seed {seed})"] = Image.fromarray((frame * 255).round().astype(np.uint8))
    if extra is not None:
        for p in sorted(extra.iterdir()):
            if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
                out[p.name] = Image.open(p).convert("RGB")
    return out


def prepare(img: Image.Image, seg, size: int):
    square, geometry = photo_square(img, "pad")
    region, _ = segment(seg, photo_at(square, geometry, min(geometry.box[2:])))  # as dl-animate --image does
    photo = photo_at(square, geometry, size)
    return (
        photo,
        region_alpha(region, geometry, size),
        geometry,
        horizon_from_mask(region_on_square(region.alpha, geometry, 64)),
    )


def measure(photo, alpha, geometry, horizon, preset: str, loop: bool, frames: int = 48) -> dict[str, float]:
    motion = get_motion(preset, horizon=horizon)
    pm = PhotoMotion(photo, alpha, geometry, motion, period=frames, loop=loop)
    ref = PhotoMotion(photo, alpha, geometry, motion, whole_pixels=True)
    moving, static = alpha[0, 0] >= 0.99, alpha[0, 0] == 0
    h, w = photo.shape[-2:]
    rows = torch.nonzero(moving.float().mean(1) > 0.95).flatten()
    window = (int(rows[0]), w // 4, min(128, len(rows)), w // 2) if len(rows) >= 32 else None
    fid = PhotoFidelity(photo, moving, static, window)
    for t in range(frames):
        frame = from_uint8(to_uint8(pm.frame(t)).cpu())  # the frame as written: rounded to 8 bits
        fid.add(frame, ref.frame(t))
    r = fid.result()
    r["expected_dx"] = motion.shift[0] / 2 * geometry.side * w / geometry.box[2]
    return r


def timing(img: Image.Image, seg, size: int, frames: int = 48) -> tuple[float, float]:
    """Seconds for mask + alpha + 48 frames encoded to MP4 and GIF, and the peak RSS in GiB so far."""
    t0 = time.perf_counter()
    photo, alpha, geometry, horizon = prepare(img, seg, size)
    pm = PhotoMotion(photo, alpha, geometry, get_motion("right_wind", horizon=horizon), period=frames)
    with tempfile.TemporaryDirectory() as tmp:
        named = {"photo": lambda b: tensor_to_uint8(b[0])}
        write_streams(pm.frames(frames), named, Path(tmp), ["mp4", "gif"], 12, frames)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--segmenter", default=DEFAULT_PHOTO_SEGMENTER)
    p.add_argument("--photos", type=Path, help="a folder of your own photos to add")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--no-timing", action="store_true", help="skip the timing at 1024 px and 4K")
    p.add_argument("--timing-only", action="store_true", help="only the timing")
    args = p.parse_args()
    if not Path(args.segmenter).is_file():
        raise SystemExit(f"no segmenter at {args.segmenter}: run `make segmenter` first (or pass --segmenter)")
    seg = load_photo_segmenter(args.segmenter)
    print("| photo | output | frame-0 PSNR | detail kept (min) | isolated (photo) | speckles (photo) | speckles vs "
          "whole-pixel | static change "
          "| step dx (preset) | loop: detail kept (min) | loop closure |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, img in ({} if args.timing_only else variants(args.photos)).items():
        photo, alpha, geometry, horizon = prepare(img, seg, args.size)
        if not (alpha >= 0.99).any():
            print(f"| {name} | no moving region found | | | | | | | | | |")
            continue
        a = measure(photo, alpha, geometry, horizon, "right_wind", loop=False)
        b = measure(photo, alpha, geometry, horizon, "clouds", loop=True)
        h, w = photo.shape[-2:]
        print(
            f"| {name} | {w}x{h} | {a['frame0_psnr']:.1f} dB | {a['detail_min']:.3f} | "
            f"{a['isolated_max']:.4f} ({a['photo_isolated']:.4f}) | {a['speckles_max']} ({a['photo_speckles']}) | "
            f"{a['speckles_vs_reference']:.2f} | "
            f"{a['static_change_max']:.4f} | "
            f"{a.get('dx', float('nan')):.2f} ({a['expected_dx']:.2f}) | {b['detail_min']:.3f} | "
            f"{b['loop_closure']:.2f} |",
            flush=True,
        )
    if not args.no_timing:
        hills = Image.open(HILLS).convert("RGB")
        s, mem = timing(hills, seg, 1024)
        print(f"\n48 frames at 1024 px, mask + frames + MP4 + GIF: {s:.1f} s (peak RSS {mem:.2f} GiB)")
        big = hills.resize((3840, 3840), Image.LANCZOS).crop((0, 840, 3840, 3000))
        s, mem = timing(big, seg, 2160)
        print(f"48 frames at 3840x2160, mask + frames + MP4 + GIF: {s:.1f} s (peak RSS {mem:.2f} GiB)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
