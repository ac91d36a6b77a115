"""Reading a dataset in shard order (deterministic, no shuffling): for evaluation and monitoring.

Reference sets are drawn across the whole dataset (:func:`spread_frames`), not from its first shards: a converted
dataset holds a video's clips together or a photo folder's pictures in a row, and the first N would be a few
scenes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import torch
from webdataset.tariterators import tarfile_to_samples

from dl_lightning.data.images import open_rgb, pil_to_tensor
from dl_lightning.data.shards import read_manifest, shard_urls
from dl_lightning.data.stream import decode_image, frame_fields, image_field


def dataset_samples(root: str, source: str) -> Iterator[dict]:
    """Raw samples of a dataset source in shard order (deterministic)."""
    for url in shard_urls(root, source):
        yield from tarfile_to_samples()(iter([{"url": url}]))


def spread_frames(root: str, source: str, num: int, seed: int = 0) -> dict[int, int]:
    """Which samples (index in shard order) and which of their frames make a reference set of ``num`` images
    spread over the whole of ``source``: ``num`` samples drawn without replacement (seeded), or all of them with
    ``ceil(num / samples)`` evenly spaced frames of each clip (``videos``) when there are fewer. Returns
    {sample index: frames to take}."""
    total = int(read_manifest(root).get("counts", {}).get(source, 0))
    if total == 0:
        return {}
    chosen = sorted(random.Random(f"{seed}-{source}").sample(range(total), min(num, total)))
    per = 1 if source == "static" else math.ceil(num / len(chosen))
    return dict.fromkeys(chosen, per)


def evenly_spaced(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (fewer if ``n`` < ``k``), first and last included."""
    return sorted({round(j * (n - 1) / (k - 1)) for j in range(k)}) if k > 1 else [0]


def real_batches(
    root: str, source: str, num: int, resolution: int, batch: int, seed: int = 0
) -> Iterator[torch.Tensor]:
    """Up to ``num`` real images in [-1, 1] spread over the dataset (:func:`spread_frames`): stills, or frames
    of the video clips."""
    plan = spread_frames(root, source, num, seed)
    buf, done = [], 0
    for i, s in enumerate(dataset_samples(root, source)):
        if i not in plan:
            continue
        if source == "static":
            fields = [image_field(s)]
        else:
            names = frame_fields(s)
            fields = [s[names[k]] for k in evenly_spaced(len(names), plan[i])]
        for data in fields:
            buf.append(decode_image(data, resolution))
            if len(buf) == batch or done + len(buf) == num:
                yield torch.stack(buf)
                done, buf = done + len(buf), []
                if done == num:
                    return
    if buf:
        yield torch.stack(buf)


def dataset_videos(root: str, num: int, resolution: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """(video (T,3,H,W), dynamic mask (H,W) or None) for the first ``num`` clips."""
    for i, s in enumerate(dataset_samples(root, "videos")):
        if i == num:
            return
        video = torch.stack([decode_image(s[k], resolution) for k in frame_fields(s)])
        mask = None
        if "mask.png" in s:
            m = open_rgb(s["mask.png"])
            if m.size != (resolution, resolution):
                m = m.resize((resolution, resolution))
            mask = pil_to_tensor(m)[0] > 0
        yield video, mask
