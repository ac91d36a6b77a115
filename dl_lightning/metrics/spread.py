"""A run's quality as means with spreads, so that a difference between two runs is read against each one's noise.

One evaluation (:func:`~dl_lightning.metrics.scene_quality.scene_quality` of one generated set) is noisy twice
over: a GAN's checkpoints a few hundred iterations apart differ (FD by up to 2x at 64 px), and a set of N samples
is one draw. :func:`summarise` takes the figures of every (checkpoint, resample) pair, a resample being an
independent generated set of the same size against the same real set, and gives per figure:

* ``mean``: over all pairs (the run's figure: the mean of its last checkpoints);
* ``between_checkpoints``: the standard deviation of the checkpoints' means (0 for one checkpoint);
* ``between_resamples``: the mean over checkpoints of the standard deviation over resamples (0 for one resample).
"""

from __future__ import annotations

import math

import numpy as np


def headline(report: dict) -> dict[str, float]:
    """The figures of a ``scene_quality`` report that compare runs: the generated set's FD, KID (x 1000),
    precision and recall, its structure figures as ratios to the real stills' (``structure_<figure>``) and its
    pixel ratios (isolated pixels, mean |Laplacian|)."""
    g = report["generated"]
    out = {k: float(g[k]) for k in ("fd", "kid", "precision", "recall")}
    out |= {f"structure_{k}": float(v) for k, v in report["structure_ratio"]["generated"].items()}
    out["isolated_ratio"] = float(report["pixels"]["isolated_ratio"])
    out["laplacian_ratio"] = float(report["pixels"]["laplacian_ratio"])
    return out


def summarise(figures: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """``figures[checkpoint]`` = one dict of figures per resample -> per figure ``mean``, ``between_checkpoints``,
    ``between_resamples`` (see the module docstring). NaN values (a figure a set has none of, e.g. no trees) are
    left out; a figure with no value at all is NaN."""
    names = list(dict.fromkeys(k for rows in figures.values() for row in rows for k in row))
    out = {}
    for name in names:
        per_ckpt = [np.array([row.get(name, math.nan) for row in rows], float) for rows in figures.values()]
        per_ckpt = [v[~np.isnan(v)] for v in per_ckpt]
        per_ckpt = [v for v in per_ckpt if len(v)]
        if not per_ckpt:
            out[name] = {"mean": math.nan, "between_checkpoints": math.nan, "between_resamples": math.nan}
            continue
        means = np.array([v.mean() for v in per_ckpt])
        out[name] = {
            "mean": float(np.concatenate(per_ckpt).mean()),
            "between_checkpoints": float(means.std(ddof=1)) if len(means) > 1 else 0.0,
            "between_resamples": float(np.mean([v.std(ddof=1) if len(v) > 1 else 0.0 for v in per_ckpt])),
        }
    return out
