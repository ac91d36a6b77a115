"""Does the encoder earn its place? Inversion of real photos with and without it, at the same step counts.

For each test photo of ``bench/photo_animation.py`` (hills.jpg and photos made from it), at the generator's
resolution: PSNR of the mean latent (``w_avg``, noise zero), of the encoder's W+, and after latent optimisation
(``--optim-steps``, noise fitted too) started from each; then after fine-tuning (``--finetune-steps``). Seconds
are per stage. The encoder is the GAN's companion (``companions/encoder.ckpt``, trained by ``dl-animate --image``
or ``python -m dl_lightning.training.companions encoder CKPT``).

    python bench/photo_inversion.py --ckpt runs/synthetic64/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from photo_animation import variants  # noqa: E402

from dl_lightning.checkpoints import load_encoder, load_generator  # noqa: E402
from dl_lightning.data.photos import photo_square, square_at  # noqa: E402
from dl_lightning.inversion.pipeline import invert_photo  # noqa: E402
from dl_lightning.training.companions import companion_path  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="GAN checkpoint")
    p.add_argument("--encoder", help="encoder checkpoint (default: the GAN's companion)")
    p.add_argument("--optim-steps", type=int, default=200)
    p.add_argument("--finetune-steps", type=int, default=100)
    args = p.parse_args()
    encoder_path = Path(args.encoder or companion_path("encoder", args.ckpt))
    if not encoder_path.is_file():
        train = f"python -m dl_lightning.training.companions encoder {args.ckpt}"
        raise SystemExit(f"no encoder at {encoder_path}: train it with `{train}`")
    G = load_generator(args.ckpt)
    encoder = load_encoder(str(encoder_path), G)
    print("| photo | start | start PSNR | optimised PSNR (s) | fine-tuned PSNR (s) |")
    print("| --- | --- | --- | --- | --- |")
    sums: dict[str, list[float]] = {}
    for name, img in variants(None).items():
        if name.startswith("synthetic"):
            continue
        photo = square_at(photo_square(img, "crop")[0], G.cfg.resolution)
        for start, enc in (("mean latent", None), ("encoder", encoder)):
            torch.manual_seed(0)
            G = load_generator(args.ckpt)  # fine-tuning changes G: a fresh copy for each run
            inv = invert_photo(photo, G, enc, None, args.optim_steps, args.finetune_steps, None, 0.0, progress=False)
            m = inv.metrics
            row = [m["encoder"]["psnr"], m["optimised"]["psnr"], m["finetuned"]["psnr"]]
            sums.setdefault(start, []).append(row)
            print(
                f"| {name} | {start} | {row[0]:.2f} dB | {row[1]:.2f} dB ({m['optimised']['seconds']:.1f}) | "
                f"{row[2]:.2f} dB ({m['finetuned']['seconds']:.1f}) |",
                flush=True,
            )
    for start, rows in sums.items():
        mean = [sum(r[i] for r in rows) / len(rows) for i in range(3)]
        print(f"| mean of {len(rows)} | {start} | {mean[0]:.2f} dB | {mean[1]:.2f} dB | {mean[2]:.2f} dB |")


if __name__ == "__main__":
    main()
