"""The EMA schedule (training/ema.py) and the checkpoint kinds table (checkpoints.KINDS), tested directly."""

import pytest
import torch

from dl_lightning.checkpoints import KINDS, mark_checkpoint, network_config, network_state, read_checkpoint
from dl_lightning.errors import UserError
from dl_lightning.models import Generator, GeneratorConfig
from dl_lightning.training.ema import ema_beta, update_ema
from tests.conftest import TINY_G


def test_ema_half_life_and_ramp_up():
    # a half-life of ema_kimg thousand images: after that many images at this batch, the old weights weigh 1/2
    beta = ema_beta(batch_total=16, ema_kimg=2.0, images_seen=10**9, rampup=None)
    assert beta ** (2000 / 16) == pytest.approx(0.5)
    # early in training the ramp-up shortens the half-life to rampup x images seen
    early = ema_beta(16, 2.0, images_seen=1600, rampup=0.05)
    assert early == pytest.approx(0.5 ** (16 / 80)) and early < beta
    assert ema_beta(16, 2.0, 0, rampup=0.05) == pytest.approx(0.0, abs=1e-12)  # nothing seen: take G as it is


def test_update_ema_lerps_parameters_and_copies_buffers():
    torch.manual_seed(0)
    G, G_ema = Generator(GeneratorConfig(**TINY_G)), Generator(GeneratorConfig(**TINY_G))
    G.mapping.w_avg.fill_(0.7)
    before = [p.detach().clone() for p in G_ema.parameters()]
    update_ema(G_ema, G, beta=0.75)
    for b, p_ema, p in zip(before, G_ema.parameters(), G.parameters()):
        torch.testing.assert_close(p_ema, 0.25 * p + 0.75 * b)
    assert torch.equal(G_ema.mapping.w_avg, G.mapping.w_avg)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_marks_reads_and_finds_its_network(kind, tmp_path):
    spec = KINDS[kind]
    ckpt = {"state_dict": {f"{spec.network}.layer.weight": torch.ones(2), "other.weight": torch.zeros(1)}}
    mark_checkpoint(ckpt, kind, {"width": 8})
    path = tmp_path / f"{kind}.ckpt"
    torch.save(ckpt, path)
    loaded = read_checkpoint(path, kind)
    assert network_config(loaded) == {"width": 8} and list(network_state(loaded)) == ["layer.weight"]
    other = next(k for k in KINDS if k != kind)
    with pytest.raises(UserError, match=f"not a dl_lightning {other} checkpoint"):
        read_checkpoint(path, other)
    with pytest.raises(RuntimeError, match="keeps its network"):
        mark_checkpoint({"state_dict": {"elsewhere.weight": torch.ones(1)}}, kind, {})
