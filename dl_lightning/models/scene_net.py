"""The scene network: reads a synthetic landscape's classes and parameters, and gives the quality metric its
features.

A plain ``nn.Module``: a U-Net (:class:`~dl_lightning.models.segmenter.Segmenter` with one logit per class of
:data:`~dl_lightning.data.scenes.CLASSES`) for the per-pixel class map, and an MLP on the pooled deepest level
for the scene parameters (water, ridge count, tree count, time of day, cloud cover, horizon). Trained on
renders whose seeds the GAN's data never uses (``configs/scene_net``), it is to this project's world what
Inception is to ImageNet photos: :meth:`SceneNet.features` is the embedding in which
:mod:`dl_lightning.metrics.scene_quality` measures generated samples against real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dl_lightning.data.scenes import CLASSES, MAX_RIDGES, tau_from_angle
from dl_lightning.models.segmenter import Segmenter, SegmenterConfig

#: Scalar heads: name -> number of outputs (logits for water and ridges, values for the rest).
HEADS = {"water": 1, "ridges": MAX_RIDGES, "trees": 1, "daytime": 2, "cloud_cover": 1, "horizon": 1}


@dataclass
class SceneNetConfig:
    """Attributes:
    width: channels of the U-Net's first level (doubled at each of ``depth`` downsamplings).
    depth: x2 downsamplings of the U-Net.
    hidden: width of the scalar heads' MLP (also the size of its part of the features).
    resolution: the side of the renders it is trained on; :meth:`SceneNet.features` and :meth:`SceneNet.read`
        resize other inputs to it (area filter), so a 256 px generator is measured as the same world.
    """

    resolution: int = 64
    width: int = 16
    depth: int = 3
    hidden: int = 128

    def __post_init__(self) -> None:
        if min(self.width, self.depth, self.hidden) < 1:
            raise ValueError("scene_net width, depth and hidden must be >= 1")


class SceneNet(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> class logits (B, len(CLASSES), H, W) and scalar heads (see :meth:`forward`)."""

    def __init__(self, cfg: SceneNetConfig | None = None, **kwargs):
        super().__init__()
        cfg = cfg or SceneNetConfig(**kwargs)
        self.cfg = cfg
        self.unet = Segmenter(SegmenterConfig(width=cfg.width, depth=cfg.depth, classes=len(CLASSES)))
        top = cfg.width * 2**cfg.depth
        self.trunk = nn.Sequential(nn.Linear(2 * top, cfg.hidden), nn.ReLU(inplace=True))
        self.head = nn.Linear(cfg.hidden, sum(HEADS.values()))

    @property
    def num_features(self) -> int:
        """Size of :meth:`features`: mean and spatial std of every encoder channel, the head MLP's hidden units."""
        return 2 * sum(self.cfg.width * 2**i for i in range(self.cfg.depth + 1)) + self.cfg.hidden

    def _scalars(self, top: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        hidden = self.trunk(torch.cat([top.mean(dim=(2, 3)), top.amax(dim=(2, 3))], 1))
        out = dict(zip(HEADS, self.head(hidden).split(list(HEADS.values()), dim=1)))
        return hidden, out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"classes": (B, C, H, W) logits, "water": (B, 1) logit, "ridges": (B, 3) logits of 1-3 ridges, "trees":
        (B, 1) count, "daytime": (B, 2) (cos, sin) of the time of day, "cloud_cover": (B, 1), "horizon": (B, 1)}."""
        skips = self.unet.encode(x)
        return {"classes": self.unet(x, skips), **self._scalars(skips[-1])[1]}

    def _fit(self, x: torch.Tensor) -> torch.Tensor:
        r = self.cfg.resolution
        x = x.float()
        return x if x.shape[-2:] == (r, r) else F.interpolate(x, size=(r, r), mode="area")

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, num_features): each encoder level's per-channel spatial mean and std (the
        finest level sees texture: speckles raise its std, blur lowers it) and the scalar heads' hidden layer
        (what the scene holds)."""
        skips = self.unet.encode(self._fit(x))
        pooled = [torch.cat([s.mean(dim=(2, 3)), s.std(dim=(2, 3))], 1) for s in skips]
        return torch.cat([*pooled, self._scalars(skips[-1])[0]], 1)

    @torch.no_grad()
    def read(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Readable predictions for (B, 3, H, W) in [-1, 1]: classes (B, H, W) int64, water (B,) bool, ridges (B,)
        count 1-3, trees (B,) count, daytime (B,) tau in [0, 1), cloud_cover (B,), horizon (B,)."""
        out = self(self._fit(x))
        cos, sin = out["daytime"].unbind(1)
        return {
            "classes": out["classes"].argmax(1),
            "water": out["water"][:, 0] > 0,
            "ridges": out["ridges"].argmax(1) + 1,
            "trees": out["trees"][:, 0].clamp(min=0),
            "daytime": tau_from_angle(cos, sin),
            "cloud_cover": out["cloud_cover"][:, 0],
            "horizon": out["horizon"][:, 0],
        }


def scene_loss(
    out: dict[str, torch.Tensor], classes: torch.Tensor, t: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Per-term losses of :meth:`SceneNet.forward`'s output against class maps (B, H, W) and targets
    (``data.scenes.scene_targets``). Trees weigh 4x in the class map: they are few pixels, and the metric must see
    them."""
    weight = torch.ones(len(CLASSES), device=classes.device)
    weight[CLASSES.index("tree")] = 4.0
    daytime = torch.stack([t["daytime_cos"], t["daytime_sin"]], 1).float()
    return {
        "classes": F.cross_entropy(out["classes"], classes, weight=weight),
        "water": F.binary_cross_entropy_with_logits(out["water"][:, 0], t["water"].float()),
        "ridges": F.cross_entropy(out["ridges"], t["ridges"].long()),
        "trees": F.smooth_l1_loss(out["trees"][:, 0], t["trees"].float()) / 4,
        "daytime": F.mse_loss(out["daytime"], daytime),
        "cloud_cover": 4 * F.l1_loss(out["cloud_cover"][:, 0], t["cloud_cover"].float()),
        "horizon": 4 * F.l1_loss(out["horizon"][:, 0], t["horizon"].float()),
    }
