"""x4 super-resolution for the dynamic region of photo animations (the authors' high-resolution step).

A small ESRGAN-style net, a plain ``nn.Module``: a trunk of scaled residual blocks at the input
resolution, two x2 pixel-shuffle stages, and the result added to the bicubic upsampling, so an
untrained (zero-initialised last layer) net is exactly bicubic and training only learns what
bicubic misses (sharp cloud edges, texture).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def bicubic(low: torch.Tensor, scale: int = 4) -> torch.Tensor:
    """The baseline the upsampler must beat: (B, 3, h, w) -> (B, 3, scale h, scale w)."""
    return F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False)


@dataclass
class UpsamplerConfig:
    """Attributes:
    channels: feature channels of the trunk.
    blocks: residual blocks in the trunk (each two 3x3 convolutions).
    res_scale: scale of each block's residual (ESRGAN uses 0.2; keeps deep trunks stable).
    """

    channels: int = 32
    blocks: int = 4
    res_scale: float = 0.2

    def __post_init__(self) -> None:
        if self.channels < 1 or self.blocks < 0 or not 0 < self.res_scale <= 1:
            raise ValueError("upsampler needs channels >= 1, blocks >= 0 and 0 < res_scale <= 1")


class _ResBlock(nn.Module):
    def __init__(self, ch: int, scale: float):
        super().__init__()
        self.conv1, self.conv2, self.scale = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1), scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class Upsampler(nn.Module):
    """(B, 3, h, w) in [-1, 1], any h, w -> (B, 3, 4h, 4w): bicubic x4 plus a learned residual."""

    scale = 4

    def __init__(self, cfg: UpsamplerConfig | None = None, **kwargs):
        super().__init__()
        cfg = cfg or UpsamplerConfig(**kwargs)
        self.cfg, c = cfg, cfg.channels
        self.head = nn.Conv2d(3, c, 3, padding=1)
        self.trunk = nn.Sequential(*[_ResBlock(c, cfg.res_scale) for _ in range(cfg.blocks)])
        self.up = nn.ModuleList([nn.Conv2d(c, 4 * c, 3, padding=1) for _ in range(2)])  # x2 each via pixel shuffle
        self.tail = nn.Conv2d(c, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = bicubic(x, self.scale)
        f = self.head(x)
        f = f + self.trunk(f)
        for conv in self.up:
            f = F.leaky_relu(F.pixel_shuffle(conv(f), 2), 0.2)
        return base + self.tail(f)
