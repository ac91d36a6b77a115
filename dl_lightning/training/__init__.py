"""Lightning orchestration: the LightningModules dl-train fits (GAN, encoder, lighting network A, segmenter, scene
network, upsampler), GAN losses and generated pairs, the ddp_gan strategy, callbacks, measured precision, the
LightningCLI (``lightning_cli``) and the photo networks trained on the spot (``companions``)."""

from dl_lightning.training import ddp as _ddp  # noqa: F401  (registers the 'ddp_gan' strategy)
from dl_lightning.training.quiet import silence_notices as _silence

_silence()
