"""Lightning orchestration: GAN module, losses, DDP strategy, callbacks, export."""

from dl_lightning.training import ddp as _ddp  # noqa: F401  (registers the 'ddp_gan' strategy)
