"""High/low-resolution image pairs for training the x4 upsampler on the synthetic world.

High-resolution images are synthetic renders (``dl-data synthetic --resolution 256``); the
low-resolution input is their 4x4 box average, which is how the 64 px training set relates to
the scene (the renderer box-filters its supersampled image), so the net learns to undo the
generator's own sampling. Training uses random crops of the stills; validation the first and
last frames of the videos (other scenes), whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dl_lightning.data.images import from_uint8
from dl_lightning.data.in_memory import InMemoryDataModule
from dl_lightning.data.masks import load_masked

SCALE = 4


def downscale(hr: torch.Tensor, scale: int = SCALE) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3, H/scale, W/scale) box average (H, W multiples of ``scale``)."""
    return F.avg_pool2d(hr, scale)


class HighRes(Dataset):
    """(low (3, c/4, c/4), high (3, c, c)) in [-1, 1]; random ``crop`` and flip when ``crop`` is set."""

    def __init__(self, images: torch.Tensor, crop: int | None):
        self.images, self.crop = images, crop

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = from_uint8(self.images[i])
        if self.crop:
            h, w = x.shape[-2:]
            top, left = (int(torch.randint(0, n - self.crop + 1, ())) // SCALE * SCALE for n in (h, w))
            x = x[:, top : top + self.crop, left : left + self.crop]
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
        return downscale(x[None])[0], x


class SuperResDataModule(InMemoryDataModule):
    """Args:
    root: synthetic dataset rendered at ``resolution`` (``make upsampler`` builds ``data/synthetic256``).
    resolution: side of the high-resolution images (a multiple of 4).
    crop: side of the high-resolution training crops (a multiple of 4).
    batch_size: batch size.
    max_train: most stills loaded (kept in memory as uint8).
    max_val: most validation frames.
    """

    val_batch_size = 8  # whole frames at ``resolution``

    def __init__(
        self,
        root: str,
        resolution: int = 256,
        crop: int = 96,
        batch_size: int = 16,
        max_train: int = 4096,
        max_val: int = 32,
    ):
        super().__init__()
        if resolution % SCALE or crop % SCALE or crop > resolution:
            raise ValueError(f"resolution and crop must be multiples of {SCALE} with crop <= resolution")
        self.save_hyperparameters()

    def load_sets(self) -> tuple[HighRes, HighRes]:
        hp = self.hparams
        return (
            HighRes(load_masked(hp.root, "static", hp.resolution, hp.max_train)[0], crop=hp.crop),
            HighRes(load_masked(hp.root, "videos", hp.resolution, hp.max_val)[0], crop=None),
        )
