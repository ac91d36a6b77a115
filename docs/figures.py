"""The README's figures of a trained GAN, reproducibly (seeded):

    .venv/bin/python docs/figures.py --ckpt runs/synthetic64/checkpoints/last.ckpt

* ``samples_grid.png``: 16 EMA samples (truncation ``VIEW_TRUNCATION``);
* ``timelapse_strip.png``: 4 scenes (rows), every ``--every``-th frame (columns) of a ``clouds``
  time-lapse with the time of day fixed, upscaled x2 (nearest) so the motion can be seen;
* ``timelapse.gif``: the 4 scenes side by side, time of day moving (``slerp``);
* with ``--photo PHOTO`` (and the shipped photo segmenter): ``photo_animation.gif`` and
  ``photo_animation_strip.png`` (frames 0, 16, 32, 47, and the mask), the default ``dl-animate --image`` path
  (``--sky photo``, ``--motion right_wind``, the time of day fixed), through ``photo.job.animate_photo``;
* with ``--demo``: ``demo_page.png``, the demo page's screenshot taken by its browser test
  (``tests/test_demo_browser.py``, here with ``--ckpt`` and the segmenter instead of the test's tiny model);
* with ``--side-by-side`` (``--ckpt`` optional: the shipped GAN): ``side_by_side.png``, 16 samples of the GAN
  (truncation 1, as evaluated) above 16 renders of the synthetic world it learns (seeds no dataset uses), x2;
* with ``--regions`` (no GAN needed, ``--ckpt`` optional): ``photo_regions.png``, three real photos of the
  benchmark (``make photos``), each as its moving region (blue, the uncertain band hatched in yellow) and frames 0,
  12 and 23 of its animation, from the shipped photo segmenter (``bench/real_photos.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from dl_lightning.animation import get_motion, sample_timelapse
from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, SHIPPED_GAN, load_generator
from dl_lightning.data.images import from_uint8
from dl_lightning.media import make_grid, save_image, tile_frames, write_video
from dl_lightning.models.generator import VIEW_TRUNCATION


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", help="the GAN (every figure but --regions and --side-by-side needs it)")
    p.add_argument("--out", default=str(Path(__file__).parent))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=36)
    p.add_argument("--every", type=int, default=7)
    p.add_argument("--photo", help="also the photo-animation figures of this photo")
    p.add_argument("--segmenter", default=DEFAULT_PHOTO_SEGMENTER)
    p.add_argument("--demo", action="store_true", help="also the demo page's screenshot (needs `make browser`)")
    p.add_argument("--regions", action="store_true", help="the moving regions of three real photos (`make photos`)")
    p.add_argument("--side-by-side", action="store_true", help="16 samples above 16 renders (default GAN: shipped)")
    p.add_argument("--photos", default="data/photos", help="where `make photos` put them")
    args = p.parse_args()
    out = Path(args.out)
    if args.regions:
        region_figure(args.segmenter, args.photos, out)
    if args.side_by_side:
        side_by_side_figure(args.ckpt or SHIPPED_GAN, args.seed, out)
    if not args.ckpt:
        if not (args.regions or args.side_by_side):
            p.error("--ckpt is needed for every figure but --regions and --side-by-side")
        return
    G = load_generator(args.ckpt)
    with torch.no_grad():
        z_st, z_dyn, n_st, n_dyn = G.sample_latents(16, args.seed)
        save_image(
            make_grid(G(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn, truncation=VIEW_TRUNCATION), nrow=8),
            out / "samples_grid.png",
        )
        clouds = get_motion("clouds", horizon=0.0)
        video = torch.stack(list(sample_timelapse(G, 4, args.frames, args.seed, clouds, "fixed")))  # (T, 4, 3, R, R)
        cols = video[:: args.every].transpose(0, 1).flatten(0, 1)  # scene-major: one row per scene
        strip = make_grid(cols, nrow=len(video[:: args.every]))
        save_image(twice(strip), out / "timelapse_strip.png")
        frames = tile_frames(sample_timelapse(G, 4, args.frames, args.seed, clouds, "slerp"), nrow=4)
        write_video(frames, out / "timelapse.gif", fps=12)
    print(f"wrote samples_grid.png, timelapse_strip.png, timelapse.gif to {out}")
    if args.photo:
        photo_figures(G, args.photo, args.segmenter, out)
    if args.demo:
        demo_figure(args.ckpt, args.segmenter, out)


#: The real photos of ``photo_regions.png``: a storm over fields, boats on a lake at sunset, dune grass against the sea.
REGION_PHOTOS = ("storm", "evening_glow", "dune")


def region_figure(segmenter: str, photos: str, out: Path) -> None:
    import sys
    import tempfile

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from real_photos import save_views

    from data_prep.wallpapers import fetch_photos
    from dl_lightning.checkpoints import load_segmenter
    from dl_lightning.photo.region import RegionOptions

    fetch_photos(photos)
    with tempfile.TemporaryDirectory() as tmp:
        rows = save_views(load_segmenter(segmenter), photos, RegionOptions(), Path(tmp), REGION_PHOTOS, width=320)
        strip = np.concatenate([np.asarray(Image.open(r)) for r in rows], 0)
    save_image(strip, out / "photo_regions.png")
    print(f"wrote photo_regions.png to {out}")


def twice(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (2H, 2W, 3), nearest: each pixel seen as a 2 x 2 block."""
    return np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)


def side_by_side_figure(ckpt: str, seed: int, out: Path) -> None:
    from dl_lightning.data.synthetic.dataset import reference_stills

    G = load_generator(ckpt)
    with torch.no_grad():
        z_st, z_dyn, n_st, n_dyn = G.sample_latents(16, seed)
        fake = G(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn).clamp(-1, 1)
    renders, _ = reference_stills(16, G.cfg.resolution)
    real = from_uint8(torch.from_numpy(np.stack(renders)).permute(0, 3, 1, 2))
    save_image(twice(make_grid(torch.cat([fake, real]), nrow=8)), out / "side_by_side.png")
    print(f"wrote side_by_side.png to {out} (top: {ckpt}, bottom: renders)")


def demo_figure(ckpt: str, segmenter: str, out: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DL_DEMO_SCREENSHOT": str((out / "demo_page.png").resolve()), "DL_DEMO_CKPT": ckpt,
           "DL_DEMO_SEGMENTER": segmenter, "DL_DEMO_SIZE": "512"}  # fmt: skip
    test = "tests/test_demo_browser.py::test_upload_correct_animate_and_download"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "slow", test], env=env, check=True)
    print(f"wrote demo_page.png to {out}")


def photo_figures(G, photo: str, segmenter: str, out: Path) -> None:
    import tempfile

    from PIL import Image

    from dl_lightning.checkpoints import load_segmenter
    from dl_lightning.photo.job import PhotoNetworks, PhotoOptions, animate_photo

    nets = PhotoNetworks(G, segmenter=load_segmenter(segmenter))
    opts = PhotoOptions(size=512, frames=48, formats=("gif",))  # the defaults: the whole photo, right_wind
    with tempfile.TemporaryDirectory() as tmp:
        animate_photo(photo, tmp, nets, opts)
        gif = Image.open(Path(tmp) / "photo.gif")
        frames = []
        for t in (0, 16, 32, 47):
            gif.seek(t)
            frames.append(gif.convert("RGB").resize((256, 256 * gif.height // gif.width)))
        frames.append(Image.open(Path(tmp) / "mask.png").convert("RGB").resize(frames[0].size))
        strip = Image.new("RGB", (sum(f.width + 4 for f in frames) - 4, frames[0].height), "white")
        for i, f in enumerate(frames):
            strip.paste(f, (i * (f.width + 4), 0))
        strip.save(out / "photo_animation_strip.png")
        (Path(tmp) / "photo.gif").replace(out / "photo_animation.gif")
    print(f"wrote photo_animation_strip.png, photo_animation.gif to {out}")


if __name__ == "__main__":
    main()
