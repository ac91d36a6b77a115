"""A real photo's latents: encoder -> latent optimisation -> generator fine-tuning (``pipeline``, with the
LightningModules ``latent_optim`` and ``finetune`` and their ``losses``). The photo job that uses them is
:mod:`dl_lightning.photo`. The lighting network A is a model (``models.lighting``), trained by ``training``."""
