"""FID and KID between generated frames and real images (torchmetrics), streaming in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from tqdm import tqdm

from dl_lightning.data.images import to_uint8
from dl_lightning.data.ordered import real_batches
from dl_lightning.models.generator import Generator, seeded


@torch.no_grad()
def generated_batches(
    G: Generator, num: int, batch: int = 32, truncation: float = 1.0, seed: int = 0
) -> Iterator[torch.Tensor]:
    """``num`` random frames of G in batches, [-1, 1]; seeded."""
    gen = seeded(seed)
    dev = G.const.device
    done = 0
    while done < num:
        b = min(batch, num - done)
        z_st, z_dyn, noise_st, noise_dyn = G.sample_latents(b, gen, dev)
        yield G(z_st, z_dyn, noise_st=noise_st, noise_dyn=noise_dyn, truncation=truncation)
        done += b


def fid_kid(
    real: Iterable[torch.Tensor],
    fake: Iterable[torch.Tensor],
    feature: nn.Module | int,
    kid_subset_size: int = 100,
    progress: bool = True,
) -> dict[str, float]:
    """FID and KID (mean, std) of two streams of [-1, 1] image batches.

    ``feature`` is a torchmetrics-style extractor taking uint8 images (see ``features.make_extractor``).
    """
    fid = FrechetInceptionDistance(feature=feature, reset_real_features=True)
    kid = KernelInceptionDistance(feature=feature, subset_size=kid_subset_size, subsets=50, reset_real_features=True)
    counts = {True: 0, False: 0}
    for is_real, stream in ((True, real), (False, fake)):
        for batch in tqdm(
            stream, desc="real" if is_real else "generated", unit="batch", disable=not progress, leave=False
        ):
            x = to_uint8(batch)
            fid.update(x, real=is_real)
            kid.update(x, real=is_real)
            counts[is_real] += x.shape[0]
    kid.subset_size = min(kid_subset_size, counts[True], counts[False])
    kid_mean, kid_std = kid.compute()
    return {
        "fid": float(fid.compute()),
        "kid_mean": float(kid_mean),
        "kid_std": float(kid_std),
        "num_real": counts[True],
        "num_fake": counts[False],
    }


def fid_vs_data(
    G: Generator,
    data: str,
    source: str,
    feature: nn.Module | int,
    num: int,
    batch: int = 50,
    truncation: float = 1.0,
    seed: int = 0,
    kid_subset_size: int = 1000,
) -> dict[str, float]:
    """FID/KID of ``num`` generated frames against ``num`` real ones of ``data``'s ``source`` shards
    (``static`` stills or ``videos`` frames), at G's resolution; features computed on the CPU."""
    real = real_batches(data, source, num, G.cfg.resolution, batch)
    fake = (x.cpu() for x in generated_batches(G, num, batch, truncation, seed))
    return fid_kid(real, fake, feature, kid_subset_size)
