"""Scene labels of the synthetic world: the per-pixel classes and the scene parameters stored with every sample.

A synthetic sample (``dl-data synthetic``) carries, besides its image(s) and ``mask.png``:

* ``classes.png``: (H, W) uint8 class indices into :data:`CLASSES` (a video: of its first frame);
* ``json["scene"]``: the scene's parameters as plain numbers (``synthetic.landscape.scene_labels``): horizon,
  visible ridges and their heights, water and shore, visible trees and their positions, cloud cover, wind, sun
  side, class shares; ``json["daytime"]`` is the time of day (a list per frame for a video).

They are read back from the shards, never recomputed, so labels do not depend on re-running today's renderer.
:class:`SceneDataModule` serves them to the scene network (``configs/scene_net``).
"""

from __future__ import annotations

import json
import math

import torch
from torch.utils.data import Dataset

from dl_lightning.data.images import from_uint8, to_uint8
from dl_lightning.data.in_memory import InMemoryDataModule
from dl_lightning.data.ordered import dataset_samples
from dl_lightning.data.stream import decode_image, image_field
from dl_lightning.errors import UserError

#: Per-pixel classes of the class maps, in index order.
CLASSES = ("sky", "cloud", "ridge", "grass", "water", "tree")
#: Visible ridge counts the renderer draws (1-3); the ridge head classifies ``ridges - 1``.
MAX_RIDGES = 3


def scene_targets(meta: dict) -> dict[str, float]:
    """A still's JSON -> the scene network's scalar targets: water (0/1), ridges (count - 1, 0-2), trees (count),
    daytime_cos / daytime_sin (the time of day tau as an angle, so midnight follows 23:59), cloud_cover, horizon."""
    try:
        scene, tau = meta["scene"], float(meta["daytime"])
    except (KeyError, TypeError) as err:
        raise UserError(
            f"a sample has no scene labels ({err}): rebuild the dataset with this version's `dl-data synthetic`"
        ) from None
    return {
        "water": float(scene["water"]),
        "ridges": float(min(max(scene["ridges"], 1), MAX_RIDGES) - 1),
        "trees": float(scene["trees"]),
        "daytime_cos": math.cos(2 * math.pi * tau),
        "daytime_sin": math.sin(2 * math.pi * tau),
        "cloud_cover": float(scene["cloud_cover"]),
        "horizon": float(scene["horizon"]),
    }


def tau_from_angle(cos, sin):
    """The time of day in [0, 1) from (cos, sin) of its angle (floats or tensors), the inverse of
    :func:`scene_targets`' ``daytime_cos`` / ``daytime_sin``."""
    if isinstance(cos, torch.Tensor):
        return torch.atan2(sin, cos).div(2 * torch.pi).remainder(1.0)
    return math.atan2(sin, cos) / (2 * math.pi) % 1.0


def load_scenes(
    root: str, resolution: int, limit: int, skip: int = 0
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Stills ``skip`` .. ``skip + limit`` of ``root`` in shard order: images uint8 (N,3,H,W), class maps uint8
    (N,H,W) and targets {name: (N,)} (see :func:`scene_targets`)."""
    images, classes, targets = [], [], []
    for i, s in enumerate(dataset_samples(root, "static")):
        if i < skip:
            continue
        if len(images) == limit:
            break
        if "classes.png" not in s:
            raise UserError(f"{root}: stills without classes.png: rebuild it with this version's `dl-data synthetic`")
        images.append(to_uint8(decode_image(image_field(s), resolution)))
        classes.append(decode_classes(s["classes.png"], resolution))
        targets.append(scene_targets(json.loads(s["json"])))
    if not images:
        raise UserError(f"{root} has no stills after the first {skip} (build more with `dl-data synthetic`)")
    stacked = {k: torch.tensor([t[k] for t in targets]) for k in targets[0]}
    return torch.stack(images), torch.stack(classes), stacked


def decode_classes(data: bytes, resolution: int) -> torch.Tensor:
    """A ``classes.png`` -> (H, W) uint8 class indices, resized (nearest) to ``resolution`` if needed."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.NEAREST)
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(resolution, resolution)


class SceneImages(Dataset):
    """(image (3,H,W) in [-1, 1], classes (H,W) int64, targets {name: float}); ``augment`` flips left-right
    (every label is symmetric but the wind and sun side, which the network does not predict)."""

    def __init__(self, images: torch.Tensor, classes: torch.Tensor, targets: dict[str, torch.Tensor], augment: bool):
        self.images, self.classes, self.targets, self.augment = images, classes, targets, augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x, c = from_uint8(self.images[i]), self.classes[i].long()
        if self.augment and torch.rand(()) < 0.5:
            x, c = x.flip(-1), c.flip(-1)
        return x, c, {k: v[i] for k, v in self.targets.items()}


class SceneDataModule(InMemoryDataModule):
    """Labelled stills for the scene network: the first ``num_train`` for training, the next ``num_val`` held out.

    Args:
        root: a dataset built by ``dl-data synthetic`` with a seed other than the GAN's data (seeds never shared:
            ``make scene-net`` uses ``--seed 1``, the GAN's data ``--seed 0``).
        resolution: image side.
        batch_size: batch size.
        num_train: stills for training.
        num_val: held-out stills after them.
    """

    def __init__(
        self, root: str, resolution: int = 64, batch_size: int = 32, num_train: int = 3584, num_val: int = 512
    ):
        super().__init__()
        self.save_hyperparameters()

    def load_sets(self) -> tuple[SceneImages, SceneImages]:
        hp = self.hparams
        return (
            SceneImages(*load_scenes(hp.root, hp.resolution, hp.num_train), augment=True),
            SceneImages(*load_scenes(hp.root, hp.resolution, hp.num_val, hp.num_train), augment=False),
        )
