"""The SegFormer photo segmenter (dl_lightning/models/segformer.py) against Hugging Face's, and its loading.

No pretrained weights can be fetched here, so the weights are written by the test: the real B0 tensors' names and
shapes, recorded from transformers' ``SegformerForSemanticSegmentation``, with values from a formula. The logits
that transformers gave for those weights on a fixed photo are in ``tests/data/segformer_b0.json`` (recorded once by
hand with transformers, which is not a dependency).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from dl_lightning.checkpoints import load_photo_segmenter, load_segmenter, segformer_files
from dl_lightning.errors import UserError
from dl_lightning.models.segformer import SegFormer
from dl_lightning.photo.region import RegionOptions, moving_region

FIXTURE = Path(__file__).parent / "data" / "segformer_b0.json"
#: 150 classes as in ADE20K's checkpoints: the names that matter at their ADE20K indices, the rest placeholders.
CLASSES = [f"thing{i}" for i in range(150)]
for _i, _name in {0: "wall", 1: "building, edifice", 2: "sky", 4: "tree", 21: "water", 26: "sea", 84: "tower"}.items():
    CLASSES[_i] = _name


def formula_weights(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Deterministic weights of the given shapes: weights of fan-in scale, norms near 1, small biases and statistics."""
    out = {}
    for k, (name, shape) in enumerate(sorted(shapes.items())):
        n = math.prod(shape)
        wave = torch.sin(torch.arange(n, dtype=torch.float64) * 0.618 + k).float().reshape(shape)
        if name.endswith("num_batches_tracked"):
            out[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            out[name] = 1 + 0.5 * wave.abs()
        elif name.endswith("running_mean") or name.endswith("bias"):
            out[name] = 0.1 * wave
        elif len(shape) == 1:  # LayerNorm / BatchNorm scales
            out[name] = 1 + 0.1 * wave
        else:
            fan_in = math.prod(shape[1:])
            out[name] = wave * math.sqrt(3 / fan_in)
    return out


def formula_photo() -> torch.Tensor:
    """(1, 3, 64, 96) in [-1, 1]: a smooth deterministic pattern."""
    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(96.0), indexing="ij")
    return torch.stack([torch.sin(x / 7 + c) * torch.cos(y / 5 - c) for c in range(3)])[None] * 0.9


def write_segformer(folder: Path, weights: dict[str, torch.Tensor] | None = None, name="model.safetensors") -> Path:
    """A Hugging Face-style folder (config.json + weights) of the fixture's B0 SegFormer."""
    fixture = json.loads(FIXTURE.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(fixture["config"]))
    weights = formula_weights(fixture["shapes"]) if weights is None else weights
    if name.endswith(".safetensors"):
        save_file(weights, str(folder / name), metadata={"format": "pt"})
    else:
        torch.save(weights, folder / name)
    return folder


@pytest.mark.parametrize("name", ["model.safetensors", "pytorch_model.bin"])
def test_the_segformer_gives_hugging_faces_logits_for_its_checkpoint(tmp_path, name):
    fixture = json.loads(FIXTURE.read_text())
    net = load_photo_segmenter(write_segformer(tmp_path / "b0", name=name))
    assert isinstance(net, SegFormer) and not net.training
    assert sum(v.numel() for k, v in net.state_dict().items() if "num_batches" not in k) == 3_753_206  # B0
    logits = net(formula_photo())
    for c, y, x, expected in fixture["logits"]:
        assert float(logits[0, c, y, x]) == pytest.approx(expected, rel=1e-3, abs=1e-3)
    # the moving classes are found by name (sky and water here; sea is another of them)
    assert net.cfg.moving_ids == [2, 21, 26]
    probability = torch.softmax(logits, 1)[0, [2, 21, 26]].sum(0)
    assert torch.allclose(net.probability(formula_photo())[0], probability)
    # a weights file named directly, with config.json beside it, is the same network
    same = load_photo_segmenter(tmp_path / "b0" / name)
    assert torch.equal(same(formula_photo()), logits)


def test_the_moving_classes_decide_the_probability_and_a_photo_gets_its_region(tmp_path):
    shapes = json.loads(FIXTURE.read_text())["shapes"]
    weights = formula_weights(shapes)
    weights["decode_head.classifier.weight"].zero_()
    bias = weights["decode_head.classifier.bias"]
    bias.zero_()
    bias[2] = 20.0  # every pixel "sky"
    folder = write_segformer(tmp_path / "sky", weights)
    (folder / "preprocessor_config.json").write_text(json.dumps({"size": {"height": 64, "width": 64}}))
    net = load_photo_segmenter(folder)
    assert net.cfg.resolution == 64
    photo = torch.from_numpy(np.array(Image.open(Path(__file__).parent / "data" / "hills.jpg")))
    photo = F.interpolate(photo.permute(2, 0, 1)[None].float() / 127.5 - 1, size=(96, 128), mode="area")
    assert net.probability(photo).min() > 0.99
    region = moving_region(photo, net)  # seen at a short side of 64 px, read by the rules at 128
    assert region.probability.shape[-2:] == (128, 170) and region.alpha.shape[-2:] == (96, 128)
    assert float(region.alpha.mean()) > 0.99
    assert moving_region(photo, net, RegionOptions(rules_side=None)).probability.shape[-2:] == (64, 85)
    bias[2], bias[84] = 0.0, 20.0  # every pixel "tower": nothing moves
    net = load_photo_segmenter(write_segformer(tmp_path / "tower", weights))
    assert net.probability(photo).max() < 0.01


def test_a_segformer_that_does_not_match_its_config_is_one_clear_error(tmp_path):
    fixture = json.loads(FIXTURE.read_text())
    folder = write_segformer(tmp_path / "b0")
    config = dict(fixture["config"], hidden_sizes=[64, 128, 320, 512])  # B1-B5's widths over B0's weights
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="not the SegFormer its config.json describes"):
        load_photo_segmenter(folder)
    (folder / "config.json").write_text(json.dumps(dict(fixture["config"], id2label={"0": "wall", "1": "tree"})))
    with pytest.raises(UserError, match="none of the moving classes"):
        load_photo_segmenter(folder)
    (folder / "config.json").write_text(json.dumps(fixture["config"]))
    with pytest.raises(UserError, match="segments photos only"):  # the GAN's motion terms need their own segmenter
        load_segmenter(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(UserError, match="config.json without weights"):
        load_photo_segmenter(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert segformer_files(folder) is None
