"""A real photo's latents and its animation: inversion (encoder -> latent optimisation -> generator fine-tuning,
``pipeline``), masks and compositing, the photo's own sky moved at full resolution (``photo_motion``), and the whole
job (``photo_job``). The lighting network A is a model (``models.lighting``), trained by ``training``."""
