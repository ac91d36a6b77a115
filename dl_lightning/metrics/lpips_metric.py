"""LPIPS (``lpips`` package) without network access.

The package ships its linear-layer weights; the AlexNet/VGG backbone comes from torchvision and
cannot be downloaded here. It is taken from ``backbone_weights`` (a torchvision state dict, e.g.
``alexnet-owt-7be5be79.pth``) or the torch hub cache; ``random_backbone=True`` uses a randomly
initialised backbone (tests: exercises the code path, numbers are not meaningful).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from dl_lightning.data.images import IMAGE_EXTENSIONS, center_crop_resize, open_rgb, pil_to_tensor
from dl_lightning.errors import UserError

BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def cached_backbone(net: str) -> Path:
    """Where torchvision's hub cache keeps the ``net`` backbone weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILES[net]


def lpips_backbone_available(net: str = "alex") -> bool:
    """Whether the ``net`` backbone weights are in the local torch hub cache."""
    return net in BACKBONE_FILES and cached_backbone(net).is_file()


def load_lpips(
    net: str = "alex", backbone_weights: str | None = None, random_backbone: bool = False
) -> torch.nn.Module:
    """An ``lpips.LPIPS`` module in eval mode; see the module docstring for where weights come from."""
    import lpips

    if net not in BACKBONE_FILES:
        raise UserError(f"LPIPS net must be one of {', '.join(BACKBONE_FILES)}, got {net!r}")
    cached = cached_backbone(net)
    if not random_backbone and backbone_weights is None and not cached.is_file():
        raise UserError(
            f"LPIPS needs {net} backbone weights, which cannot be downloaded on this machine: "
            f"pass --lpips-weights PATH (torchvision {BACKBONE_FILES[net]}) or copy it to {cached}"
        )
    use_cache = not random_backbone and backbone_weights is None
    with warnings.catch_warnings():  # lpips calls torchvision's deprecated `pretrained=`: nothing a user can change
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(net=net, pnet_rand=not use_cache, verbose=False)
    if backbone_weights is not None:
        path = Path(backbone_weights)
        if not path.is_file():
            raise UserError(f"--lpips-weights {path} not found")
        state = torch.load(path, map_location="cpu", weights_only=True)
        own = model.net.state_dict()  # keys like slice1.0.weight, where 0 is the index in torchvision's .features
        mapped = {k: state[f"features.{k.split('.', 1)[1]}"] for k in own if f"features.{k.split('.', 1)[1]}" in state}
        if len(mapped) != len(own):
            raise UserError(f"{path}: not a torchvision {net} state dict ({len(mapped)}/{len(own)} tensors matched)")
        model.net.load_state_dict(mapped)
    return model.eval().requires_grad_(False)


def lpips_or_none(
    net: str = "alex", backbone_weights: str | None = None, random_backbone: bool = False, without: str = "pixels only"
) -> torch.nn.Module | None:
    """``load_lpips``, or None with one line saying so (``without``: what is used instead) when no backbone weights
    were given and none are cached: offline machines cannot download them."""
    if backbone_weights is None and not random_backbone and not lpips_backbone_available(net):
        print(f"note: no local {net} weights for LPIPS (--lpips-weights PATH); {without}")
        return None
    return load_lpips(net, backbone_weights, random_backbone)


@torch.no_grad()
def lpips_distance(model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image LPIPS between (B,3,H,W) tensors in [-1, 1] -> (B,)."""
    return model(a.float(), b.float()).flatten()


def image_pairs(a: Path, b: Path) -> list[tuple[Path, Path]]:
    """Two image files, or the images with the same names in two folders."""
    if a.is_file() and b.is_file():
        return [(a, b)]
    if a.is_dir() and b.is_dir():
        names = sorted(p.name for p in a.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        pairs = [(a / n, b / n) for n in names if (b / n).is_file()]
        if not pairs:
            raise UserError(f"no images with the same names in {a} and {b}")
        return pairs
    missing = [str(p) for p in (a, b) if not p.exists()]
    if missing:
        raise UserError(f"not found: {', '.join(missing)}")
    raise UserError(f"compare two image files or two folders, not a file and a folder ({a}, {b})")


def lpips_between(model: torch.nn.Module, a: Path, b: Path) -> dict[str, float]:
    """LPIPS of each pair of :func:`image_pairs` (by the first one's name), each centre-cropped to the
    smaller image's shorter side."""
    values = {}
    for pa, pb in image_pairs(Path(a), Path(b)):
        ia, ib = open_rgb(pa), open_rgb(pb)
        side = min(ia.size + ib.size)
        ta = pil_to_tensor(center_crop_resize(ia, side))[None]
        tb = pil_to_tensor(center_crop_resize(ib, side))[None]
        values[pa.name] = float(lpips_distance(model, ta, tb)[0])
    return values
