"""Discriminators: ``D_st`` on single images and the pairwise temporal ``D_dyn``.

Both are StyleGAN2 residual discriminators. ``D_dyn`` runs a shared per-frame stem on
each frame of an (unordered) pair, merges the two feature maps symmetrically (see
``DiscriminatorConfig.dyn_merge``) and finishes with a residual trunk, so D_dyn(a, b) ==
D_dyn(b, a) exactly and it can only judge what the two frames have (in)consistent between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from dl_lightning.models.layers import SQRT2, EqualConv2d, EqualLinear, channels_at, downsample2


@dataclass
class DiscriminatorConfig:
    """Discriminator hyper-parameters (shared by D_st and D_dyn).

    Attributes:
        resolution: input side in pixels (power of two >= 8).
        channel_base: channels at resolution r are min(channel_base // r, channel_max).
        channel_max: cap on channels per layer.
        mbstd_group: minibatch-stddev group size (largest divisor of the batch up to this is used).
        dyn_resolution: input side of D_dyn (None = ``resolution``); pairs are resampled to it.
            Judging consistency of lighting and static content needs less detail than D_st.
        dyn_merge_res: resolution at which D_dyn merges the two frames' features.
        dyn_merge: how D_dyn merges the frames' features f1, f2 (all symmetric in the frames):
            ``square``: [f1 + f2, (f1 - f2)^2], smooth at f1 = f2;
            ``concat``: the paper's channel concatenation, merged in both orders and averaged, smooth;
            ``abs``: [f1 + f2, |f1 - f2|], which has a kink at f1 = f2: its response to a small
            difference is linear in the difference's size, an L1-like push on G towards no change.
    """

    resolution: int = 64
    channel_base: int = 4096
    channel_max: int = 128
    mbstd_group: int = 4
    dyn_resolution: int | None = None
    dyn_merge_res: int = 16
    dyn_merge: Literal["square", "concat", "abs"] = "square"

    def __post_init__(self) -> None:
        r = self.resolution
        if r < 8 or r & (r - 1):
            raise ValueError(f"discriminator.resolution must be a power of two >= 8, got {r}")
        d = self.dyn_resolution = self.dyn_resolution or r
        if d < 8 or d > r or d & (d - 1):
            raise ValueError(f"discriminator.dyn_resolution must be a power of two in [8, {r}], got {d}")
        m = self.dyn_merge_res
        if m < 4 or m > d or m & (m - 1):
            raise ValueError(f"discriminator.dyn_merge_res must be a power of two in [4, {d}], got {m}")
        if self.dyn_merge not in ("square", "concat", "abs"):
            raise ValueError(f"discriminator.dyn_merge must be square, concat or abs, got {self.dyn_merge!r}")

    def channels(self, res: int) -> int:
        return channels_at(res, self.channel_base, self.channel_max)


class ResBlock(nn.Module):
    """conv3x3 -> downsample -> conv3x3, plus a downsampled 1x1 skip; output scaled by 1/sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3, activate=True)
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, activate=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(downsample2(x))
        x = self.conv1(downsample2(self.conv0(x)))
        return (x + skip) / SQRT2


def res_trunk(channels: Callable[[int], int], res_in: int, res_out: int) -> nn.Sequential:
    """Residual blocks halving the resolution from ``res_in`` to ``res_out``; ``channels(res)`` sets the widths."""
    blocks = []
    res = res_in
    while res > res_out:
        blocks.append(ResBlock(channels(res), channels(res // 2)))
        res //= 2
    return nn.Sequential(*blocks)


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one channel: the std over groups of samples, averaged over C, H, W."""
    b, c, h, w = x.shape
    g = max(d for d in range(1, min(group, b) + 1) if b % d == 0)
    y = x.float().reshape(g, -1, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B/g,)
    y = y.repeat(g)[:, None, None, None].expand(b, 1, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


class Epilogue(nn.Module):
    """4x4 features -> minibatch-stddev -> conv -> fc -> score (B, 1)."""

    def __init__(self, ch: int, mbstd_group: int):
        super().__init__()
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(ch + 1, ch, 3, activate=True)
        self.fc = EqualLinear(ch * 16, ch, activate=True)
        self.out = EqualLinear(ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.out(self.fc(x.flatten(1)))


class Discriminator(nn.Module):
    """D_st: (B, 3, R, R) image in [-1, 1] -> realness logit (B, 1)."""

    def __init__(self, cfg: DiscriminatorConfig | None = None, **kwargs):
        super().__init__()
        cfg = cfg or DiscriminatorConfig(**kwargs)
        self.cfg = cfg
        self.from_rgb = EqualConv2d(3, cfg.channels(cfg.resolution), 1, activate=True)
        self.trunk = res_trunk(cfg.channels, cfg.resolution, 4)
        self.epilogue = Epilogue(cfg.channels(4), cfg.mbstd_group)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.from_rgb(img.contiguous(memory_format=torch.channels_last))
        return self.epilogue(self.trunk(x))


class PairDiscriminator(nn.Module):
    """D_dyn: an unordered pair (B, 2, 3, r, r), r = ``dyn_resolution`` -> logit (B, 1), symmetric in the frames."""

    def __init__(self, cfg: DiscriminatorConfig | None = None, **kwargs):
        super().__init__()
        cfg = cfg or DiscriminatorConfig(**kwargs)
        self.cfg = cfg
        m = cfg.dyn_merge_res
        self.from_rgb = EqualConv2d(3, cfg.channels(cfg.dyn_resolution), 1, activate=True)
        self.stem = res_trunk(cfg.channels, cfg.dyn_resolution, m)
        self.merge = EqualConv2d(2 * cfg.channels(m), cfg.channels(m), 1, activate=True)
        self.trunk = res_trunk(cfg.channels, m, 4)
        self.epilogue = Epilogue(cfg.channels(4), cfg.mbstd_group)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        b = pairs.shape[0]
        frames = pairs.flatten(0, 1).contiguous(memory_format=torch.channels_last)  # (2B, 3, R, R)
        f = self.stem(self.from_rgb(frames)).unflatten(0, (b, 2))
        f1, f2 = f[:, 0], f[:, 1]
        kind = self.cfg.dyn_merge
        if kind == "concat":
            x = (self.merge(torch.cat([f1, f2], dim=1)) + self.merge(torch.cat([f2, f1], dim=1))) / 2
        else:
            diff = (f1 - f2).square() if kind == "square" else (f1 - f2).abs()
            x = self.merge(torch.cat([f1 + f2, diff], dim=1))
        return self.epilogue(self.trunk(x))
