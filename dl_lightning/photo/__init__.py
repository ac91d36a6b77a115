"""A photo animated at its own size, end to end: the job (``job``: options, networks, outputs), its moving region
(``region``: segmenter, sky islands, matting, thin and upright structures), the photo's own sky and water moved at
full resolution (``motion``), the frames composited with the photo (``frames``, ``composite``). The photo's latents
come from :mod:`dl_lightning.inversion`; the networks the job trains on demand are found by
:mod:`dl_lightning.training.companions`."""
