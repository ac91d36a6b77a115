"""How the real-photo benchmark's hand masks were made (white = moves: sky, clouds, water).

Each mask is drawn on the photo at its benchmark size (long side 1024, ``real_photos.SIDE``) the way one
draws a mask in an image editor: a search band placed by eye around the sky's lower edge (knots read off zoomed
views), a colour rule inside the band that a person tuned while looking at the photo, and hand polygons for what
the colour rule cannot tell (the lake behind the boats, the pier in the fog). Every mask was then checked as an
overlay (``python bench/photo_masks/draw.py --overlays DIR``) and corrected until the overlay showed no error
larger than a couple of pixels at branch or reed scale; those fine parts (bare twigs, single reeds, grass awns)
follow the colour rule, not a pen. This file is the record; the PNGs beside it are what the benchmark reads.

    python bench/photo_masks/draw.py --photos data/photos --out bench/photo_masks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def knots(xs, ys, w: int) -> np.ndarray:
    """A polyline through (x, y) knots, per column: (w,) int rows."""
    return np.round(np.interp(np.arange(w), xs, ys)).astype(int)


def polygon(shape, points) -> np.ndarray:
    img = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in points], fill=255)
    return np.asarray(img) > 0


def luma(a: np.ndarray) -> np.ndarray:
    return a @ np.array([0.299, 0.587, 0.114], np.float32)


def scan_up(land: np.ndarray, start: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Sky mask: per column, land rises from row ``start`` while ``land`` holds; sky above it, never below ``top``
    rows... the rows above ``top`` are sky whatever ``land`` says (clouds darker than the hills)."""
    h, w = land.shape
    sky = np.zeros((h, w), bool)
    for x in range(w):
        y = start[x]
        while y > top[x] and land[y - 1, x]:
            y -= 1
        sky[:y, x] = True
    return sky


def fill_holes_from_top(sky: np.ndarray, land: np.ndarray) -> np.ndarray:
    """Land pixels inside the sky band that the column scan left as sky but that join the land below sideways
    (branches reaching over sky columns): the connected components of ``land`` that touch the scanned land."""
    lab, _ = ndimage.label(land, np.ones((3, 3)))
    grounded = np.unique(lab[~sky & land])
    return sky & ~np.isin(lab, grounded[grounded > 0])


def storm(a):
    h, w, _ = a.shape
    lum = luma(a)
    ref = ndimage.uniform_filter1d(lum, 15, axis=1)[np.clip(knots([0, 1023], [395, 395], w), 0, h - 1), np.arange(w)]
    land = (lum < 0.86 * ref[None, :]) | ((a[..., 2] - a[..., 1]) < 0.04)
    return scan_up(land, knots([0, 1023], [445, 445], w), knots([0, 300, 1023], [400, 400, 405], w))


def summer_1am(a):
    h, w, _ = a.shape
    lum = luma(a)
    water_line = knots([0, 1023], [427, 427], w)
    land = lum < 0.42
    sky = scan_up(land, water_line, knots([0, 1023], [385, 380], w))
    moving = sky.copy()
    rows = np.arange(h)[:, None]
    moving |= rows >= water_line[None, :]  # the lake
    # reeds: thin verticals that differ from the smooth water around them (a horizontal median)
    med = ndimage.median_filter(lum, size=(1, 15))
    reeds = (np.abs(lum - med) > 0.05) & polygon(lum.shape, [(520, 452), (1024, 450), (1024, 530), (520, 530)])
    reeds |= (np.abs(lum - med) > 0.05) & polygon(lum.shape, [(0, 440), (110, 440), (110, 470), (0, 470)])
    reeds = ndimage.binary_closing(reeds, np.ones((3, 1)))
    moving &= ~reeds
    # the far shore's reflection below the right island is water; the island itself is land above the line
    return moving


def dune(a):
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    blue = (b > r + 0.08) & (b > g - 0.02)
    # the green bank to the right below the sea is land
    bank = (g > b + 0.03) & (np.arange(a.shape[0])[:, None] > 230)
    return blue & ~bank


def cold_ripple(a):
    lum = luma(a)
    platform = polygon(lum.shape, [(173, 318), (833, 318), (833, 396), (173, 396)])
    walkway = polygon(lum.shape, [(345, 356), (680, 356), (1024, 562), (1024, 640), (0, 640), (0, 560)])
    pier = (platform | walkway) & (lum < 0.42)  # dark wood; the fog is brighter than 0.45 everywhere
    pier = ndimage.binary_fill_holes(ndimage.binary_closing(pier, np.ones((5, 5))))
    # the ladder's two rails: thin verticals that differ from the fog beside them
    med = ndimage.median_filter(lum, size=(1, 9))
    rails = (np.abs(lum - med) > 0.05) & polygon(lum.shape, [(460, 255), (530, 255), (530, 330), (460, 330)])
    rails = ndimage.binary_closing(rails, np.ones((5, 1)))
    return ~(pier | rails)


def by_the_water(a):
    h, w, _ = a.shape
    lum = luma(a)
    # sky: above the dark tree line; the big tree at the right reaches the top
    land = (lum < 0.34) | polygon(lum.shape, [(990, 0), (1024, 0), (1024, 150), (990, 150)]) & (lum < 0.55)
    sky = scan_up(land, knots([0, 1023], [160, 150], w), knots([0, 900, 960, 1023], [95, 95, 0, 0], w))
    sky = fill_holes_from_top(sky, land)
    lake = polygon(lum.shape, [(0, 150), (1024, 140), (1024, 232), (0, 335)])
    below_trees = np.arange(h)[:, None] > knots([0, 1023], [160, 150], w)[None, :]
    dock = polygon(lum.shape, [(0, 338), (1024, 233), (1024, 640), (0, 640)])
    water = lake & below_trees & ~(land & (np.arange(h)[:, None] < 175)) & ~dock
    return sky | water


def evening_glow(a):
    h, w, _ = a.shape
    lum = luma(a)
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    land = (lum < 0.30) | ((lum < 0.38) & (rows > 175) & (cols > 760))  # the lit mountains on the right
    shore = knots([0, 300, 600, 700, 760, 1023], [222, 222, 222, 228, 265, 270], w)
    sky = scan_up(land, shore, knots([0, 450, 700, 1023], [140, 170, 150, 90], w))
    sky = fill_holes_from_top(sky, land)
    # the lake: from the far shore to the boats' top edges (the small gaps between boats are left still)
    lake = polygon(lum.shape, [(0, 250), (740, 250), (745, 284), (900, 288), (1024, 290), (1024, 292), (900, 292),
                               (800, 298), (700, 305), (600, 310), (520, 313), (440, 316), (320, 318), (305, 330),
                               (230, 333), (160, 333), (0, 345)])  # fmt: skip
    below = np.arange(h)[:, None] >= shore[None, :]
    poles = (lum < 0.33) & polygon(lum.shape, [(600, 248), (760, 248), (760, 290), (600, 290)])
    return sky | (lake & below & ~ndimage.binary_dilation(poles))


def hills(a):
    h, w, _ = a.shape
    lum = luma(a)
    g, b = a[..., 1], a[..., 2]
    land = ((g > b + 0.02) & (lum < 0.75)) | (lum < 0.25)
    land &= ~((np.arange(h)[:, None] < 330) & (lum > 0.5))  # above the hills' tops only the dark forest is land
    # the hazy far hill on the left is bluish: its silhouette is darker than the sky above it
    far_hill = polygon(lum.shape, [(0, 340), (250, 340), (250, 420), (0, 420)]) & (lum < 0.5)
    land |= far_hill
    top = knots([0, 680, 700, 880, 900, 1023], [290, 290, 300, 303, 318, 322], w)  # the treetops, by eye
    sky = scan_up(land, knots([0, 1023], [440, 440], w), top)
    return fill_holes_from_top(sky, land & (np.arange(h)[:, None] >= top[None, :]))


RECIPES = {"storm": storm, "summer_1am": summer_1am, "dune": dune, "cold_ripple": cold_ripple,
           "by_the_water": by_the_water, "evening_glow": evening_glow, "hills": hills}  # fmt: skip


def overlay(a: np.ndarray, moving: np.ndarray) -> Image.Image:
    """The photo with the moving region tinted blue and its edge in red."""
    out = a.copy()
    out[moving] = 0.55 * out[moving] + 0.45 * np.array([0.1, 0.3, 1.0])
    edge = moving ^ ndimage.binary_erosion(moving)
    out[edge] = (1, 0, 0)
    return Image.fromarray((out * 255).astype(np.uint8))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", default="data/photos", help="folder of `make photos` (real_photos.py's layout)")
    p.add_argument("--out", default=str(Path(__file__).parent), help="where the mask PNGs go")
    p.add_argument("--overlays", default=None, help="also write overlays here, to look at")
    args = p.parse_args()
    from real_photos import open_benchmark_photo

    for name, recipe in RECIPES.items():
        a = np.asarray(open_benchmark_photo(args.photos, name), np.float32) / 255
        moving = recipe(a)
        Image.fromarray(moving.astype(np.uint8) * 255).convert("1").save(Path(args.out) / f"{name}.png")
        if args.overlays:
            Path(args.overlays).mkdir(parents=True, exist_ok=True)
            overlay(a, moving).save(Path(args.overlays) / f"{name}.png")
        print(f"{name}: {moving.mean():.3f} moving")


if __name__ == "__main__":
    main()
