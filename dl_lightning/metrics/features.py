"""Feature extractors for Fréchet / kernel distances.

* ``scene`` (the default everywhere): the scene network shipped with the package
  (:mod:`dl_lightning.models.scene_net`), trained to read this project's synthetic world (classes, ridges,
  water, trees, time of day); it sees speckles, blur and missing trees. Numbers are this project's own.
* ``inception``: torchmetrics' InceptionV3 (the standard FID network). Its weights
  (``pt_inception-2015-12-05-6726825d.pth``) must be on disk: ``--inception-weights PATH`` or the
  torch hub cache; nothing is downloaded.
* ``random``: a small randomly initialised conv net with a fixed seed: a **smoke test** of the code path only.
  An untrained network does not see what people see (it scored a speckled, blurry model as good).

All take uint8 images (B, 3, H, W) and return (B, F) features.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dl_lightning.data.images import from_uint8
from dl_lightning.errors import UserError

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


class RandomFeatures(nn.Module):
    """Fixed random conv features: uint8 (B,3,H,W) -> (B, num_features). Resizes inputs to 64 px."""

    def __init__(self, num_features: int = 64, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        chans = [3, 32, 64, 128]
        self.convs = nn.ModuleList()
        for a, b in zip(chans, chans[1:]):
            conv = nn.Conv2d(a, b, 3, stride=2, padding=1)
            conv.weight.data = torch.randn(conv.weight.shape, generator=gen) * (2 / (a * 9)) ** 0.5
            conv.bias.data.zero_()
            self.convs.append(conv)
        self.proj = nn.Linear(chans[-1] * 2, num_features)
        self.proj.weight.data = torch.randn(self.proj.weight.shape, generator=gen) / (chans[-1] * 2) ** 0.5
        self.proj.bias.data.zero_()
        self.num_features = num_features
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        x = from_uint8(imgs)
        x = F.interpolate(x, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.proj(torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], 1))


def find_inception_weights(path: str | None) -> str:
    """Return a local Inception weights file, checked to hold only tensors; else raise UserError."""
    candidates = [Path(path)] if path else [Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE]
    for c in candidates:
        if c.is_file():
            try:
                state = torch.load(c, map_location="cpu", weights_only=True)
            except Exception as err:
                raise UserError(f"{c}: not a plain tensor state dict ({str(err).splitlines()[0][:100]})") from None
            if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
                raise UserError(f"{c}: not an Inception state dict")
            return str(c)
    where = path or candidates[0]
    raise UserError(
        f"Inception weights not found at {where}: they cannot be downloaded on this machine; "
        f"copy {INCEPTION_FILE} there or pass --inception-weights PATH (or use --features random)"
    )


class SceneFeatures(nn.Module):
    """uint8 (B, 3, H, W) -> (B, F) :meth:`SceneNet.features` of the scene network at ``weights`` (default: shipped)."""

    def __init__(self, weights: str | None = None):
        super().__init__()
        from dl_lightning.checkpoints import load_scene_net

        self.net = load_scene_net(weights)
        self.num_features = self.net.num_features

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        return self.net.features(from_uint8(imgs))


#: The feature extractors of ``make_extractor``, the default first.
FEATURES = ("scene", "inception", "random")


def make_extractor(kind: str = "scene", weights: str | None = None, num_features: int = 2048) -> nn.Module:
    """Feature extractor (uint8 (B,3,H,W) -> (B, F)) of :data:`FEATURES`; ``weights``: a local file for the scene
    network (default: the shipped one) or Inception."""
    if kind == "scene":
        return SceneFeatures(weights)
    if kind == "random":
        return RandomFeatures(num_features=min(num_features, 256))
    if kind != "inception":
        raise UserError(f"unknown feature extractor {kind!r}; use one of {', '.join(FEATURES)}")
    from torchmetrics.image.fid import NoTrainInceptionV3

    return NoTrainInceptionV3(
        name="inception-v3-compat",
        features_list=[str(num_features)],
        feature_extractor_weights_path=find_inception_weights(weights),
    )
