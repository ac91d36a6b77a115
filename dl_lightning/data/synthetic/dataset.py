"""Build the embedded synthetic dataset: static landscape images + timelapse videos as shards.

Every sample stores its image(s), ``mask.png`` (dynamic region), ``classes.png`` (per-pixel classes; a video's
first frame) and JSON with the seed, time of day and the scene's parameters (``dl_lightning.data.scenes``).
"""

from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from dl_lightning.data.images import encode_image
from dl_lightning.data.scenes import CLASSES
from dl_lightning.data.shards import DatasetWriter
from dl_lightning.data.synthetic.landscape import Render, render, sample_daytime, video_schedule

NUM_STATIC, NUM_VIDEOS = 1024, 128  # the default dataset: stills, videos


def _to_pil(frame: np.ndarray) -> Image.Image:
    return Image.fromarray((frame * 255.0 + 0.5).astype(np.uint8), "RGB")


def _mask_png(mask: np.ndarray) -> bytes:
    return encode_image(Image.fromarray(mask.astype(np.uint8) * 255, "L").convert("L"), "png")


def _labels(r: Render, **meta) -> dict:
    """The fields every sample shares: masks, class map and JSON labels."""
    return {
        "mask.png": _mask_png(r.dynamic),
        "classes.png": encode_image(Image.fromarray(r.classes[0], "L"), "png"),
        "json": json.dumps({**meta, "scene": r.scene}).encode(),
    }


def render_still(seed: int, size: int, without: tuple[str, ...] = ()) -> tuple[Render, float]:
    """The still of scene ``seed`` (its time of day and cloud clock drawn from ``[seed, 1]``) and its time of day."""
    rng = np.random.default_rng([seed, 1])
    tau = sample_daytime(rng)
    return render(seed, size, np.array([tau]), np.array([rng.uniform(0, 100)]), without=without), tau


def _render_static(args: tuple[int, int, str]) -> dict:
    seed, size, fmt = args
    r, tau = render_still(seed, size)
    return {
        "__key__": f"s{seed:08d}",
        fmt: encode_image(_to_pil(r.frames[0]), fmt),
        **_labels(r, seed=seed, daytime=tau),
    }


def _reference(args: tuple[int, int, tuple[str, ...]]) -> tuple[np.ndarray, dict]:
    seed, size, without = args
    r, tau = render_still(seed, size, without)
    return (r.frames[0] * 255.0 + 0.5).astype(np.uint8), {"seed": seed, "daytime": tau, "scene": r.scene}


#: Seeds of the reference renders (``reference_stills``): no dataset built by ``build_synthetic`` uses them.
REFERENCE_SEED = 9 * 10**8


def reference_stills(
    num: int, size: int, without: tuple[str, ...] = (), workers: int = 2, progress: str | None = None
) -> tuple[list[np.ndarray], list[dict]]:
    """``num`` stills (uint8 (size, size, 3)) and their JSON labels, rendered on the spot from seeds no dataset
    uses (:data:`REFERENCE_SEED` + i): the quality metric's second real set and its calibration ladder
    (``without``: see ``synthetic.REMOVABLE``; the same scenes otherwise)."""
    jobs = [(REFERENCE_SEED + i, size, tuple(without)) for i in range(num)]
    with Pool(max(1, workers)) as pool:
        done = list(tqdm(pool.imap(_reference, jobs, chunksize=8), total=num, desc=progress, disable=progress is None))
    return [d[0] for d in done], [d[1] for d in done]


def _blob_trees(args: tuple[int, int]) -> np.ndarray:
    """The reference still of scene ``seed`` with each tree replaced by a blurred disc of its area and mean colour,
    drawn over the same scene rendered without trees (uint8 (size, size, 3))."""
    from scipy import ndimage

    seed, size = args
    with_trees, _ = render_still(seed, size)
    bare, _ = render_still(seed, size, ("trees",))
    img, tree = bare.frames[0].copy(), with_trees.classes[0] == CLASSES.index("tree")
    lab, n = ndimage.label(tree, structure=np.ones((3, 3)))
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(1, n + 1):
        m = lab == i
        cy, cx, r = yy[m].mean(), xx[m].mean(), max(1.0, np.sqrt(m.sum() / np.pi))
        alpha = ndimage.gaussian_filter(((yy - cy) ** 2 + (xx - cx) ** 2 <= r**2).astype(np.float32), 1.0)[..., None]
        img = img * (1 - alpha) + with_trees.frames[0][m].mean(0) * alpha
    return (img * 255.0 + 0.5).astype(np.uint8)


def blob_tree_stills(num: int, size: int, workers: int = 2, progress: str | None = None) -> list[np.ndarray]:
    """The reference stills of :func:`reference_stills` with blob trees (:func:`_blob_trees`): the structure
    metric's calibration rung for trees that are blurred discs instead of conifers."""
    jobs = [(REFERENCE_SEED + i, size) for i in range(num)]
    with Pool(max(1, workers)) as pool:
        return list(tqdm(pool.imap(_blob_trees, jobs, chunksize=8), total=num, desc=progress, disable=progress is None))


def _render_video(args: tuple[int, int, str, int, float]) -> dict:
    seed, size, fmt, n_frames, daytime_span = args
    rng = np.random.default_rng([seed, 2])
    taus, times = video_schedule(rng, n_frames, daytime_span)
    r = render(seed, size, taus, times)
    sample = {f"f{i:03d}.{fmt}": encode_image(_to_pil(f), fmt) for i, f in enumerate(r.frames)}
    sample.update({"__key__": f"v{seed:08d}", **_labels(r, seed=seed, daytime=taus.tolist(), frames=n_frames)})
    return sample


def build_synthetic(
    out: str | Path,
    resolution: int = 64,
    num_static: int = NUM_STATIC,
    num_videos: int = NUM_VIDEOS,
    frames: int = 16,
    daytime_span: float = 0.15,
    seed: int = 0,
    shard_size: int = 128,
    fmt: str = "jpg",
    workers: int = 2,
    overwrite: bool = False,
) -> DatasetWriter:
    """Render ``num_static`` stills and ``num_videos`` videos of ``frames`` frames into shards at ``out``.

    Static scenes use seeds ``seed*10**7 + i`` and videos ``seed*10**7 + 5*10**6 + i``, so
    the two sets never share a scene. ``daytime_span`` is the largest change of time of day
    over one video (fraction of 24 h); 0 keeps the lighting fixed.
    """
    settings = dict(
        source="synthetic",
        resolution=resolution,
        num_static=num_static,
        num_videos=num_videos,
        frames=frames,
        daytime_span=daytime_span,
        seed=seed,
        format=fmt,
    )
    base = seed * 10**7
    jobs_s = [(base + i, resolution, fmt) for i in range(num_static)]
    jobs_v = [(base + 5 * 10**6 + i, resolution, fmt, frames, daytime_span) for i in range(num_videos)]
    sizes = {"static": shard_size, "videos": max(1, shard_size // 8)}  # videos are ~frames x larger
    with DatasetWriter(out, shard_size=sizes, overwrite=overwrite, settings=settings) as writer:
        with Pool(max(1, workers)) as pool:
            for sample in tqdm(
                pool.imap(_render_static, jobs_s, chunksize=8), total=len(jobs_s), desc="static", unit="img"
            ):
                writer.write("static", sample)
            for sample in tqdm(
                pool.imap(_render_video, jobs_v, chunksize=2), total=len(jobs_v), desc="videos", unit="video"
            ):
                writer.write("videos", sample)
    return writer
