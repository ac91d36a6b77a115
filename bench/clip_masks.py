"""How right the per-clip masks of ``dl-data videos --masks photo`` are, on time-lapses whose truth is known.

    python bench/clip_masks.py                      # 40 rendered MP4 time-lapses at 64 px, clips of 16 frames
    python bench/clip_masks.py --videos 20 --size 128

Renders the user folders (``data_prep.user_folders``: MP4 files, each with its true moving region written apart),
converts them with ``dl-data videos`` exactly as a user's own, and compares every stored ``mask.png`` with its
video's true region: IoU per clip (mean, lowest, the share under 0.8) and the masks' own check,
``mask_change_ratio`` (:mod:`dl_lightning.photo.clip_mask`). Writes nothing in the repository.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def measure(root: Path, truth: Path) -> list[dict]:
    """One row per clip of the dataset at ``root``: its video, IoU with ``truth/<video>.png`` and its check."""
    from dl_lightning.data.ordered import dataset_samples

    rows = []
    for s in dataset_samples(root, "videos"):
        meta = json.loads(s["json"])
        mask = np.asarray(Image.open(io.BytesIO(s["mask.png"])).convert("L")) > 127
        true = np.asarray(Image.open(truth / f"{Path(meta['path']).stem}.png").convert("L")) > 127
        union = (mask | true).sum()
        rows.append({"video": meta["path"], "clip": meta["clip"], "iou": float((mask & true).sum() / max(union, 1)),
                     "mask_change_ratio": meta["mask_change_ratio"]})  # fmt: skip
    return rows


def main() -> None:
    sys.path.insert(0, str(REPO))
    from data_prep.user_folders import write_user_folders
    from dl_lightning.cli.data import main as dl_data

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=40)
    p.add_argument("--frames", type=int, default=48, help="frames per video (clips of 16)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--json", help="write every row here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = write_user_folders(Path(tmp) / "user", args.videos, args.frames, 0, args.size)
        dl_data(["videos", str(folders / "videos"), "--out", str(Path(tmp) / "data"), "--resolution",
                 str(args.size), "--min-shards", "1"])  # fmt: skip
        rows = measure(Path(tmp) / "data", folders / "truth")
    ious = np.array([r["iou"] for r in rows])
    ratios = np.array([r["mask_change_ratio"] or np.nan for r in rows], float)
    print(f"{len(rows)} clips of {args.videos} videos at {args.size} px: mask IoU mean {ious.mean():.3f}, lowest "
          f"{ious.min():.3f}, under 0.8: {(ious < 0.8).mean():.1%}; change inside / outside the mask: median "
          f"{np.nanmedian(ratios):.1f}, under 2 in {(ratios < 2).mean():.1%} of the clips")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
