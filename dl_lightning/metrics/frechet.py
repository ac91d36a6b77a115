"""Fréchet distance and kernel (KID) distance between two sets of features (N, F), computed in float64.

These are FID's and KID's formulas (Heusel et al. 2017; Bińkowski et al. 2018) on any embedding: here the scene
network's (:mod:`dl_lightning.metrics.scene_quality`). FD is biased upwards at small N (compare with the
real-against-real floor at the same N); KID is unbiased.
"""

from __future__ import annotations

import torch


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^1/2) of features a (N, F) and b (M, F)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)
    # tr (S_a S_b)^1/2 = sum of the square roots of the eigenvalues of S_a S_b (real, >= 0 up to rounding)
    eig = torch.linalg.eigvals(s_a @ s_b).real.clamp(min=0)
    return float((mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * eig.sqrt().sum())


def kernel_distance(
    a: torch.Tensor, b: torch.Tensor, subsets: int = 50, subset_size: int = 500, seed: int = 0
) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y / F + 1)^3, mean and std over random subsets."""
    a, b = a.double(), b.double()
    n = min(subset_size, len(a), len(b))
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=gen)[:n]]
        y = b[torch.randperm(len(b), generator=gen)[:n]]
        k_xx, k_yy, k_xy = ((u @ v.T / a.shape[1] + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
        off = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
        values.append(float(off - 2 * k_xy.mean()))
    t = torch.tensor(values)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0
