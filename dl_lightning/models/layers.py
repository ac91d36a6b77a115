"""StyleGAN2 building blocks with equalised learning rate.

All weights are stored as N(0, 1) (divided by ``lr_mul``) and scaled at run time by
``lr_mul / sqrt(fan_in)`` so that Adam sees every layer at the same scale.
Images and feature maps are (B, C, H, W); channels_last memory format is preserved.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def channels_at(res: int, base: int, cap: int) -> int:
    """StyleGAN2's width rule: ``min(base // res, cap)`` channels at resolution ``res`` (at least 1)."""
    return max(1, min(base // res, cap))


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (0.2) with gain sqrt(2), which keeps activations at unit variance.

    Since ``lrelu(v) = leaky_relu(sqrt(2) v)``, layers that end in it fold the gain into their per-channel
    factors instead (one pass over the activations fewer); this function is the reference they equal.
    """
    return F.leaky_relu(x, 0.2) * SQRT2


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """x2 upsampling; bilinear with half-pixel centres is the [1,3,3,1] FIR filter of StyleGAN2."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def downsample2(x: torch.Tensor) -> torch.Tensor:
    """[1,3,3,1] x [1,3,3,1] / 64 low-pass, then every second pixel: (B,C,H,W) -> (B,C,H/2,W/2); replicate borders.

    Two forms of the same sum, picked by speed (``make bench`` times both on the machine, forward + backward):
    :func:`downsample2_conv` (a depthwise stride-2 conv: 2.5-5x faster in fp32 on the development CPU, and the
    usual form on GPUs) and, for bf16 on a CPU, :func:`downsample2_adds`, where the conv was 1-2x slower there.
    """
    return downsample2_adds(x) if downsample2_form(x.dtype, x.device.type) == "adds" else downsample2_conv(x)


def downsample2_form(dtype: torch.dtype, device_type: str) -> str:
    """Which form :func:`downsample2` uses: ``adds`` for bf16 on a CPU, ``conv`` otherwise."""
    return "adds" if dtype == torch.bfloat16 and device_type == "cpu" else "conv"


def downsample2_conv(x: torch.Tensor) -> torch.Tensor:
    """:func:`downsample2` as a depthwise convolution with stride 2."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=x.dtype, device=x.device)
    k = (k[:, None] * k[None, :] / 64.0).expand(x.shape[1], 1, 4, 4)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, stride=2, groups=x.shape[1])


def downsample2_adds(x: torch.Tensor) -> torch.Tensor:
    """:func:`downsample2` as shifted adds, one axis at a time."""
    x = F.pad(x, (1, 1, 1, 1), mode="replicate")
    x = (x[..., :-3, :] + 3 * x[..., 1:-2, :] + 3 * x[..., 2:-1, :] + x[..., 3:, :])[..., ::2, :]
    x = (x[..., :, :-3] + 3 * x[..., :, 1:-2] + 3 * x[..., :, 2:-1] + x[..., :, 3:])[..., :, ::2]
    return x / 64.0


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate; optional lrelu."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(in_dim), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = SQRT2 if self.activate else 1.0  # lrelu's gain folded into weight and bias (see `lrelu`)
        x = F.linear(x, self.weight * (self.scale * g), self.bias * (self.lr_mul * g))
        return F.leaky_relu(x, 0.2, inplace=True) if self.activate else x


class EqualConv2d(nn.Module):
    """Plain conv with equalised learning rate ('same' padding), optional bias and lrelu."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, bias: bool = True, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale, self.pad, self.activate = 1.0 / math.sqrt(in_ch * kernel * kernel), kernel // 2, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.activate:
            return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)
        bias = None if self.bias is None else self.bias * SQRT2  # lrelu's gain folded in (see `lrelu`)
        x = F.conv2d(x, self.weight * (self.scale * SQRT2), bias, padding=self.pad)
        return F.leaky_relu(x, 0.2, inplace=True)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated (and demodulated) convolution.

    Default ("non-fused") form, one shared conv for the whole batch::

        x' = conv(x * s, W) * d,   d[b,o] = rsqrt(sum_{i,k} (W[o,i,k] s[b,i])^2 + eps)

    which is mathematically the per-sample weight ``W * s`` but uses a plain dense
    convolution (fast bf16/channels_last kernels on CPU AMX and GPU tensor cores).
    ``fused=True`` is the original grouped-conv form, kept as a reference/benchmark.

    Args:
        in_ch, out_ch, kernel: conv shape.
        w_dim: style vector size; the affine map w -> s is initialised to s = 1.
        demodulate: divide by the output std (False for ToRGB).
        up: x2 bilinear upsampling before the conv.
        fused: use the grouped-conv formulation.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        w_dim: int,
        demodulate: bool = True,
        up: bool = False,
        fused: bool = False,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.pad, self.demodulate, self.up, self.fused = kernel // 2, demodulate, up, fused

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x: (B, in_ch, H, W); w: (B, w_dim) -> (B, out_ch, H', W') with H' = 2H if up."""
        y, d = self.modulated(x, w)
        return y if d is None else y * d[:, :, None, None].to(y.dtype)

    def modulated(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The output before demodulation, and the demodulation: ``(y, d)`` with ``forward(x, w) = y * d``
        per (sample, channel); ``d`` (B, out_ch) is None when nothing is left to apply (no demodulation, or the
        grouped form, which folds it into the weights). Lets a caller fuse ``d`` into its own next pass."""
        s = self.affine(w)  # (B, in_ch)
        weight = self.weight * self.scale
        if self.fused:
            return self._fused(upsample2(x) if self.up else x, weight, s), None
        x = x * s[:, :, None, None].to(x.dtype)  # before the upsampling (linear per channel): 4x fewer products
        if self.up:
            x = upsample2(x)
        y = F.conv2d(x, weight.to(x.dtype), padding=self.pad)
        if not self.demodulate:
            return y, None
        return y, torch.rsqrt(s.float().square() @ weight.float().square().sum(dim=(2, 3)).t() + 1e-8)  # (B, out_ch)

    def _fused(self, x: torch.Tensor, weight: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        b, c, h, w_ = x.shape
        wb = weight[None] * s[:, None, :, None, None]  # (B, out, in, k, k)
        if self.demodulate:
            wb = wb * torch.rsqrt(wb.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        out = F.conv2d(
            x.reshape(1, b * c, h, w_), wb.reshape(-1, c, *weight.shape[2:]).to(x.dtype), padding=self.pad, groups=b
        )
        return out.reshape(b, -1, h, w_)
