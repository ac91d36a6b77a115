"""How well the scene network reads held-out renders: per-class IoU, tree-count error, water and ridge-count
accuracy, time-of-day error, cloud-cover and horizon error. The metric built on the network
(:mod:`dl_lightning.metrics.scene_quality`) is only as good as these numbers."""

from __future__ import annotations

import torch

from dl_lightning.data.images import from_uint8
from dl_lightning.data.scenes import CLASSES, tau_from_angle


def tau_error_hours(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Circular distance between times of day ``a`` and ``b`` (fractions of a day), in hours."""
    d = (a - b).remainder(1.0)
    return torch.minimum(d, 1 - d) * 24


@torch.no_grad()
def scene_reading(net, images: torch.Tensor, classes: torch.Tensor, targets: dict[str, torch.Tensor], batch: int = 128):
    """``net`` (SceneNet) on images (N, 3, H, W) in [-1, 1] or uint8, against class maps (N, H, W) and targets
    (``data.scenes.scene_targets``) -> {"iou/<class>", "miou", "pixel_acc", "trees_mae", "water_acc", "ridges_acc",
    "daytime_error_h", "cloud_cover_mae", "horizon_mae"}."""
    reads = []
    for i in range(0, len(images), batch):
        x = images[i : i + batch]
        x = from_uint8(x) if x.dtype == torch.uint8 else x.float()
        reads.append(net.read(x))
    r = {k: torch.cat([d[k] for d in reads]) for k in reads[0]}
    out = {}
    for c, name in enumerate(CLASSES):
        p, t = r["classes"] == c, classes.long() == c
        union = (p | t).sum()
        out[f"iou/{name}"] = float((p & t).sum() / union) if union else float("nan")
    present = [v for k, v in out.items() if v == v]
    out["miou"] = sum(present) / len(present)
    out["pixel_acc"] = float((r["classes"] == classes.long()).float().mean())
    tau = tau_from_angle(targets["daytime_cos"], targets["daytime_sin"])
    out.update(
        trees_mae=float((r["trees"] - targets["trees"]).abs().mean()),
        trees_exact=float((r["trees"].round() == targets["trees"]).float().mean()),
        water_acc=float((r["water"] == targets["water"].bool()).float().mean()),
        ridges_acc=float((r["ridges"] - 1 == targets["ridges"].long()).float().mean()),
        daytime_error_h=float(tau_error_hours(r["daytime"], tau).mean()),
        cloud_cover_mae=float((r["cloud_cover"] - targets["cloud_cover"]).abs().mean()),
        horizon_mae=float((r["horizon"] - targets["horizon"]).abs().mean()),
    )
    return out
