"""The profile behind ``make bench ARGS=--profile``: the ranges name the lazy regularisers, and their cost is
spread over their intervals. (The benchmark's timings themselves are never tested.)"""

import sys
from pathlib import Path

import pytest

from tests.conftest import TINY_D, TINY_G

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_profile import OTHER, amortised_parts, op_kind, profile_steps  # noqa: E402

from dl_lightning.training.gan_module import DeepLandscapeGAN  # noqa: E402


def test_lazy_terms_follow_their_intervals():
    module = DeepLandscapeGAN(generator=TINY_G, discriminator=TINY_D, r1_every=4, still_every=3, pl_weight=1.0)
    assert [module.lazy_terms(s) for s in range(5)] == [["r1", "pl"], [], [], [], ["r1", "pl"]]
    module = DeepLandscapeGAN(generator=TINY_G, discriminator=TINY_D, r1_every=0, pl_weight=0.0)
    assert all(module.lazy_terms(s) == [] for s in range(8))


def test_lazy_costs_are_the_extra_over_the_plain_range_spread_over_the_interval():
    # 4 iterations: D_st 10 a call (R1 once: 26), G 20 (stillness once: 28), 5 outside the ranges each
    totals = {
        "gan/d_st": (30.0, 3),
        "gan/d_st+r1": (26.0, 1),
        "gan/g": (60.0, 3),
        "gan/g+still": (28.0, 1),
        "step": (4 * 35.0 + 16 + 8, 4),
    }
    shares = amortised_parts(totals, 4, {"r1": 16, "still": 4})
    iteration = 10 + 20 + 5 + 16 / 16 + 8 / 4
    expected = {"gan/d_st": 10, "gan/g": 20, OTHER: 5, "gan/r1": 1, "gan/still": 2}
    assert shares == pytest.approx({k: v / iteration for k, v in expected.items()})


def test_operator_kinds():
    assert op_kind("aten::convolution_backward") == op_kind("aten::mkldnn_convolution")
    assert op_kind("aten::_to_copy") == op_kind("aten::copy_") != op_kind("aten::mul")
    assert op_kind("aten::mul") == op_kind("aten::leaky_relu_backward") == op_kind("aten::sum")
    assert op_kind("aten::replication_pad2d_backward") == op_kind("aten::upsample_bilinear2d")
    assert op_kind("aten::_fft_r2c") == op_kind("aten::_fft_c2r") != op_kind("aten::mul")
    assert op_kind("gan/d_st") == op_kind("Optimizer.step#Adam.step") != op_kind("aten::bmm")


def test_profile_of_real_iterations_separates_r1_and_stillness(segmenter_ckpt, tmp_path):
    module = DeepLandscapeGAN(
        generator=TINY_G, discriminator=TINY_D, still_weight=1.0, segmenter=str(segmenter_ckpt[0])
    )
    result = profile_steps(module, 4, "32-true", tmp_path / "trace.json")
    parts, ops = result["parts"], result["ops"]
    assert set(parts) == {"gan/synthesis", "gan/d_st", "gan/d_dyn", "gan/g", "gan/ema", "gan/r1", "gan/still", OTHER}
    assert all(v >= 0 for v in parts.values())  # a lazy term's extra may round to 0 on a tiny model: not asserted
    assert ops["convolutions (forward, backward)"] > 0.05, "convolutions are a real share of a GAN step"
    trace = (tmp_path / "trace.json").read_text()
    assert '"gan/d_st+r1"' in trace and '"gan/g+still"' in trace, "the trace names the lazy regularisers' ranges"
