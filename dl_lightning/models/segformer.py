"""SegFormer (Xie et al., NeurIPS 2021) as a photo segmenter: a semantic segmentation network trained on real
photos (ADE20K: sky, water, sea, river, lake among its 150 classes) whose moving classes' probability replaces the
synthetic-world segmenter's in :mod:`dl_lightning.photo.region`.

A plain ``nn.Module`` that reads the Hugging Face checkpoints of ``SegformerForSemanticSegmentation`` (for example
``nvidia/segformer-b0-finetuned-ade-512-512``: ``config.json`` with ``model.safetensors`` or ``pytorch_model.bin``);
its attribute names follow that checkpoint's keys so the state dict loads as it is. The weights are not shipped
(their licence is NVIDIA's and they cannot be fetched here): :func:`dl_lightning.checkpoints.load_segmenter` loads
them from a local folder.

The network, top-down: four stages, each an overlapping patch embedding (a strided conv, stride 4 then 2, 2, 2)
and transformer blocks whose attention reads keys and values from the tokens downsampled ``sr`` times (a strided
conv) and whose MLP has a 3x3 depthwise conv between its two linears (the only positional cue); then an all-MLP
head that projects each stage to one width, upsamples all to 1/4 of the input, fuses them with a 1x1 conv, and
classifies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

#: ImageNet's mean and standard deviation, with which the checkpoints were trained (RGB in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: The class names (before a comma in ``id2label``) whose pixels move: ADE20K's sky and its kinds of water.
MOVING_CLASSES = ("sky", "water", "sea", "river", "lake", "waterfall")


@dataclass
class SegFormerConfig:
    """The fields of a Hugging Face ``SegformerConfig`` that shape the network, and how a photo is read.

    Attributes:
        hidden_sizes: channels of the four stages (B0: 32, 64, 160, 256).
        depths: transformer blocks per stage.
        num_attention_heads: attention heads per stage.
        sr_ratios: the downsampling of keys and values per stage.
        patch_sizes, strides: the patch embedding's kernel and stride per stage.
        mlp_ratios: the MLP's hidden width over the stage's width.
        decoder_hidden_size: the head's width.
        num_channels: input channels.
        id2label: class index (a string, as in ``config.json``) -> name.
        moving: names of the classes that move (:data:`MOVING_CLASSES`); each must be a class of ``id2label``.
        resolution: the short side at which a photo is segmented (the ADE20K checkpoints were trained at 512).
    """

    hidden_sizes: list[int] = field(default_factory=lambda: [32, 64, 160, 256])
    depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    num_attention_heads: list[int] = field(default_factory=lambda: [1, 2, 5, 8])
    sr_ratios: list[int] = field(default_factory=lambda: [8, 4, 2, 1])
    patch_sizes: list[int] = field(default_factory=lambda: [7, 3, 3, 3])
    strides: list[int] = field(default_factory=lambda: [4, 2, 2, 2])
    mlp_ratios: list[int] = field(default_factory=lambda: [4, 4, 4, 4])
    decoder_hidden_size: int = 256
    num_channels: int = 3
    id2label: dict[str, str] = field(default_factory=dict)
    moving: tuple[str, ...] = MOVING_CLASSES
    resolution: int = 512

    def __post_init__(self) -> None:
        per_stage = (self.depths, self.num_attention_heads, self.sr_ratios, self.patch_sizes, self.strides,
                     self.mlp_ratios)  # fmt: skip
        if any(len(v) != len(self.hidden_sizes) for v in per_stage):
            raise ValueError("segformer: every per-stage list must have one entry per stage (hidden_sizes)")
        if any(c % h for c, h in zip(self.hidden_sizes, self.num_attention_heads)):
            raise ValueError("segformer: each stage's hidden size must be a multiple of its attention heads")
        if not self.id2label:
            raise ValueError("segformer: config.json has no id2label (the class names say which classes move)")
        if not self.moving_ids:
            raise ValueError(f"segformer: none of the moving classes {list(self.moving)} is among its class names")

    @property
    def names(self) -> list[str]:
        """The class names in index order, each cut at its first comma (``"sky"``, ``"water"``, ...)."""
        return [self.id2label[str(i)].split(",")[0].strip().lower() for i in range(len(self.id2label))]

    @property
    def moving_ids(self) -> list[int]:
        """Indices of the moving classes present in ``id2label``."""
        return [i for i, n in enumerate(self.names) if n in self.moving]


def _tokens_to_map(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(B, h w, C) -> (B, C, h, w)."""
    return x.transpose(1, 2).reshape(x.shape[0], -1, h, w)


class EfficientAttention(nn.Module):
    """Multi-head self-attention whose keys and values come from the tokens downsampled ``sr`` times (``sr`` > 1).
    Keys: ``self.{query,key,value,sr,layer_norm}``, ``output.dense``."""

    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.heads, self.sr_ratio = heads, sr
        inner = {k: nn.Linear(dim, dim) for k in ("query", "key", "value")}
        if sr > 1:
            inner |= {"sr": nn.Conv2d(dim, dim, sr, stride=sr), "layer_norm": nn.LayerNorm(dim)}
        self.self = nn.ModuleDict(inner)
        self.output = nn.ModuleDict({"dense": nn.Linear(dim, dim)})

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """(B, N = h w, C) -> (B, N, C)."""
        m = self.self
        kv = x
        if self.sr_ratio > 1:
            kv = m["layer_norm"](m["sr"](_tokens_to_map(x, h, w)).flatten(2).transpose(1, 2))
        split = lambda t: t.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # noqa: E731  (B, heads, N, C / heads)
        q, k, v = split(m["query"](x)), split(m["key"](kv)), split(m["value"](kv))
        attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return self.output["dense"]((attn @ v).transpose(1, 2).flatten(2))


class MixFFN(nn.Module):
    """linear -> 3x3 depthwise conv -> GELU -> linear. Keys: ``dense1``, ``dwconv.dwconv``, ``dense2``."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.dense1 = nn.Linear(dim, hidden)
        self.dwconv = nn.ModuleDict({"dwconv": nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)})
        self.dense2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """(B, N = h w, C) -> (B, N, C)."""
        y = self.dwconv["dwconv"](_tokens_to_map(self.dense1(x), h, w)).flatten(2).transpose(1, 2)
        return self.dense2(F.gelu(y))


class Block(nn.Module):
    """x + attention(LN(x)), then + MixFFN(LN(x)). Keys: ``layer_norm_1``, ``attention``, ``layer_norm_2``, ``mlp``."""

    def __init__(self, dim: int, heads: int, sr: int, mlp_ratio: int):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(dim)
        self.attention = EfficientAttention(dim, heads, sr)
        self.layer_norm_2 = nn.LayerNorm(dim)
        self.mlp = MixFFN(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.attention(self.layer_norm_1(x), h, w)
        return x + self.mlp(self.layer_norm_2(x), h, w)


class PatchEmbedding(nn.Module):
    """A strided conv with ``patch // 2`` padding, then LayerNorm over channels. Keys: ``proj``, ``layer_norm``."""

    def __init__(self, cin: int, cout: int, patch: int, stride: int):
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, patch, stride=stride, padding=patch // 2)
        self.layer_norm = nn.LayerNorm(cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """(B, C_in, H, W) -> tokens (B, h w, C_out), h, w."""
        y = self.proj(x)
        return self.layer_norm(y.flatten(2).transpose(1, 2)), y.shape[-2], y.shape[-1]


class Encoder(nn.Module):
    """The Mix Transformer: per stage a patch embedding, blocks, LayerNorm. Keys: ``patch_embeddings.i``,
    ``block.i.j``, ``layer_norm.i``."""

    def __init__(self, cfg: SegFormerConfig):
        super().__init__()
        cins = [cfg.num_channels] + cfg.hidden_sizes[:-1]
        self.patch_embeddings = nn.ModuleList(
            [PatchEmbedding(*a) for a in zip(cins, cfg.hidden_sizes, cfg.patch_sizes, cfg.strides)]
        )
        self.block = nn.ModuleList(
            nn.ModuleList(Block(c, n, sr, m) for _ in range(d))
            for c, n, sr, m, d in zip(
                cfg.hidden_sizes, cfg.num_attention_heads, cfg.sr_ratios, cfg.mlp_ratios, cfg.depths
            )
        )
        self.layer_norm = nn.ModuleList(nn.LayerNorm(c) for c in cfg.hidden_sizes)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) normalised -> each stage's features (B, C_i, H / 4 / 2^i, W / 4 / 2^i), finest first."""
        features = []
        for embed, blocks, norm in zip(self.patch_embeddings, self.block, self.layer_norm):
            x, h, w = embed(x)
            for block in blocks:
                x = block(x, h, w)
            x = _tokens_to_map(norm(x), h, w)
            features.append(x)
        return features


class DecodeHead(nn.Module):
    """The all-MLP head. Keys: ``linear_c.i.proj``, ``linear_fuse``, ``batch_norm``, ``classifier``."""

    def __init__(self, cfg: SegFormerConfig):
        super().__init__()
        d = cfg.decoder_hidden_size
        self.linear_c = nn.ModuleList(nn.ModuleDict({"proj": nn.Linear(c, d)}) for c in cfg.hidden_sizes)
        self.linear_fuse = nn.Conv2d(d * len(cfg.hidden_sizes), d, 1, bias=False)
        self.batch_norm = nn.BatchNorm2d(d)
        self.classifier = nn.Conv2d(d, len(cfg.id2label), 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Each stage's features -> logits (B, classes, H / 4, W / 4)."""
        size = features[0].shape[-2:]
        maps = []
        for f, linear in zip(features, self.linear_c):
            y = _tokens_to_map(linear["proj"](f.flatten(2).transpose(1, 2)), *f.shape[-2:])
            maps.append(F.interpolate(y, size=size, mode="bilinear", align_corners=False))
        fused = F.relu(self.batch_norm(self.linear_fuse(torch.cat(maps[::-1], dim=1))))
        return self.classifier(fused)


class SegFormer(nn.Module):
    """(B, 3, H, W) image in [-1, 1] -> (B, classes, H, W) logits; :meth:`probability` sums the moving classes'
    softmax. Keys: ``segformer.encoder.*``, ``decode_head.*`` (those of ``SegformerForSemanticSegmentation``)."""

    def __init__(self, cfg: SegFormerConfig):
        super().__init__()
        self.cfg = cfg
        self.segformer = nn.ModuleDict({"encoder": Encoder(cfg)})
        self.decode_head = DecodeHead(cfg)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[:, None, None], persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = ((images.float() + 1) / 2 - self.mean) / self.std
        logits = self.decode_head(self.segformer["encoder"](x))
        return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)

    @torch.no_grad()
    def probability(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, H, W) in [0, 1]: the probability that each pixel is of a moving class."""
        return torch.softmax(self(images), dim=1)[:, self.cfg.moving_ids].sum(1)

    def predict(self, images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, H, W) bool, True where the scene may move."""
        return self.probability(images) > threshold
