"""Reading a dataset in shard order (deterministic, no shuffling): for evaluation and monitoring."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from webdataset.tariterators import tarfile_to_samples

from dl_lightning.data.images import open_rgb, pil_to_tensor
from dl_lightning.data.shards import shard_urls
from dl_lightning.data.stream import decode_image, frame_fields, image_field


def dataset_samples(root: str, source: str) -> Iterator[dict]:
    """Raw samples of a dataset source in shard order (deterministic)."""
    for url in shard_urls(root, source):
        yield from tarfile_to_samples()(iter([{"url": url}]))


def real_batches(root: str, source: str, num: int, resolution: int, batch: int) -> Iterator[torch.Tensor]:
    """Up to ``num`` real images in [-1, 1]: stills, or every frame of the video clips."""
    buf, done = [], 0
    for s in dataset_samples(root, source):
        fields = [image_field(s)] if source == "static" else [s[k] for k in frame_fields(s)]
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
