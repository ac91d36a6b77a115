"""Writing WebDataset shard folders atomically, with a JSON manifest.

A dataset folder looks like::

    <root>/manifest.json          # counts, settings, shard lists (written last)
    <root>/static/static-000000.tar   # samples: <key>.jpg, <key>.json, [<key>.mask.png]
    <root>/videos/videos-000000.tar   # samples: <key>.f000.jpg ... <key>.fNNN.jpg, <key>.json, [<key>.mask.png]

Everything is written under ``<root>.partial-<pid>`` and renamed into place
only when complete, so an interrupted build never looks like a finished one.

Converters of a user's files mix (``mix_seed``): samples are first spooled one per folder, then written in a
seeded random order into at least ``min_shards`` shards per source, so every shard and every stretch of a shard
holds samples of many videos (a video's clips are written one after another) and the shards can be split between
many consumers (ranks x dataloader workers, each reading its own shards).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import webdataset as wds
from tqdm import tqdm

from dl_lightning.errors import UserError

MANIFEST = "manifest.json"
SOURCES = ("static", "videos")


class DatasetWriter:
    """Context manager that writes one dataset folder of WebDataset shards.

    Args:
        root: final dataset folder.
        shard_size: maximum samples per shard, one number or per source ({"static": n, "videos": m}).
        overwrite: replace ``root`` if it exists (otherwise it is an error).
        settings: recorded in the manifest (resolution, source, options...).
        mix_seed: if set, spool every sample and write them in the order of a permutation seeded with it (see the
            module docstring); None writes in the order given.
        min_shards: with ``mix_seed``, the fewest shards per source (shards get smaller, down to one sample each,
            so that at least this many exist).
    """

    def __init__(
        self,
        root: str | Path,
        shard_size: int | dict[str, int] = 1000,
        overwrite: bool = False,
        settings: dict | None = None,
        mix_seed: int | None = None,
        min_shards: int = 1,
    ):
        self.root = Path(root)
        self.mix_seed, self.min_shards = mix_seed, max(1, min_shards)
        if self.root.exists() and not overwrite:
            raise UserError(
                f"{self.root} already exists; pass --overwrite to replace it or choose another output folder"
            )
        self.shard_sizes = shard_size if isinstance(shard_size, dict) else {s: shard_size for s in SOURCES}
        if min(self.shard_sizes.values()) < 1:
            raise UserError(f"--shard-size must be >= 1, got {shard_size}")
        self.tmp = self.root.with_name(f"{self.root.name}.partial-{os.getpid()}")
        self.overwrite = overwrite
        self.settings = dict(settings or {})
        self.writers: dict[str, wds.ShardWriter] = {}
        self.spooled: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def __enter__(self) -> DatasetWriter:
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir()
        except OSError as err:
            raise UserError(f"cannot write to {self.root.parent}: {err.strerror}") from None
        return self

    def write(self, source: str, sample: dict[str, Any]) -> None:
        """Write one sample (a dict with ``__key__`` and encoded fields) to ``source``."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        if self.mix_seed is not None:
            self._spool(source, sample)
            return
        self._write(source, sample)

    def _write(self, source: str, sample: dict[str, Any], shard_size: int | None = None) -> None:
        if source not in self.writers:
            (self.tmp / source).mkdir()
            pattern = str(self.tmp / source / f"{source}-%06d.tar")
            size = shard_size or self.shard_sizes[source]
            self.writers[source] = wds.ShardWriter(pattern, maxcount=size, verbose=0)
        self.writers[source].write(sample)
        self.counts[source] += 1

    def _spool(self, source: str, sample: dict[str, Any]) -> None:
        """Keep ``sample`` as a folder of its fields under the spool, numbered in arrival order."""
        folder = self.tmp / ".spool" / source / f"{self.spooled.get(source, 0):09d}"
        folder.mkdir(parents=True)
        for name, value in sample.items():
            (folder / name).write_bytes(value.encode() if isinstance(value, str) else value)
        self.spooled[source] = self.spooled.get(source, 0) + 1

    def _unspool(self) -> None:
        """Write the spooled samples in a seeded random order, into at least ``min_shards`` shards per source."""
        for source, n in self.spooled.items():
            order = list(range(n))
            random.Random(f"{self.mix_seed}-{source}").shuffle(order)
            size = max(1, min(self.shard_sizes[source], math.ceil(n / self.min_shards)))
            for i in tqdm(order, desc=f"mixing {source}", unit="sample", leave=False):
                folder = self.tmp / ".spool" / source / f"{i:09d}"
                sample: dict[str, Any] = {p.name: p.read_bytes() for p in folder.iterdir()}
                sample["__key__"] = sample["__key__"].decode()
                self._write(source, sample, size)
                shutil.rmtree(folder)
        shutil.rmtree(self.tmp / ".spool", ignore_errors=True)

    def skip(self, reason: str) -> None:
        """Count a skipped input under a short reason."""
        self.skipped[reason] += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._unspool()
            for w in self.writers.values():
                w.close()
            if exc_type is None:
                self._finish()
        except OSError as err:  # a full disk, most often: nothing half-written stays behind
            exc_type, exc = OSError, err
        if exc_type is None:
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise UserError(
                f"cannot write the dataset to {self.root}: {exc.strerror or exc} (is the disk full?); "
                "nothing was kept: free some space or choose another --out"
            ) from None

    def _finish(self) -> None:
        """Write the manifest and move the finished dataset into place."""
        manifest = {
            "format": "dl_lightning-shards-v1",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "settings": self.settings,
            "counts": dict(self.counts),
            "skipped": dict(self.skipped),
            "shards": {s: sorted(p.name for p in (self.tmp / s).glob("*.tar")) for s in self.writers},
        }
        tmp_manifest = self.tmp / (MANIFEST + ".tmp")
        tmp_manifest.write_text(json.dumps(manifest, indent=2))
        tmp_manifest.rename(self.tmp / MANIFEST)
        if self.root.exists():
            shutil.rmtree(self.root)
        self.tmp.rename(self.root)

    def summary(self) -> str:
        """Human-readable one-paragraph summary of what was written and skipped."""
        written = ", ".join(f"{n} {s}" for s, n in self.counts.items()) or "nothing"
        lines = [f"wrote {written} sample(s) to {self.root}"]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values())}:")
            lines += [f"  {n:6d}  {reason}" for reason, n in self.skipped.most_common()]
        return "\n".join(lines)


def read_manifest(root: str | Path) -> dict:
    """Load ``<root>/manifest.json``; raise :class:`UserError` saying how to build it if absent."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise UserError(
            f"no dataset at {root} (missing {MANIFEST}); build the synthetic one with "
            f"`make data` (dl-data synthetic --out {root}) or convert your own with `dl-data images` / `dl-data videos`"
        )
    return json.loads(path.read_text())


def shard_urls(root: str | Path, source: str) -> list[str]:
    """Paths of the shards of ``source`` ('static' or 'videos') listed in the manifest."""
    manifest = read_manifest(root)
    names = manifest.get("shards", {}).get(source, [])
    if not names:
        raise UserError(f"dataset {root} has no '{source}' shards (manifest counts: {manifest.get('counts')})")
    return [str(Path(root) / source / n) for n in names]
