"""Images with their dynamic masks (sky + water) for training the segmenter.

The synthetic dataset stores ``mask.png`` with every still and video. Training uses the stills,
validation the first and last frame of each video (other scenes, other times of day).
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from dl_lightning.data.images import to_uint8
from dl_lightning.data.in_memory import InMemoryDataModule
from dl_lightning.data.ordered import dataset_samples
from dl_lightning.data.stream import decode_image, frame_fields, image_field
from dl_lightning.errors import UserError


def _mask(data: bytes, resolution: int) -> torch.Tensor:
    return decode_image(data, resolution)[0] > 0  # (H, W) bool


def load_masked(root: str, source: str, resolution: int, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``limit`` (image uint8 (N,3,H,W), mask bool (N,H,W)) from a dataset source, in shard order."""
    images, masks = [], []
    for s in dataset_samples(root, source):
        if "mask.png" not in s:
            continue
        mask = _mask(s["mask.png"], resolution)
        fields = (
            [image_field(s)]
            if source == "static"
            else [s[k] for k in frame_fields(s)[:: max(1, len(frame_fields(s)) - 1)]]
        )
        for data in fields:
            images.append(to_uint8(decode_image(data, resolution)))
            masks.append(mask)
        if len(images) >= limit:
            break
    if not images:
        raise UserError(
            f"{root} has no {source} samples with mask.png (build one with `dl-data synthetic`, or convert videos "
            "with `dl-data videos --masks photo`)"
        )
    return torch.stack(images[:limit]), torch.stack(masks[:limit])


class MaskedImages(Dataset):
    """(image (3,H,W) in [-1, 1], mask (H,W) float); ``augment`` adds flips and colour jitter.

    Colour jitter (brightness, contrast, saturation, a colour cast) keeps the segmenter from
    reading the synthetic palette instead of the layout, so it transfers better to real photos.
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, augment: bool):
        self.images, self.masks, self.augment = images, masks, augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, m = self.images[i].float() / 255, self.masks[i].float()
        if self.augment:
            if torch.rand(()) < 0.5:
                x, m = x.flip(-1), m.flip(-1)
            r = torch.rand(5)
            grey = x.mean(0, keepdim=True)
            x = grey + (x - grey) * (0.4 + 1.2 * r[0])  # saturation
            x = (x - x.mean()) * (0.6 + 0.8 * r[1]) + x.mean()  # contrast
            x = x * (0.6 + 0.8 * r[2]) * (1 + 0.2 * (torch.rand(3, 1, 1) - 0.5)) + 0.2 * (
                r[3] - 0.5
            )  # brightness, cast
            x = x.clamp(0, 1)
        return x * 2 - 1, m


class MaskDataModule(InMemoryDataModule):
    """Stills (training) and video frames (validation) with their dynamic masks.

    Args:
        root: dataset folder with ``static`` and ``videos`` shards carrying ``mask.png``.
        resolution: image side.
        batch_size: batch size.
        max_train: most stills loaded (kept in memory as uint8).
        max_val: most validation frames.
        val_root: a dataset folder of held-out stills to validate on instead of ``root``'s video frames (the photo
            world's ``val/``, ``dl-data world``).
        train_source: ``static`` (stills with masks: the synthetic data) or ``videos`` (the first and last frames
            of clips with masks: a user's videos converted with ``dl-data videos --masks photo``; without
            ``val_root`` the validation frames are then among the training ones).
    """

    def __init__(
        self,
        root: str,
        resolution: int = 64,
        batch_size: int = 32,
        max_train: int = 4096,
        max_val: int = 512,
        val_root: str | None = None,
        train_source: str = "static",
    ):
        super().__init__()
        if train_source not in ("static", "videos"):
            raise UserError(f"train_source must be static or videos, got {train_source!r}")
        self.save_hyperparameters()

    def load_sets(self) -> tuple[MaskedImages, MaskedImages]:
        hp = self.hparams
        val = (hp.val_root, "static") if hp.val_root else (hp.root, "videos")
        return (
            MaskedImages(*load_masked(hp.root, hp.train_source, hp.resolution, hp.max_train), augment=True),
            MaskedImages(*load_masked(*val, hp.resolution, hp.max_val), augment=False),
        )
