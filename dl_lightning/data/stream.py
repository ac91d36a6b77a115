"""Streaming static images and video-frame pairs out of WebDataset shards.

:class:`LandscapeStream` is an ``IterableDataset`` yielding dicts::

    {"static": (3,H,W) float in [-1,1], "pairs": (2,3,H,W) float in [-1,1], "key": str (static sample key),
     "pair_key": str (the key of the clip the pair comes from)}

Shards are split between consumers (rank x dataloader worker). With at least as many
shards as consumers each consumer reads a disjoint set of shards; with fewer, every
consumer reads all shards and keeps every ``n``-th sample, so consumers stay disjoint.
Each consumer streams its part forever (re-shuffling shard order each pass) and stops
after its share of an epoch; everything random comes from ``(seed, epoch, consumer)``.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import webdataset as wds
from torch.utils.data import IterableDataset, get_worker_info
from webdataset.tariterators import tarfile_to_samples

from dl_lightning.data.images import center_crop_resize, open_rgb, pil_to_tensor
from dl_lightning.errors import UserError

IMAGE_KEYS = ("jpg", "jpeg", "png", "webp")


def consumer_shards(urls: list[str], consumer: int, n_consumers: int) -> tuple[list[str], int, int]:
    """Shards for one consumer, plus the sample-level split ``(keep_mod, keep_rem)``.

    Returns the shards to read and the modulus/remainder of per-shard sample indices to keep.
    """
    if len(urls) >= n_consumers:
        return urls[consumer::n_consumers], 1, 0
    return list(urls), n_consumers, consumer


#: Corrupt samples in a row after which a stream gives up with one line (a dataset that is all bad, not a few
#: damaged files).
MAX_BAD_RUN = 200


def iterate_samples(urls: list[str], consumer: int, n_consumers: int, rng: random.Random) -> Iterator[dict]:
    """Endless raw samples (dicts of bytes) from this consumer's part of ``urls``.

    A pass over its shards that reads no sample at all (every shard unreadable, or empty) raises a
    :class:`UserError` naming them, instead of looping forever."""
    mine, mod, rem = consumer_shards(urls, consumer, n_consumers)
    while True:
        order = list(mine)
        rng.shuffle(order)
        read = 0
        for url in order:
            samples = tarfile_to_samples(handler=wds.warn_and_continue)(iter([{"url": url}]))
            for i, sample in enumerate(samples):
                read += 1
                if i % mod == rem:
                    yield sample
        if not read:
            raise UserError(
                f"no readable sample in {len(order)} shard(s) ({order[0] if order else 'none'}"
                f"{', ...' if len(order) > 1 else ''}): the dataset is unreadable or empty; rebuild it with dl-data"
            )


def shuffled(samples: Iterator[Any], buffer: int, rng: random.Random) -> Iterator[Any]:
    """Reservoir shuffle with a buffer of ``buffer`` items."""
    pool: list[Any] = []
    for s in samples:
        if len(pool) < buffer:
            pool.append(s)
            continue
        i = rng.randrange(len(pool))
        pool[i], s = s, pool[i]
        yield s


def decode_image(data: bytes, resolution: int) -> torch.Tensor:
    """Encoded image bytes -> (3, resolution, resolution) in [-1, 1]."""
    img = open_rgb(data)
    if img.size != (resolution, resolution):
        img = center_crop_resize(img, resolution)
    return pil_to_tensor(img)


def image_field(sample: dict) -> bytes:
    for k in IMAGE_KEYS:
        if k in sample:
            return sample[k]
    raise UserError(f"sample {sample.get('__key__')} has no image field ({'/'.join(IMAGE_KEYS)})")


def frame_fields(sample: dict) -> list[str]:
    """Sorted frame field names ``f000.jpg``... of a video sample."""
    return sorted(k for k in sample if k.startswith("f") and k.split(".")[-1] in IMAGE_KEYS)


class LandscapeStream(IterableDataset):
    """Endless-within-epoch stream of (static image, frame pair) training samples.

    Args:
        static_urls: static-image shard paths.
        video_urls: video shard paths (each sample = one clip of frames ``fNNN.<ext>``).
        resolution: output side in pixels.
        samples_per_epoch: samples this rank yields per epoch (split across its workers).
        max_gap: largest frame-index distance between the two frames of a pair (>= 1); None = any two
            distinct frames of the clip, uniformly (the paper).
        pairs_per_video: pairs drawn from each decoded clip before moving on.
        flip: random horizontal flip (the same flip for both frames of a pair).
        shuffle_buffer: reservoir size for sample shuffling.
        batch_size: the loader's batch size: each worker yields whole batches (``samples_per_epoch`` is
            rounded up to a multiple of it).
        seed: base seed; with ``rank``/``world_size`` selects this rank's data.
    """

    def __init__(
        self,
        static_urls: list[str],
        video_urls: list[str],
        resolution: int,
        samples_per_epoch: int,
        max_gap: int | None = None,
        pairs_per_video: int = 4,
        flip: bool = True,
        shuffle_buffer: int = 256,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        batch_size: int = 1,
    ):
        super().__init__()
        if max_gap is not None and max_gap < 1:
            raise UserError(f"max_gap must be >= 1, got {max_gap}")
        self.static_urls, self.video_urls = list(static_urls), list(video_urls)
        self.resolution, self.samples_per_epoch = resolution, samples_per_epoch
        self.max_gap, self.pairs_per_video, self.flip = max_gap, pairs_per_video, flip
        self.shuffle_buffer, self.seed, self.rank, self.world_size = shuffle_buffer, seed, rank, world_size
        self.batch_size = batch_size
        self.epoch = 0  # advanced by every __iter__ (persistent workers keep their copy)
        self.skipped = 0

    def _consumer(self) -> tuple[int, int, int]:
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        return self.rank * nw + wid, self.world_size * nw, nw

    def _warn_skip(self, key: str, err: Exception, run: int) -> None:
        """Count and warn about a corrupt sample; ``run`` is how many in a row have failed (with this one)."""
        self.skipped += 1
        warnings.warn(f"skipping corrupt sample {key}: {err}", stacklevel=2)
        if run >= MAX_BAD_RUN:
            first = (self.static_urls or self.video_urls or ["?"])[0]
            raise UserError(
                f"{run} samples in a row could not be decoded (the last: {key}: {err}); the dataset of {first} "
                "looks corrupt: rebuild it with dl-data"
            )

    def _frame_pair(self, n: int, rng: random.Random) -> tuple[int, int]:
        """Indices of two distinct frames of an n-frame clip, at most ``max_gap`` apart."""
        if self.max_gap is None or self.max_gap >= n - 1:
            i, j = rng.sample(range(n), 2)
            return i, j
        i = rng.randrange(n)
        gap = rng.randint(1, self.max_gap)
        j = i + gap if i + gap < n else i - gap
        if j < 0:
            j = i + 1 if i + 1 < n else i - 1
        return i, j

    def _statics(self, consumer: int, n: int, rng: random.Random) -> Iterator[tuple[str, torch.Tensor]]:
        bad = 0
        for s in shuffled(iterate_samples(self.static_urls, consumer, n, rng), self.shuffle_buffer, rng):
            try:
                x = decode_image(image_field(s), self.resolution)
            except UserError as err:
                bad += 1
                self._warn_skip(s.get("__key__", "?"), err, bad)
                continue
            bad = 0
            yield s["__key__"], (x.flip(-1) if self.flip and rng.random() < 0.5 else x)

    def _pairs(self, consumer: int, n: int, rng: random.Random) -> Iterator[tuple[str, torch.Tensor]]:
        def raw_pairs():
            short = 0
            for s in iterate_samples(self.video_urls, consumer, n, rng):
                names = frame_fields(s)
                if len(names) < 2:
                    short += 1
                    self._warn_skip(s.get("__key__", "?"), UserError("fewer than 2 frames"), short)
                    continue
                short = 0
                for _ in range(self.pairs_per_video):
                    i, j = self._frame_pair(len(names), rng)
                    yield s["__key__"], s[names[i]], s[names[j]]

        bad = 0
        for key, a, b in shuffled(raw_pairs(), self.shuffle_buffer, rng):
            try:
                pair = torch.stack([decode_image(a, self.resolution), decode_image(b, self.resolution)])
            except UserError as err:
                bad += 1
                self._warn_skip(key, err, bad)
                continue
            bad = 0
            yield key, (pair.flip(-1) if self.flip and rng.random() < 0.5 else pair)

    def __iter__(self) -> Iterator[dict]:
        consumer, n_consumers, n_workers = self._consumer()
        rng = random.Random(f"{self.seed}-{self.epoch}-{consumer}")
        self.epoch += 1
        statics, pairs = self._statics(consumer, n_consumers, rng), self._pairs(consumer, n_consumers, rng)
        # whole batches per worker, so that every batch is full (drop_last) and the epoch has all of them
        batches, wid = math.ceil(self.samples_per_epoch / self.batch_size), consumer - self.rank * n_workers
        mine = batches // n_workers + (wid < batches % n_workers)
        for _ in range(mine * self.batch_size):
            key, static = next(statics)
            pair_key, pair = next(pairs)
            yield {"static": static, "pairs": pair, "key": key, "pair_key": pair_key}
