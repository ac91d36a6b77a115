"""Improved precision and recall (Kynkäänniemi et al. 2019): k-nearest-neighbour manifolds in a feature space.

Precision: the share of generated samples inside the real manifold (the union of balls around each real
feature, radius its distance to its k-th nearest real neighbour): do samples look like the data? Recall: the
share of real samples inside the generated manifold: does the generator cover the data?
"""

from __future__ import annotations

import torch


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the row itself at distance 0


def _coverage(ref: torch.Tensor, radius: torch.Tensor, query: torch.Tensor, chunk: int = 1024) -> float:
    inside = [(torch.cdist(query[i : i + chunk], ref) <= radius[None]).any(1) for i in range(0, len(query), chunk)]
    return float(torch.cat(inside).float().mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Precision and recall of features ``fake`` (M, F) against ``real`` (N, F), with k-NN radii (k=3 as the paper)."""
    real, fake = real.double(), fake.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall needs more than k={k} samples per set")
    return {
        "precision": _coverage(real, _kth_radius(real, k), fake),
        "recall": _coverage(fake, _kth_radius(fake, k), real),
    }
