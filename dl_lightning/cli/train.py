"""``dl-train``: LightningCLI for every training job (GAN, segmenter, encoder, lighting network A, upsampler).

    dl-train fit --config configs/gan/synthetic64.yaml [--trainer.max_steps=...] [--ckpt_path=...]

The CLI itself (one-line errors, run folders, measured precision) is :mod:`dl_lightning.training.lightning_cli`.
"""

from __future__ import annotations

import warnings

from dl_lightning.errors import cli_entry
from dl_lightning.training.lightning_cli import build_cli


@cli_entry
def main(args: list[str] | None = None) -> None:
    # Lightning warns (with a page of example code) that a step checkpoint of a manual-optimisation module holds
    # the weights after that step's updates: that is what step N means here (N updates of G and the Ds).
    warnings.filterwarnings("ignore", message=".*manual optimization and every_n_train_steps")
    build_cli(args)


if __name__ == "__main__":
    main()
