"""Sample quality in the scene network's features: the project's FID for its own world.

For generated frames against real stills, in :meth:`SceneNet.features`:

* ``fd``: Fréchet distance; ``kid`` (x 1000): kernel distance (unbiased); ``precision`` / ``recall``: k-NN
  manifolds (:mod:`~dl_lightning.metrics.precision_recall`);
* beside them the **floor** (a second real set, of other scenes, against the first: what two real sets of this
  size differ by) and the **ladder**: the same second set damaged in known ways (no trees, no ridges, no water,
  blurred with sigma 1 px, rendered at 16 px and upsampled), so a reader knows what a number means;
* **scene statistics** read by the network's heads (share of scenes with water, ridge-count distribution, mean
  tree count, daytime mix, class shares) against the renderer's prior (the labels of the reference renders) and
  against the real stills as the network reads them (its reading errors cancel there), as total variation
  distances;
* **pixel statistics** (:mod:`~dl_lightning.metrics.pixel_stats`) against the real stills';
* **structure figures** (:mod:`~dl_lightning.metrics.structure`: sky grain, boundary sharpness, tree size, shape
  and count, sun) of every set through the network's class maps, and their ratios to the real stills', with two
  more rungs for them (:data:`STRUCTURE_RUNGS`: fine grain, blob trees).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from dl_lightning.data.images import from_uint8
from dl_lightning.data.scenes import CLASSES, MAX_RIDGES, scene_targets, tau_from_angle
from dl_lightning.metrics.frechet import frechet_distance, kernel_distance
from dl_lightning.metrics.pixel_stats import pixel_stats
from dl_lightning.metrics.precision_recall import precision_recall
from dl_lightning.metrics.structure import structure_ratios, structure_stats

#: Times of day (fractions of a day) of each daytime bin; the rest of the day is "night". The renderer draws
#: stills 60% in "day", 30% in "twilight", 10% at night (``dl_lightning.data.synthetic.landscape.sample_daytime``).
DAYTIME_BINS = {"day": [(0.32, 0.68)], "twilight": [(0.22, 0.32), (0.68, 0.80)]}
#: The ladder's rungs: name -> (parts left out of the scene, blur sigma in px, render side before upsampling).
LADDER = {
    "no trees": (("trees",), 0.0, None),
    "no ridges": (("ridges",), 0.0, None),
    "no water": (("water",), 0.0, None),
    "blur 1 px": ((), 1.0, None),
    "16 px upsampled": ((), 0.0, 16),
}
#: The structure figures' rungs (:mod:`~dl_lightning.metrics.structure`), after the ladder's: the second real set
#: with fine Gaussian grain of this std (grey levels in [0, 1]), and with its trees as blurred discs.
GRAIN = 0.03
STRUCTURE_RUNGS = ("fine grain", "blob trees")


@torch.no_grad()
def read_batches(net, batches: Iterable[torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Features (N, F) and readings (``SceneNet.read``: class maps (N, H, W) uint8 at the images' size, per-image
    class shares (N, C), and the scalar heads) of a stream of (B, 3, H, W) batches in [-1, 1]."""
    feats, reads = [], []
    for x in batches:
        x = x.float()
        feats.append(net.features(x))
        r = net.read(x)
        r["class_shares"] = F.one_hot(r["classes"], len(CLASSES)).float().mean(dim=(1, 2))
        if r["classes"].shape[-2:] != x.shape[-2:]:  # the class maps at the images' size, for the structure figures
            r["classes"] = F.interpolate(r["classes"][:, None].float(), size=x.shape[-2:], mode="nearest")[:, 0]
        r["classes"] = r["classes"].to(torch.uint8)
        reads.append(r)
    return torch.cat(feats), {k: torch.cat([r[k] for r in reads]) for k in reads[0]}


def daytime_bin(tau: torch.Tensor) -> torch.Tensor:
    """(N,) times of day -> (N, 3) one-hot over (day, twilight, night)."""
    cols = [sum(((tau >= lo) & (tau < hi)) for lo, hi in DAYTIME_BINS[b]).bool() for b in ("day", "twilight")]
    day, twi = cols
    return torch.stack([day, twi, ~(day | twi)], 1).float()


def scene_statistics(reads: dict[str, torch.Tensor]) -> dict[str, list[float] | float]:
    """Distributions over a set of scenes: water [no, yes], ridges [1, 2, 3], daytime [day, twilight, night],
    class shares (mean over images), mean tree count. ``reads``: :func:`read_batches`' readings, or
    :func:`labels_as_reads` of real labels."""
    n = len(reads["water"])
    water = reads["water"].float().mean()
    ridges = torch.bincount(reads["ridges"].long().clamp(1, MAX_RIDGES) - 1, minlength=MAX_RIDGES).float() / n
    return {
        "water": [float(1 - water), float(water)],
        "ridges": ridges.tolist(),
        "daytime": daytime_bin(reads["daytime"]).mean(0).tolist(),
        "class_shares": reads["class_shares"].mean(0).tolist(),
        "mean_trees": float(reads["trees"].float().mean()),
    }


def labels_as_reads(labels: list[dict]) -> dict[str, torch.Tensor]:
    """Stills' JSON labels in the form of :func:`read_batches`' readings (the renderer's prior)."""
    t = [scene_targets(m) for m in labels]
    tau = torch.tensor([tau_from_angle(x["daytime_cos"], x["daytime_sin"]) for x in t])
    shares = torch.tensor([[m["scene"]["class_shares"][c] for c in CLASSES] for m in labels])
    return {
        "water": torch.tensor([x["water"] > 0.5 for x in t]),
        "ridges": torch.tensor([int(x["ridges"]) + 1 for x in t]),
        "trees": torch.tensor([x["trees"] for x in t]),
        "daytime": tau,
        "class_shares": shares,
    }


def total_variation(p: list[float], q: list[float]) -> float:
    """Half the L1 distance between two distributions over the same bins."""
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q))


def compare_statistics(stats: dict, prior: dict) -> dict[str, float]:
    """Total variation of each distribution of :func:`scene_statistics`, and the tree-count difference."""
    out = {f"tv_{k}": total_variation(stats[k], prior[k]) for k in ("water", "ridges", "daytime", "class_shares")}
    out["trees_diff"] = stats["mean_trees"] - prior["mean_trees"]
    return out


def distances(real: torch.Tensor, other: torch.Tensor, kid_subset: int = 500) -> dict[str, float]:
    """FD, KID (x 1000, mean and std) and k-NN precision/recall of features ``other`` against ``real``."""
    kid, kid_std = kernel_distance(real, other, subset_size=kid_subset)
    return {"fd": frechet_distance(real, other), "kid": 1000 * kid, "kid_std": 1000 * kid_std} | precision_recall(
        real, other
    )


def damage(images: torch.Tensor, blur: float) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1], blurred with a Gaussian of ``blur`` px (reflect padding); unchanged for 0."""
    if blur <= 0:
        return images
    r = max(1, math.ceil(3 * blur))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / blur) ** 2)
    k = (k / k.sum()).to(images)
    c = images.shape[1]
    x = F.pad(images, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def upsample_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, h, w) -> (B, 3, size, size), bilinear (the ladder's low-resolution rung)."""
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


def _chunks(x: torch.Tensor, batch: int):
    return (x[i : i + batch] for i in range(0, len(x), batch))


def reference_sets(
    num: int, size: int, ladder: bool = True, workers: int = 2
) -> tuple[torch.Tensor, list[dict], dict[str, torch.Tensor]]:
    """The second real set (``num`` renders of scenes no dataset uses, (N, 3, size, size) in [-1, 1]) with their
    labels, and the ladder's damaged copies of it ({rung: images}; empty without ``ladder``)."""
    from dl_lightning.data.synthetic.dataset import blob_tree_stills, reference_stills

    def as_tensor(frames) -> torch.Tensor:
        return from_uint8(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))

    frames, labels = reference_stills(num, size, workers=workers, progress="reference renders")
    reference = as_tensor(frames)
    rungs = {}
    for name, (without, blur, low) in LADDER.items() if ladder else ():
        if without:
            rungs[name] = as_tensor(reference_stills(num, size, without, workers, progress=name)[0])
        elif low:
            rungs[name] = upsample_to(as_tensor(reference_stills(num, low, (), workers, progress=name)[0]), size)
        else:
            rungs[name] = damage(reference, blur)
    if ladder:
        gen = torch.Generator().manual_seed(0)
        rungs["fine grain"] = (reference + 2 * GRAIN * torch.randn(reference.shape, generator=gen)).clamp(-1, 1)
        rungs["blob trees"] = as_tensor(blob_tree_stills(num, size, workers, progress="blob trees"))
    return reference, labels, rungs


def real_side(
    net, real: torch.Tensor, reference: torch.Tensor, labels: list[dict], rungs: dict | None = None, batch: int = 100
) -> dict:
    """What :func:`scene_quality` computes from the real stills, the floor set and the ladder alone: computed once,
    it serves any number of generated sets (``dl-eval run``'s checkpoints and resamples)."""
    f_real, r_real = read_batches(net, _chunks(real, batch))
    f_ref, r_ref = read_batches(net, _chunks(reference, batch))
    read_rungs = {name: (x, *read_batches(net, _chunks(x, batch))) for name, x in (rungs or {}).items()}
    structure = {"real": structure_stats(real, r_real["classes"]),
                 "floor": structure_stats(reference, r_ref["classes"]),
                 **{name: structure_stats(x, r["classes"]) for name, (x, _, r) in read_rungs.items()}}  # fmt: skip
    return {
        "f_real": f_real,
        "f_ref": f_ref,
        "f_rungs": {name: f for name, (_, f, _) in read_rungs.items()},
        "structure": structure,
        "prior": scene_statistics(labels_as_reads(labels)),
        "stats_real": scene_statistics(r_real),
        "pixels_real": pixel_stats(_chunks(real, batch)),
    }


def scene_quality(
    net,
    real: torch.Tensor,
    generated: torch.Tensor,
    reference: torch.Tensor,
    labels: list[dict],
    rungs: dict[str, torch.Tensor] | None = None,
    batch: int = 100,
    fixed: dict | None = None,
) -> dict:
    """The whole report for generated frames (N, 3, H, W) in [-1, 1] against real stills: distances (FD, KID x 1000,
    precision, recall) of the generated set, of the floor (``reference``, a second real set) and of each ladder rung;
    scene statistics (network readings of the generated and real sets, the renderer's prior from ``labels``, total
    variations); pixel statistics of both sets and their ratios. ``fixed``: :func:`real_side` of the same real,
    reference, labels and rungs, when computed already."""
    fixed = fixed or real_side(net, real, reference, labels, rungs, batch)
    f_real, prior, st_real, px_real = fixed["f_real"], fixed["prior"], fixed["structure"]["real"], fixed["pixels_real"]
    f_gen, r_gen = read_batches(net, _chunks(generated, batch))
    structure = {"real": st_real, "generated": structure_stats(generated, r_gen["classes"]),
                 **{k: v for k, v in fixed["structure"].items() if k != "real"}}  # fmt: skip
    stats = {"prior": prior, "real": fixed["stats_real"], "generated": scene_statistics(r_gen)}
    px_gen = pixel_stats(_chunks(generated, batch))
    return {
        "generated": distances(f_real, f_gen),
        "floor": distances(f_real, fixed["f_ref"]),
        "ladder": {name: distances(f_real, f) for name, f in fixed["f_rungs"].items()},
        "structure": structure,
        "structure_ratio": {k: structure_ratios(v, st_real) for k, v in structure.items() if k != "real"},
        "scene_stats": stats,
        "scene_tv": {
            "generated": compare_statistics(stats["generated"], prior),
            "real": compare_statistics(stats["real"], prior),
            # both read by the network, so its own reading errors (time of day: ~3 h) largely cancel
            "generated_vs_real": compare_statistics(stats["generated"], stats["real"]),
        },
        "pixels": {
            "real": px_real,
            "generated": px_gen,
            "isolated_ratio": px_gen["isolated_rate"] / max(px_real["isolated_rate"], 1e-12),
            "laplacian_ratio": px_gen["mean_abs_laplacian"] / max(px_real["mean_abs_laplacian"], 1e-12),
        },
    }
