"""Encoder: image -> W+ (per-layer styles) of a given generator.

Predicts offsets from the generator's mean latent ``w_avg``, so an untrained encoder already
gives the average landscape. ``backbone="scratch"`` is a residual CNN trained from scratch;
``backbone="resnet18"`` uses torchvision's ResNet-18, with ImageNet weights from a local file
(``backbone_weights``) where one is available.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dl_lightning.errors import UserError
from dl_lightning.models.discriminator import res_trunk
from dl_lightning.models.layers import EqualConv2d, EqualLinear, channels_at


@dataclass
class EncoderConfig:
    """Encoder hyper-parameters.

    Attributes:
        backbone: ``scratch`` (residual CNN) or ``resnet18`` (torchvision).
        backbone_weights: local torchvision state dict for ``resnet18`` (None: random init).
        channel_base: ``scratch`` channels at resolution r are min(channel_base // r, channel_max).
        channel_max: cap on ``scratch`` channels.
    """

    backbone: str = "scratch"
    backbone_weights: str | None = None
    channel_base: int = 2048
    channel_max: int = 128

    def channels(self, res: int) -> int:
        return channels_at(res, self.channel_base, self.channel_max)


class Encoder(nn.Module):
    """(B, 3, R, R) in [-1, 1] -> W+ (B, num_ws, w_dim) = w_avg + predicted offsets."""

    def __init__(self, resolution: int, num_ws: int, w_dim: int, w_avg: torch.Tensor, cfg: EncoderConfig | None = None):
        super().__init__()
        cfg = cfg or EncoderConfig()
        self.cfg, self.num_ws, self.w_dim = cfg, num_ws, w_dim
        self.register_buffer("w_avg", w_avg.detach().clone().float())
        out = num_ws * w_dim
        if cfg.backbone == "scratch":
            self.features = nn.Sequential(
                EqualConv2d(3, cfg.channels(resolution), 1, activate=True),
                *res_trunk(cfg.channels, resolution, 4),
                nn.Flatten(),
            )
            self.head = nn.Sequential(EqualLinear(cfg.channels(4) * 16, 512, activate=True), EqualLinear(512, out))
        elif cfg.backbone == "resnet18":
            import torchvision

            net = torchvision.models.resnet18(weights=None)
            if cfg.backbone_weights:
                try:
                    net.load_state_dict(torch.load(cfg.backbone_weights, map_location="cpu", weights_only=True))
                except (OSError, RuntimeError) as err:
                    raise UserError(
                        f"encoder.backbone_weights {cfg.backbone_weights}: {str(err).splitlines()[0]}"
                    ) from None
            net.fc = nn.Identity()
            self.features = net
            self.head = nn.Linear(512, out)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        else:
            raise ValueError(f"encoder.backbone must be 'scratch' or 'resnet18', got {cfg.backbone!r}")

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = img
        if self.cfg.backbone == "resnet18":
            x = ((img + 1) / 2 - self.mean) / self.std
        offsets = self.head(self.features(x.contiguous(memory_format=torch.channels_last)))
        return self.w_avg.to(offsets.dtype) + offsets.view(-1, self.num_ws, self.w_dim)
