"""Record tests/data/segformer_b0.json from Hugging Face transformers' own SegFormer (B0 shapes, ADE20K's 150
classes), with the weights and photo of tests/test_segformer.py. Run by hand where transformers is installed (it is
not a dependency): ``PYTHONPATH=. python tests/data/record_segformer.py``."""

import json
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers
from transformers import SegformerConfig, SegformerForSemanticSegmentation

from dl_lightning.models.segformer import IMAGENET_MEAN, IMAGENET_STD
from tests.test_segformer import CLASSES, FIXTURE, formula_photo, formula_weights

#: (class, row, column) of the logits recorded.
PICKS = [(0, 0, 0), (2, 5, 7), (21, 31, 40), (149, 63, 95), (77, 20, 60), (2, 40, 10)]
CONFIG_FIELDS = ("model_type", "hidden_sizes", "depths", "num_attention_heads", "sr_ratios", "patch_sizes", "strides",
                 "mlp_ratios", "decoder_hidden_size", "num_channels", "id2label")  # fmt: skip


def main() -> None:
    labels = dict(enumerate(CLASSES))
    cfg = SegformerConfig(num_labels=len(CLASSES), id2label=labels, label2id={n: i for i, n in labels.items()})
    net = SegformerForSemanticSegmentation(cfg).eval()
    shapes = {k: list(v.shape) for k, v in net.state_dict().items()}
    net.load_state_dict(formula_weights(shapes))
    x = formula_photo()
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    with torch.no_grad():
        logits = net(pixel_values=((x + 1) / 2 - mean) / std).logits
    logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
    record = {
        "recorded_with": f"transformers {transformers.__version__}, SegformerForSemanticSegmentation (B0 shapes)",
        "config": {k: v for k, v in json.loads(cfg.to_json_string()).items() if k in CONFIG_FIELDS},
        "shapes": shapes,
        "logits": [[c, y, xx, float(logits[0, c, y, xx])] for c, y, xx in PICKS],
    }
    Path(FIXTURE).write_text(json.dumps(record, indent=0))
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
