"""``ddp_gan``: data-parallel training for GANs with several backward passes per step.

PyTorch's ``DistributedDataParallel`` expects one backward per forward; a GAN step here
runs three (D_st, D_dyn, G), each touching different parameters, which breaks DDP's
reducer. Like stylegan2-ada, this strategy does not wrap the model: parameters and
buffers are broadcast from rank 0 once, and after every backward the gradients that
exist are averaged across ranks with one flat all-reduce.
"""

from __future__ import annotations

import random

import numpy as np
import torch
import torch.distributed as dist
from pytorch_lightning.strategies import DDPStrategy, StrategyRegistry


def all_reduce_grads(params) -> None:
    """Average ``.grad`` of ``params`` over all ranks (one flat buffer)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


#: Distance between the seeds of consecutive ranks (a prime, so rank seeds never meet another run's seed + 1).
RANK_SEED_STRIDE = 1_000_003


def seed_rank(rank: int) -> int:
    """Give rank ``rank`` its own random stream, derived from the run's seed: torch (CPU and CUDA), numpy and
    Python's ``random`` are reseeded with ``torch.initial_seed() + rank * RANK_SEED_STRIDE``. Rank 0 keeps the
    run's stream untouched (a one-process run draws what it always drew). Without this, ``seed_everything`` seeds
    every process alike and all ranks draw the same latents, noise and style-mixing cut-offs. Returns the seed."""
    seed = (torch.initial_seed() + rank * RANK_SEED_STRIDE) % 2**63
    if rank:
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
    return seed


class GANDDPStrategy(DDPStrategy):
    """DDP without the DDP wrapper: broadcast once, all-reduce gradients after each backward."""

    strategy_name = "ddp_gan"

    def configure_ddp(self) -> None:
        module = self.model
        if dist.is_available() and dist.is_initialized():
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src=0)

    def post_backward(self, closure_loss: torch.Tensor) -> None:
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            all_reduce_grads(p for p in self.lightning_module.parameters() if p.requires_grad)

    @classmethod
    def register_strategies(cls, strategy_registry) -> None:
        strategy_registry.register(
            cls.strategy_name, cls, description="DDP for multi-backward GAN steps", find_unused_parameters=False
        )


if GANDDPStrategy.strategy_name not in StrategyRegistry:
    GANDDPStrategy.register_strategies(StrategyRegistry)
