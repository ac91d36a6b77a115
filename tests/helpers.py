"""Callbacks used by subprocess tests (importable by class_path from the CLI)."""

import hashlib
import json
import os
from pathlib import Path

import pytorch_lightning as pl


class ParamFingerprint(pl.Callback):
    """At the end of training, each rank writes a hash of its G/D parameters to ``out/rank<r>.json``."""

    def __init__(self, out: str):
        self.out = Path(out)

    def on_train_end(self, trainer, module):
        digest = {}
        for name in ("G", "D_st", "D_dyn", "G_ema"):
            h = hashlib.sha256()
            for p in list(getattr(module, name).parameters()) + list(getattr(module, name).buffers()):
                h.update(p.detach().cpu().numpy().tobytes())
            digest[name] = h.hexdigest()
        digest["world_size"] = trainer.world_size
        digest["global_step"] = trainer.global_step
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(digest))
        os.sync()


class DrawFingerprint(pl.Callback):
    """Records a hash of every latent and noise map the GAN draws in training (``G.sample_z`` / ``G.sample_noise``,
    wrapped in place) and of the random stream after them; each rank writes ``out/draws<r>.json`` at the end."""

    def __init__(self, out: str):
        self.out, self.draws = Path(out), []

    def on_fit_start(self, trainer, module):
        G = module.G
        for name in ("sample_z", "sample_noise"):
            fn = getattr(G, name)

            def wrapped(*args, _fn=fn, _name=name, **kwargs):
                out = _fn(*args, **kwargs)
                h = hashlib.sha256()
                for t in out:
                    h.update(t.detach().cpu().numpy().tobytes())
                self.draws.append(f"{_name}:{h.hexdigest()[:16]}")
                return out

            setattr(G, name, wrapped)

    def on_train_end(self, trainer, module):
        import torch

        self.draws.append(f"after:{torch.rand(4).tolist()}")
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"draws{trainer.global_rank}.json").write_text(json.dumps(self.draws))


def alpha_from_mask(mask, photo, geometry, keep_thin: bool = True):
    """The moving region's alpha at the photo's size from a known coarse mask on the generator's square (1, 1, r, r),
    as :func:`dl_lightning.photo.region.refine_region` makes it without islands or matting (land-coloured water
    dropped, thin and upright structures kept as the flag says)."""
    from dl_lightning.photo.composite import frame_to_output
    from dl_lightning.photo.region import RegionOptions, refine_region

    prob = frame_to_output(mask, geometry, tuple(photo.shape[-2:])).clamp(0, 1)
    return refine_region(prob, photo, RegionOptions(islands=False, refine=False, keep_thin=keep_thin)).alpha


def write_random_inception_weights(path) -> Path:
    """An InceptionV3 state dict with the real names and shapes and random values (torch-fidelity's network, as
    torchmetrics builds it), saved to ``path``: the real weights cannot be downloaded here. Features from it test
    the code path, not picture quality."""
    from unittest import mock

    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.manual_seed(0)
    # the constructor ends by loading weights (a download without a path): build the layers, load nothing
    url = "torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url"
    with (
        mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None),
        mock.patch(url, lambda *a, **k: {}),
    ):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for m in net.modules():  # He-scaled, so that features keep their scale through the 40-odd layers
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return Path(path)
