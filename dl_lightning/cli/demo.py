"""``dl-demo``: a local web page to animate photos (:mod:`dl_lightning.demo.app`)."""

from __future__ import annotations

import argparse

from dl_lightning.checkpoints import find_gan
from dl_lightning.errors import cli_entry
from dl_lightning.hardware import default_device
from dl_lightning.inversion.pipeline import FINETUNE_STEPS, OPTIM_STEPS
from dl_lightning.metrics.reconstruction import PerceptualConfig
from dl_lightning.photo.job import PhotoOptions
from dl_lightning.training.companions import PhotoNetworkPaths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dl-demo", description=__doc__)
    p.add_argument(
        "--ckpt",
        help="GAN checkpoint (.ckpt) or exported generator (.safetensors); default: make train's, else the shipped "
        "long-recipe model",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--out", default="outputs/demo", help="folder of the request folders")
    p.add_argument(
        "--segmenter",
        help="segmenter for the moving region, or a Hugging Face SegFormer folder "
        "(default: the shipped photo segmenter)",
    )
    p.add_argument("--lighting", help="lighting network A (default: beside --ckpt; trained on first use)")
    p.add_argument("--encoder", help="encoder (default: beside --ckpt if current; else the mean latent)")
    p.add_argument("--no-train", action="store_true", help="train nothing that is missing: go without it")
    p.add_argument("--optim-steps", type=int, default=OPTIM_STEPS, help="latent optimisation steps per photo")
    p.add_argument("--finetune-steps", type=int, default=FINETUNE_STEPS, help="generator fine-tuning steps per photo")
    p.add_argument("--lpips-weights", help="local torchvision AlexNet weights for LPIPS (else pixels only)")
    p.add_argument("--lpips-random", action="store_true", help="random LPIPS backbone (smoke tests only)")
    p.add_argument("--device", default=default_device(), help="torch device (default: cuda if visible)")
    p.add_argument("--quiet", action="store_true", help="no Gradio start-up messages")
    return p


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.ckpt, what = find_gan(args.ckpt)
    print(f"model: {args.ckpt} ({what})")
    from dl_lightning.demo.app import launch  # Gradio loads in seconds: after the arguments are checked
    from dl_lightning.demo.session import PhotoDemo

    paths = PhotoNetworkPaths(args.ckpt, args.encoder, args.lighting, args.segmenter, None, not args.no_train)
    options = PhotoOptions(optim_steps=args.optim_steps, finetune_steps=args.finetune_steps, device=args.device)
    perceptual = PerceptualConfig(backbone_weights=args.lpips_weights, random_backbone=args.lpips_random)
    launch(PhotoDemo(paths, args.out, options, perceptual), args.host, args.port, args.quiet)


if __name__ == "__main__":
    main()
