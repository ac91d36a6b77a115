"""Build the photo segmenter's dataset: photo-like stills (:mod:`.photo_world`) with their moving region.

Each sample stores the image and ``mask.png`` (white = moves), as the synthetic dataset does, so
:class:`dl_lightning.data.masks.MaskDataModule` reads both. Training scenes use seeds ``seed*10**7 + i``; the
held-out ones (``videos`` is not used: ``val/`` is a second ``static`` folder) ``seed*10**7 + 5*10**6 + i``.
"""

from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

from tqdm import tqdm

from dl_lightning.data.images import encode_image
from dl_lightning.data.shards import DatasetWriter
from dl_lightning.data.synthetic.dataset import _mask_png, _to_pil
from dl_lightning.data.synthetic.photo_world import render_world


def _render(args: tuple[int, int, str, bool, bool]) -> dict:
    seed, size, fmt, extras, haze = args
    r = render_world(seed, size, extras=extras, haze=haze)
    return {
        "__key__": f"w{seed:08d}",
        fmt: encode_image(_to_pil(r.image), fmt),
        "mask.png": _mask_png(r.moving),
        "json": json.dumps({"seed": seed, "world": True}).encode(),
    }


def build_world(
    out: str | Path,
    resolution: int = 128,
    num: int = 6000,
    num_val: int = 256,
    seed: int = 0,
    shard_size: int = 500,
    fmt: str = "png",
    workers: int = 2,
    overwrite: bool = False,
    extras: bool = False,
    haze: bool = False,
) -> DatasetWriter:
    """Render ``num`` training stills into ``out`` (source ``static``) and ``num_val`` held-out ones into
    ``out``/``val`` (its own dataset folder); ``extras``, ``haze``: :func:`render_world`'s."""
    settings = dict(
        source="photo_world", resolution=resolution, num=num, seed=seed, format=fmt, extras=extras, haze=haze
    )
    base = seed * 10**7
    parts = [
        (Path(out), range(base, base + num)),
        (Path(out) / "val", range(base + 5 * 10**6, base + 5 * 10**6 + num_val)),
    ]
    writer = None
    for i, (root, seeds) in enumerate(parts):
        # the held-out folder is written inside the finished one: after it is in place
        with DatasetWriter(root, shard_size=shard_size, overwrite=overwrite or i > 0, settings=settings) as w:
            with Pool(max(1, workers)) as pool:
                jobs = [(s, resolution, fmt, extras, haze) for s in seeds]
                for sample in tqdm(pool.imap(_render, jobs, chunksize=8), total=len(jobs), desc=root.name, unit="img"):
                    w.write("static", sample)
        writer = writer or w
    return writer
