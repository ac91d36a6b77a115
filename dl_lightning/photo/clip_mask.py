"""Dynamic masks for video clips that come without one (a user's time-lapses), so that the motion segmenter, the
stillness term and the motion metrics work on them as on the synthetic videos.

A clip's mask is the moving region (:func:`dl_lightning.photo.region.moving_region`, without matting at clip
resolution) of its median frame, found by the photo segmenter: trained on the photo world, not on any dataset of
the GAN, it reads real skies and water (`bench/real_photos.py`). The clip's own frames check it:
:func:`mask_change_ratio` is the mean frame-to-frame change inside the mask over that outside it (clouds and water
move, the land does not: well above 1 for a right mask), written beside each mask so doubtful clips can be found.
``bench/clip_masks.py`` measures the masks against the true ones of rendered time-lapses written as MP4 files.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, load_photo_segmenter
from dl_lightning.data.images import pil_to_tensor
from dl_lightning.photo.region import RegionOptions, moving_region

#: The region's steps for a clip: no matting (a clip is small, its sky edge soft).
CLIP_REGION = RegionOptions(refine=False)


def median_frame(frames: list[Image.Image]) -> Image.Image:
    """The per-pixel median of a clip's RGB frames (moving clouds blur, the land stays sharp)."""
    return Image.fromarray(np.median(np.stack([np.asarray(f.convert("RGB")) for f in frames]), 0).astype(np.uint8))


def mask_change_ratio(frames: list[Image.Image], mask: np.ndarray) -> float:
    """Mean absolute frame-to-frame change (grey, [0, 1]) inside ``mask`` (H, W) bool over outside it; inf when
    nothing changes outside, nan when the mask is empty or full."""
    if mask.all() or not mask.any():
        return float("nan")
    grey = np.stack([np.asarray(f.convert("L"), np.float32) / 255 for f in frames])
    change = np.abs(np.diff(grey, axis=0)).mean(0)
    inside, outside = float(change[mask].mean()), float(change[~mask].mean())
    return inside / outside if outside > 0 else float("inf")


@torch.no_grad()
def clip_mask(frames: list[Image.Image], segmenter: torch.nn.Module) -> np.ndarray:
    """(H, W) bool, True = moves: the moving region of the clip's median frame."""
    photo = pil_to_tensor(median_frame(frames))[None]
    return moving_region(photo, segmenter, CLIP_REGION).alpha[0, 0].numpy() > 0.5


def clip_masker(segmenter_path: str | None = None) -> Callable[[list[Image.Image]], tuple[Image.Image, float]]:
    """A function of a clip's frames -> (its mask as an "L" image, 255 = moves; :func:`mask_change_ratio`), with the
    photo segmenter at ``segmenter_path`` (default: the shipped one) loaded once."""
    segmenter = load_photo_segmenter(segmenter_path or DEFAULT_PHOTO_SEGMENTER).eval()

    def masker(frames: list[Image.Image]) -> tuple[Image.Image, float]:
        mask = clip_mask(frames, segmenter)
        return Image.fromarray(mask.astype(np.uint8) * 255, "L"), mask_change_ratio(frames, mask)

    return masker
