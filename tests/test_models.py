import pytest
import torch
import torch.nn.functional as F

from dl_lightning.checkpoints import load_generator, save_generator
from dl_lightning.models import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, PairDiscriminator
from dl_lightning.models.discriminator import minibatch_stddev
from dl_lightning.models.layers import (
    EqualConv2d,
    EqualLinear,
    downsample2,
    downsample2_adds,
    downsample2_conv,
    lrelu,
    upsample2,
)
from tests.conftest import TINY_D, TINY_G


@pytest.fixture
def G():
    g = Generator(GeneratorConfig(**TINY_G)).eval()
    with torch.no_grad():  # noise strengths start at 0 (StyleGAN2); give them weight to test the mechanics
        for layer in g.layers:
            layer.strength_st.fill_(0.5)
            layer.strength_dyn.fill_(0.5)
    return g


def test_shapes_and_wplus(G):
    z_st, z_dyn = G.sample_z(3)
    img, ws = G(z_st, z_dyn, return_ws=True)
    assert img.shape == (3, 3, 32, 32) and ws.shape == (3, G.num_ws, 32)
    assert G.num_ws == len(G.layers) + 1 == 8
    noise = G.sample_noise(3)
    assert [n.shape[-1] for n in noise] == [4, 8, 8, 16, 16, 32, 32]
    torch.testing.assert_close(
        G(z_st, z_dyn, noise_st=noise, noise_dyn=noise), G(ws=ws, noise_st=noise, noise_dyn=noise)
    )


def test_fixed_dynamic_latents_give_identical_frames(G):
    z_st, z_dyn = G.sample_z(2)
    n_st, n_dyn = G.sample_noise(2), G.sample_noise(2)
    a = G(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn)
    b = G(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn)
    assert torch.equal(a, b)
    c = G(z_st, torch.randn_like(z_dyn), noise_st=n_st, noise_dyn=n_dyn)  # new lighting
    d = G(z_st, z_dyn, noise_st=n_st, noise_dyn=G.sample_noise(2))  # new dynamic noise
    assert (a - c).abs().mean() > 1e-3 and (a - d).abs().mean() > 1e-3


def test_dynamic_noise_enters_only_through_its_own_strengths(G):
    z_st, z_dyn = G.sample_z(2)
    n_st = G.sample_noise(2)
    with torch.no_grad():
        for layer in G.layers:
            layer.strength_dyn.zero_()
    a = G(z_st, z_dyn, noise_st=n_st, noise_dyn=G.sample_noise(2))
    b = G(z_st, z_dyn, noise_st=n_st, noise_dyn=G.sample_noise(2))
    assert torch.equal(a, b), "with zero S_dyn strength, S_dyn must not matter"
    c = G(z_st, z_dyn, noise_st=G.sample_noise(2), noise_dyn=G.sample_noise(2))
    assert (a - c).abs().mean() > 1e-3, "S_st still acts"


def test_truncation_zero_collapses_to_average(G):
    G.mapping.w_avg.normal_()
    z_st, z_dyn = G.sample_z(4)
    ws = G.map(z_st, z_dyn, truncation=0.0)
    torch.testing.assert_close(ws, G.mapping.w_avg.expand_as(ws))


def test_fused_and_nonfused_modconv_agree(G):
    Gf = Generator(GeneratorConfig(**{**TINY_G, "fused_modconv": True})).eval()
    Gf.load_state_dict(G.state_dict())
    z = G.sample_z(3)
    n1, n2 = G.sample_noise(3), G.sample_noise(3)
    torch.testing.assert_close(
        G(*z, noise_st=n1, noise_dyn=n2), Gf(*z, noise_st=n1, noise_dyn=n2), atol=1e-4, rtol=1e-4
    )


def test_pair_discriminator_is_symmetric_and_sensitive():
    D = PairDiscriminator(DiscriminatorConfig(**TINY_D))
    pairs = torch.randn(4, 2, 3, 16, 16)
    torch.testing.assert_close(D(pairs), D(pairs.flip(1)))
    assert (D(pairs) - D(torch.stack([pairs[:, 0], pairs[:, 0]], 1))).abs().max() > 1e-4


def test_discriminator_shapes_and_mbstd():
    D = Discriminator(DiscriminatorConfig(**TINY_D))
    assert D(torch.randn(6, 3, 32, 32)).shape == (6, 1)
    x = torch.randn(6, 4, 4, 4)
    y = minibatch_stddev(x, 4)  # 6 is not divisible by 4: group of 3 is used
    assert y.shape == (6, 5, 4, 4)
    same = minibatch_stddev(torch.ones(4, 2, 4, 4), 4)
    assert same[:, -1].abs().max() < 1e-3


def test_resampling_filters_preserve_constants():
    x = torch.full((1, 2, 8, 8), 3.0)
    torch.testing.assert_close(downsample2(x), torch.full((1, 2, 4, 4), 3.0))
    torch.testing.assert_close(upsample2(x), torch.full((1, 2, 16, 16), 3.0))


def test_downsample_is_the_stylegan2_filter_in_both_forms():
    """Both forms (depthwise conv, shifted adds) compute [1,3,3,1]^2 / 64 at stride 2, in any memory format."""
    x = torch.randn(2, 3, 8, 8)
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    xp = F.pad(x, (1, 1, 1, 1), mode="replicate")  # out[i, j] = sum_ab k[a] k[b] xp[2i + a, 2j + b] / 64
    ref = sum(k[a] * k[b] * xp[..., a : a + 8 : 2, b : b + 8 : 2] for a in range(4) for b in range(4)) / 64
    for form in (downsample2_conv, downsample2_adds):
        torch.testing.assert_close(form(x), ref)
        torch.testing.assert_close(form(x.contiguous(memory_format=torch.channels_last)), ref)
    torch.testing.assert_close(downsample2(x.bfloat16()).float(), ref, atol=0.05, rtol=0.02)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("gate_norm", [False, True])
def test_synthesis_layer_equals_its_reference_formula(fused, gate_norm):
    """The layer's folded passes (demodulation, lrelu gain and gate inside per-channel factors) compute
    lrelu(conv(x, w) + s_st S_st + s_dyn gate(conv(x, w)) S_dyn + bias), in value and gradient."""
    cfg = {**TINY_G, "fused_modconv": fused, "dyn_gate": True, "dyn_gate_norm": gate_norm}
    layer = Generator(GeneratorConfig(**cfg)).layers[1]  # an upsampling layer with S_dyn and a gate
    torch.manual_seed(0)
    with torch.no_grad():
        for p in (layer.strength_st, layer.strength_dyn, layer.bias, layer.gate.weight, layer.gate.bias):
            p.normal_()
    x = torch.randn(3, layer.conv.weight.shape[1], 4, 4, requires_grad=True)
    w, n_st, n_dyn = torch.randn(3, TINY_G["w_dim"]), torch.randn(3, 1, 8, 8), torch.randn(3, 1, 8, 8)
    conv = layer.conv(x, w)
    gate = layer.dyn_gate(conv)  # the gate from the demodulated output itself
    s_st, s_dyn, bias = (v[:, None, None] for v in (layer.strength_st, layer.strength_dyn, layer.bias))
    ref = lrelu(conv + s_st * n_st + s_dyn * gate * n_dyn + bias)
    out = layer(x, w, n_st, n_dyn)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    g_ref = torch.autograd.grad(ref.square().sum(), [x, layer.gate.weight])
    g_out = torch.autograd.grad(out.square().sum(), [x, layer.gate.weight])
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_activated_equal_layers_fold_the_gain():
    conv, lin = EqualConv2d(4, 5, 3, activate=True), EqualLinear(4, 5, lr_mul=0.01, activate=True)
    x, v = torch.randn(2, 4, 6, 6), torch.randn(2, 4)
    torch.testing.assert_close(conv(x), lrelu(F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)))
    torch.testing.assert_close(lin(v), lrelu(F.linear(v, lin.weight * lin.scale, lin.bias * lin.lr_mul)))


@pytest.mark.parametrize("bad", [{"resolution": 48}, {"resolution": 4}, {"z_dyn_dim": 0}])
def test_bad_generator_config(bad):
    with pytest.raises(ValueError):
        GeneratorConfig(**bad)


def test_bad_discriminator_config():
    with pytest.raises(ValueError, match="dyn_resolution"):
        DiscriminatorConfig(resolution=32, dyn_resolution=64)


def test_a_seed_draws_the_same_latents_as_a_generator_seeded_with_it(G):
    by_seed, by_gen = G.sample_latents(3, 5), G.sample_latents(3, torch.Generator().manual_seed(5))
    for a, b in zip(by_seed[:2] + (*by_seed[2], *by_seed[3]), by_gen[:2] + (*by_gen[2], *by_gen[3])):
        assert torch.equal(a, b)
    assert not torch.equal(G.sample_z(3, 5)[0], G.sample_z(3, 6)[0])


def test_noise_strength_init_option():
    assert all((layer.strength_dyn == 0).all() for layer in Generator(GeneratorConfig(**TINY_G)).layers)
    G = Generator(GeneratorConfig(**{**TINY_G, "noise_strength_init": 0.1}))
    assert all(torch.allclose(layer.strength_st, torch.full_like(layer.strength_st, 0.1)) for layer in G.layers)
    assert all(torch.allclose(layer.strength_dyn, torch.full_like(layer.strength_dyn, 0.1)) for layer in G.layers)


def test_dyn_gate_starts_as_identity_and_can_shut_s_dyn_out_per_pixel(G):
    gated = Generator(GeneratorConfig(**{**TINY_G, "dyn_gate": True})).eval()
    missing, unexpected = gated.load_state_dict(G.state_dict(), strict=False)
    assert not unexpected and missing and all(".gate." in k for k in missing)
    z_st, z_dyn, n_st, n_dyn = G.sample_latents(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(
            gated(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn), G(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn)
        )
        # a gate that reads its features and closes where channel 0 is positive: S_dyn acts only elsewhere
        x = torch.randn(2, G.layers[3].strength_dyn.numel(), 16, 16)
        layer = gated.layers[3]
        layer.gate.weight.zero_()
        layer.gate.weight[0, 0] = -1e3 * layer.gate.weight.shape[1] ** 0.5
        g = layer.dyn_gate(x)
        assert g.shape == (2, 1, 16, 16)
        assert (g[x[:, :1] > 0.1] < 1e-6).all() and (g[x[:, :1] < -0.1] > 2 - 1e-6).all()
        for lyr in gated.layers:  # all gates shut: S_dyn has no effect at all
            lyr.gate.bias.fill_(-1e4)
        a = gated(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn)
        b = gated(z_st, z_dyn, noise_st=n_st, noise_dyn=G.sample_noise(2))
    assert torch.equal(a, b)


def test_normalised_dyn_gate_moves_s_dyn_between_regions_but_keeps_its_mean(G):
    gated = Generator(GeneratorConfig(**{**TINY_G, "dyn_gate": True, "dyn_gate_norm": True})).eval()
    gated.load_state_dict(G.state_dict(), strict=False)
    z_st, z_dyn, n_st, n_dyn = G.sample_latents(2, torch.Generator().manual_seed(0))
    layer = gated.layers[3]
    x = torch.randn(2, layer.strength_dyn.numel(), 16, 16)
    with torch.no_grad():  # identity at initialisation, as the free gate
        torch.testing.assert_close(
            gated(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn), G(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn)
        )
        layer.gate.weight[0, 0] = -1e3 * layer.gate.weight.shape[1] ** 0.5  # shut where channel 0 > 0
        g = layer.dyn_gate(x)
        for lyr in gated.layers:  # a bias alone cannot turn S_dyn down: the gate stays 1 everywhere
            lyr.gate.bias.fill_(-1e4)
        flat = gated.layers[0].dyn_gate(torch.randn(2, gated.layers[0].strength_dyn.numel(), 4, 4))
    torch.testing.assert_close(g.mean(dim=(2, 3)), torch.ones(2, 1))
    open_share = (x[:, :1] < 0).float().mean(dim=(2, 3), keepdim=True)
    assert (g[x[:, :1] > 0.1] < 1e-6).all()
    torch.testing.assert_close(g[x[:, :1] < -0.1], (1 / open_share).expand_as(g)[x[:, :1] < -0.1], rtol=1e-4, atol=0)
    torch.testing.assert_close(flat, torch.ones_like(flat))
    with pytest.raises(ValueError, match="dyn_gate_norm needs"):
        GeneratorConfig(**{**TINY_G, "dyn_gate_norm": True})


def test_dyn_min_res_keeps_s_dyn_out_of_coarse_layers():
    cfg = {**TINY_G, "dyn_gate": True, "dyn_gate_norm": True, "dyn_min_res": 8}
    coarse = Generator(GeneratorConfig(**cfg)).eval()
    assert [layer.dynamic for layer in coarse.layers] == [r >= 8 for r in coarse.layer_res]
    assert coarse.layers[0].gate is None and "layers.0.strength_dyn" not in dict(coarse.named_parameters())
    z_st, z_dyn, n_st, n_dyn = coarse.sample_latents(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for layer in coarse.layers:
            layer.strength_dyn.fill_(0.5)
        a = coarse(z_st, z_dyn, noise_st=n_st, noise_dyn=n_dyn)
        new_4px = [torch.randn_like(n_dyn[0]), *n_dyn[1:]]  # the 4 px map is still part of the latents
        new_8px = [n_dyn[0], torch.randn_like(n_dyn[1]), *n_dyn[2:]]
        assert torch.equal(a, coarse(z_st, z_dyn, noise_st=n_st, noise_dyn=new_4px))
        assert (a - coarse(z_st, z_dyn, noise_st=n_st, noise_dyn=new_8px)).abs().mean() > 1e-3
    with pytest.raises(ValueError, match="dyn_min_res"):
        GeneratorConfig(**{**TINY_G, "dyn_min_res": 6})
    with pytest.raises(ValueError, match="dyn_min_res"):
        GeneratorConfig(**{**TINY_G, "dyn_min_res": 2 * TINY_G["resolution"]})


def test_dyn_style_min_res_keeps_z_dyn_out_of_the_coarse_styles_and_relights_only_the_rest():
    from dl_lightning.models.lighting import LightingNet, relight

    split = Generator(GeneratorConfig(**TINY_G, dyn_style_min_res=16)).train()
    # styles: 4 px conv, 8 px (x2), 16 px (x2), 32 px (x2) and the last toRGB (32 px)
    assert split.dyn_styles.tolist() == [False, False, False, True, True, True, True, True]
    z_st, z_dyn = split.sample_z(4, 0)
    z_dyn2 = split.sample_z(4, 1)[1]
    a = split.map(z_st, z_dyn)  # training: the running mean of w (truncation's centre) is updated once
    with torch.no_grad():
        w, layout = split.mapping(z_st, z_dyn), split.mapping(z_st, torch.zeros_like(z_dyn))
    assert torch.allclose(split.mapping.w_avg, w.mean(0) * (1 - split.cfg.w_avg_beta))  # from 0: not by the layout
    split.eval()
    b = split.map(z_st, z_dyn2)
    # the layout styles are the w of (z_st, 0) for both times of day; the rest are each z_dyn's own
    assert torch.equal(a[:, :3], b[:, :3]) and torch.allclose(a[:, 0], layout)
    assert (a[:, 3:] - b[:, 3:]).abs().amin() > 0
    A = LightingNet(split.cfg.w_dim, split.cfg.z_st_dim, split.cfg.z_dyn_dim)
    ws = split.map(z_st, z_dyn) + 0.1 * torch.randn(4, split.num_ws, split.cfg.w_dim)  # an inversion's W+
    relit = relight(split, A, ws, z_dyn2)
    assert torch.equal(relit[:, :3], ws[:, :3]) and (relit[:, 3:] - ws[:, 3:]).abs().amax() > 0
    # the default: every style sees z_dyn, as before (one w broadcast to W+)
    G = Generator(GeneratorConfig(**TINY_G)).eval()
    assert G.dyn_styles.all() and torch.equal(G.map(z_st, z_dyn), G.mapping(z_st, z_dyn)[:, None].expand(-1, 8, -1))
    with pytest.raises(ValueError, match="dyn_style_min_res"):
        GeneratorConfig(**{**TINY_G, "dyn_style_min_res": 12})


# ---- the noise design that removed the speckles: one strength per layer, no noise in the last conv
def _layer_response(per_channel: bool, strengths: list[float]) -> torch.Tensor:
    """The change of one synthesis layer's output (C, H, W) when its S_st map gets +1 at one pixel (4, 5)."""
    G = Generator(GeneratorConfig(**TINY_G, noise_per_channel=per_channel))
    layer = G.layers[2]
    with torch.no_grad():
        layer.strength_st.copy_(torch.tensor(strengths[: layer.strength_st.numel()]))
        layer.bias.fill_(50.0)  # every unit in lrelu's linear part: the change is the noise term itself
    x, w = torch.randn(1, G.layers[1].bias.numel(), 8, 8), torch.randn(1, G.cfg.w_dim)  # layer 2: 8 px -> 8 px
    n = torch.randn(1, 1, 8, 8)
    bumped = n.clone()
    bumped[0, 0, 4, 5] += 1.0
    zeros = torch.zeros_like(n)
    with torch.no_grad():
        return (layer(x, w, bumped, zeros) - layer(x, w, n, zeros))[0]


def test_one_noise_strength_per_layer_reaches_every_channel_alike():
    """StyleGAN2's scalar strength: a lone noise pixel changes every channel of the layer by the same amount, so no
    channel can become a private carrier of per-pixel noise for toRGB (the speckles of per-channel strengths)."""
    channels = Generator(GeneratorConfig(**TINY_G)).layers[2].strength_st.numel()
    strengths = [0.0] * channels
    strengths[0] = 0.3  # the old design: one channel carries the noise, the others none
    old = _layer_response(True, strengths)
    assert old[0, 4, 5] > 0.3 and old[1:, 4, 5].abs().max() == 0
    new = _layer_response(False, [0.3])
    assert Generator(GeneratorConfig(**TINY_G, noise_per_channel=False)).layers[2].strength_st.shape == (1,)
    torch.testing.assert_close(new[:, 4, 5], torch.full((new.shape[0],), new[0, 4, 5].item()))
    assert new[0, 4, 5] > 0.3 and new[:, :4].abs().max() == 0  # only that pixel changes


def test_per_channel_checkpoints_still_load(tmp_path):
    """A generator saved before the option existed (config without ``noise_per_channel``) loads per channel."""
    G = Generator(GeneratorConfig(**TINY_G))
    path = save_generator(G, tmp_path / "old.safetensors")
    assert load_generator(path).layers[2].strength_st.shape == (G.layers[2].bias.numel(),)
    new = save_generator(Generator(GeneratorConfig(**TINY_G, noise_per_channel=False)), tmp_path / "new.safetensors")
    assert load_generator(new).layers[2].strength_st.shape == (1,)
    # per channel up to 16 px, one scalar in the finest (32 px) layers; saved and loaded with that shape
    mixed = Generator(GeneratorConfig(**TINY_G, noise_channel_max_res=16))
    shapes = {r: layer.strength_st.numel() for r, layer in zip(mixed.layer_res, mixed.layers)}
    assert shapes == {r: 1 if r > 16 else G.cfg.channels(r) for r in mixed.layer_res} and shapes[32] == 1
    loaded = load_generator(save_generator(mixed, tmp_path / "mixed.safetensors"))
    assert [layer.strength_st.numel() for layer in loaded.layers] == [
        layer.strength_st.numel() for layer in mixed.layers
    ]
    with pytest.raises(ValueError, match="noise_channel_max_res"):
        GeneratorConfig(**TINY_G, noise_channel_max_res=24)


def test_without_last_noise_no_noise_map_reaches_rgb_unfiltered(tmp_path):
    """``last_noise: false``: the last conv adds no noise (its strengths are fixed zero buffers, so training cannot
    turn them on), and a lone pixel of the previous layer's noise reaches the image only through the last 3x3
    conv, spread over its neighbours; the latent format (one map per layer) and loading are unchanged."""
    G = Generator(GeneratorConfig(**TINY_G, last_noise=False)).eval()
    last = G.layers[-1]
    assert "strength_st" not in dict(last.named_parameters()) and "strength_dyn" not in dict(last.named_parameters())
    assert all(p.requires_grad for n, p in G.layers[-2].named_parameters() if n.startswith("strength"))
    for layer in G.layers:
        layer.strength_st.data.fill_(0.5)
    z_st, z_dyn, s_st, s_dyn = G.sample_latents(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = G(z_st, z_dyn, noise_st=s_st, noise_dyn=s_dyn)
        other = [n.clone() for n in s_st]
        other[-1] = torch.randn_like(other[-1]) * 5
        torch.testing.assert_close(G(z_st, z_dyn, noise_st=other, noise_dyn=s_dyn), base)
        bumped = [n.clone() for n in s_st]
        bumped[-2][0, 0, 10, 10] += 3.0
        change = (G(z_st, z_dyn, noise_st=bumped, noise_dyn=s_dyn) - base).abs().amax(1)[0]
    assert change[10, 10] > 0 and (change[9:12, 9:12] > 1e-3 * change[10, 10]).sum() >= 5, "spread by the 3x3 conv"
    assert change[10, 10] < 0.5 * change[9:12, 9:12].sum(), "not a lone pixel"
    loaded = load_generator(save_generator(G, tmp_path / "g.safetensors"))
    assert not loaded.cfg.last_noise and not loaded.layers[-1].static


def test_st_max_res_keeps_static_noise_out_of_finer_layers(tmp_path):
    """``st_max_res: 16`` on a 32 px generator: the 32 px layers add no S_st (fixed zero strengths, so training
    cannot turn them on) and any 32 px S_st map gives the same image, while a 16 px one still changes it; S_dyn
    still enters at 32 px; saved and loaded with the option."""
    G = Generator(GeneratorConfig(**TINY_G, st_max_res=16)).eval()
    for res, layer in zip(G.layer_res, G.layers):
        assert layer.static == (res <= 16) and ("strength_st" in dict(layer.named_parameters())) == (res <= 16)
        layer.strength_st.data.fill_(0.5)
    assert G.layers[-2].dynamic
    z_st, z_dyn, s_st, s_dyn = G.sample_latents(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = G(z_st, z_dyn, noise_st=s_st, noise_dyn=s_dyn)
        fine = [torch.randn_like(n) * 5 if r == 32 else n for r, n in zip(G.layer_res, s_st)]
        torch.testing.assert_close(G(z_st, z_dyn, noise_st=fine, noise_dyn=s_dyn), base)
        coarse = [torch.randn_like(n) * 5 if r == 16 else n for r, n in zip(G.layer_res, s_st)]
        assert (G(z_st, z_dyn, noise_st=coarse, noise_dyn=s_dyn) - base).abs().max() > 1e-2
    loaded = load_generator(save_generator(G, tmp_path / "g.safetensors"))
    assert loaded.cfg.st_max_res == 16 and [layer.static for layer in loaded.layers] == [
        layer.static for layer in G.layers
    ]
    with pytest.raises(ValueError, match="st_max_res"):
        GeneratorConfig(**TINY_G, st_max_res=64)
