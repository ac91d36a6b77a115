"""Quality per frame index of generated time-lapses (the paper's protocol): does a video stay as good as its
first frame?

``num`` generated time-lapses of ``frames`` frames (the ``motion`` preset, the ``daytime`` path); at each of
``indices`` the frames of all videos form one set, compared with one real reference set in the same features:
Fréchet distance (FID in Inception's), KID, precision and recall.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from tqdm import tqdm

from dl_lightning.animation import sample_timelapse
from dl_lightning.data.images import to_uint8
from dl_lightning.metrics.frechet import frechet_distance, kernel_distance
from dl_lightning.metrics.precision_recall import precision_recall
from dl_lightning.models.generator import Generator


def features_of(batches: Iterable[torch.Tensor], feature: nn.Module) -> torch.Tensor:
    """(N, F) features of a stream of [-1, 1] image batches (computed on the CPU)."""
    return torch.cat([feature(to_uint8(b).cpu()).double() for b in batches])


@torch.no_grad()
def per_frame_quality(
    G: Generator,
    real_features: torch.Tensor,
    feature: nn.Module,
    num: int,
    frames: int,
    indices: list[int],
    batch: int = 16,
    seed: int = 0,
    motion: str = "clouds",
    daytime: str = "slerp",
    truncation: float = 1.0,
    kid_subset_size: int = 1000,
) -> dict[int, dict[str, float]]:
    """{frame index: {fd, kid_mean, kid_std, precision, recall}} of ``num`` generated time-lapses against
    ``real_features`` (N, F). Videos are generated ``batch`` at a time (seeded ``seed`` + group)."""
    if not indices or min(indices) < 0 or max(indices) >= frames:
        raise ValueError(f"frame indices must lie in [0, {frames - 1}], got {indices}")
    fake: dict[int, list[torch.Tensor]] = {t: [] for t in indices}
    groups = range(0, num, batch)
    for g in tqdm(groups, desc="time-lapses", unit="batch", leave=False):
        b = min(batch, num - g)
        for t, frame in enumerate(sample_timelapse(G, b, frames, seed + g, motion, daytime, truncation, chunk=b)):
            if t in fake:
                fake[t].append(feature(to_uint8(frame).cpu()).double())
    out = {}
    for t, parts in fake.items():
        f = torch.cat(parts)
        kid, kid_std = kernel_distance(real_features, f, subset_size=min(kid_subset_size, len(f), len(real_features)))
        out[t] = {"fd": frechet_distance(real_features, f), "kid_mean": kid, "kid_std": kid_std,
                  **precision_recall(real_features.float(), f.float())}  # fmt: skip
    return out
