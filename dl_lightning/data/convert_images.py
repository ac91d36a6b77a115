"""Convert a folder of landscape photos (any format, size and mode) into static-image shards."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from dl_lightning.data.images import IMAGE_EXTENSIONS, center_crop_resize, encode_image, open_rgb
from dl_lightning.data.shards import DatasetWriter
from dl_lightning.errors import UserError


def list_files(src: str | Path, extensions: tuple[str, ...]) -> list[Path]:
    """All files under ``src`` (recursively) with one of ``extensions``, sorted."""
    src = Path(src)
    if not src.is_dir():
        raise UserError(f"{src} is not a folder")
    return sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in extensions)


def short_reason(err: UserError) -> str:
    """The reason part of a UserError message (drop the leading 'path: ')."""
    msg = str(err)
    return msg.split(": ", 1)[1] if ": " in msg and msg.split(": ", 1)[0].count("/") else msg


def images_to_shards(
    src: str | Path,
    out: str | Path,
    resolution: int = 256,
    shard_size: int = 1000,
    upscale: bool = False,
    fmt: str = "jpg",
    overwrite: bool = False,
    min_shards: int = 32,
    seed: int = 0,
) -> DatasetWriter:
    """Centre-crop and resize every photo under ``src`` into ``out/static`` shards, in a seeded random order over
    at least ``min_shards`` shards (folders of one place or one trip do not stay together).

    Unreadable, truncated, too large (decompression bomb) or too small images are
    skipped with a one-line reason each and counted in the manifest.
    """
    files = list_files(src, IMAGE_EXTENSIONS)
    if not files:
        raise UserError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {src}")
    settings = dict(source="images", src=str(src), resolution=resolution, upscale=upscale, format=fmt, mix_seed=seed)
    with DatasetWriter(
        out, shard_size=shard_size, overwrite=overwrite, settings=settings, mix_seed=seed, min_shards=min_shards
    ) as writer:
        for i, path in enumerate(tqdm(files, desc="images", unit="img")):
            try:
                img = center_crop_resize(open_rgb(path), resolution, upscale=upscale)
            except UserError as err:
                tqdm.write(f"skip {path}: {short_reason(err)}")
                writer.skip(short_reason(err).split(" (")[0])
                continue
            meta = {"path": str(path.relative_to(src))}
            writer.write(
                "static", {"__key__": f"i{i:08d}", fmt: encode_image(img, fmt), "json": json.dumps(meta).encode()}
            )
    return writer
