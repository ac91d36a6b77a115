"""Dynamic-region segmenter: which pixels of a landscape may move (sky, water) and which stay (land).

A small U-Net, a plain ``nn.Module``. It serves the motion metrics (change inside vs outside the
predicted dynamic region of generated time-lapses) and masks real photos for animation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class SegmenterConfig:
    """Attributes:
    width: channels of the first level; each of the ``depth`` downsamplings doubles them.
    depth: number of x2 downsamplings (inputs are padded to a multiple of 2**depth).
    classes: output channels: 1 (a "dynamic" logit, the segmenter) or one logit per class (the scene network).
    resolution: the side of the images it was trained on (set from the training data when it is fitted); a photo
        is segmented at this short side (:mod:`dl_lightning.photo.region`).
    """

    width: int = 16
    depth: int = 3
    classes: int = 1
    resolution: int = 64

    def __post_init__(self) -> None:
        if self.width < 1 or self.depth < 1:
            raise ValueError("segmenter width and depth must be >= 1")


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Segmenter(nn.Module):
    """(B, 3, H, W) image in [-1, 1], any H, W -> (B, classes, H, W) logits; with one class, of "dynamic" (sky or
    water)."""

    def __init__(self, cfg: SegmenterConfig | None = None, **kwargs):
        super().__init__()
        cfg = cfg or SegmenterConfig(**kwargs)
        self.cfg = cfg
        chs = [cfg.width * 2**i for i in range(cfg.depth + 1)]
        self.down = nn.ModuleList([_block(3, chs[0])] + [_block(a, b) for a, b in zip(chs, chs[1:])])
        self.up = nn.ModuleList([_block(b + a, a) for a, b in zip(chs[:-1], chs[1:])])
        self.head = nn.Conv2d(chs[0], cfg.classes, 1)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's features at each level, finest first: (B, width 2^i, H_i, W_i) for i = 0..depth (the input
        padded to a multiple of 2^depth)."""
        h, w = x.shape[-2:]
        k = 2**self.cfg.depth
        ph, pw = -h % k, -w % k
        x = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        return skips

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Logits (B, classes, H, W); ``skips``: :meth:`encode`'s output for ``x`` when already computed."""
        h, w = x.shape[-2:]
        skips = skips if skips is not None else self.encode(x)
        x = skips[-1]
        for block, skip in zip(reversed(self.up), reversed(skips[:-1])):
            x = block(
                torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1)
            )
        return self.head(x)[..., :h, :w]

    @torch.no_grad()
    def probability(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, H, W) in [0, 1]: the probability that each pixel may move."""
        return torch.sigmoid(self(images.float())[:, 0])

    def predict(self, images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, H, W) bool, True where the scene may move."""
        return self.probability(images) > threshold
