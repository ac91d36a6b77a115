"""Dynamic-region segmentation quality: predicted vs true masks (True = sky/water, moves)."""

from __future__ import annotations

import torch

from dl_lightning.data.images import from_uint8
from dl_lightning.models.segmenter import Segmenter


@torch.no_grad()
def segmentation_metrics(segmenter: Segmenter, images: torch.Tensor, masks: torch.Tensor) -> dict[str, float]:
    """Pixel accuracy, dynamic IoU and dynamic shares of ``segmenter`` on uint8 images (N, 3, H, W)
    with boolean masks (N, H, W)."""
    pred = torch.cat([segmenter.predict(from_uint8(images[i : i + 64])) for i in range(0, len(images), 64)])
    return {
        "frames": len(images),
        "accuracy": float((pred == masks).float().mean()),
        "iou_dynamic": float((pred & masks).sum() / (pred | masks).sum().clamp(min=1)),
        "dynamic_share_true": float(masks.float().mean()),
        "dynamic_share_predicted": float(pred.float().mean()),
    }
