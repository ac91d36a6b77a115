"""DeepLandscape generator: StyleGAN2 (skip architecture) with static/dynamic latents.

Latents (Logacheva et al. 2020, Sec. 3):

* ``z_st`` (B, z_st_dim): colours and layout; ``z_dyn`` (B, z_dyn_dim): global lighting /
  time of day. They are concatenated, normalised together to unit second moment (as in the
  paper, where z_dyn replaces the last coordinates of one z) and mapped to ``w``. Normalising
  them together keeps a continuous range for a small z_dyn: normalised alone, a 1-d z_dyn
  would be +-1 and a 3-d one would live on a sphere, so a straight path between two lighting
  states would pass near the undefined zero.
* ``noise_st`` / ``noise_dyn`` (``S_st`` / ``S_dyn``): one (B, 1, h, w) map per synthesis
  layer, each added with its own learned strength: one per channel, or one scalar per layer as StyleGAN2
  (``noise_per_channel`` / ``dyn_noise_per_channel: false``).

A video keeps ``z_st``, ``noise_st`` fixed and changes ``z_dyn``, ``noise_dyn`` per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from dl_lightning.models.layers import SQRT2, EqualConv2d, EqualLinear, ModulatedConv2d, channels_at, upsample2

#: Truncation psi of samples and animations meant to be looked at (metrics use 1.0, no truncation).
VIEW_TRUNCATION = 0.8


@dataclass
class GeneratorConfig:
    """Generator hyper-parameters.

    Attributes:
        resolution: output side in pixels, a power of two >= 8.
        z_st_dim: size of the static latent z_st.
        z_dyn_dim: size of the dynamic (lighting / time of day) latent z_dyn.
        w_dim: size of w (intermediate latent, one per layer in W+).
        mapping_layers: depth of the mapping MLP.
        mapping_lr_mul: learning-rate multiplier of the mapping network (0.01 in StyleGAN2).
        channel_base: channels at resolution r are min(channel_base // r, channel_max).
        channel_max: cap on channels per layer.
        fused_modconv: use the grouped-conv modulated conv (reference; slower on CPU).
        w_avg_beta: decay of the running mean of w used for truncation.
        noise_strength_init: initial strength of S_st and S_dyn (0 in StyleGAN2).
        noise_per_channel: S_st's strength: one per channel (True, the paper's code and older checkpoints) or one
            scalar per layer (False, StyleGAN2's design). Per channel, the generator can turn one channel into a
            carrier of per-pixel noise that its toRGB passes straight to the image: the isolated dark pixels of the
            per-channel models (docs/evaluation.md, "Speckles"). With one scalar, the same noise enters every
            channel of a layer, so noise reaches RGB only through the layer's shared response.
        noise_channel_max_res: with ``noise_per_channel``, the finest resolution whose layers get per-channel S_st
            strengths; finer layers get one scalar each (None: every layer). Per-channel noise at 64 px drew texture
            and, on one seed in two, dark dashes; with 32 here one seed in two drew 2 px flecks instead
            (docs/evaluation.md, "Speckles": measured, not the default).
        dyn_noise_per_channel: the same for S_dyn. One scalar for S_dyn too stopped the motion on a 1500-iteration
            CPU run (docs/evaluation.md, "Speckles"): the stillness term turns the whole layer's S_dyn down.
        dyn_gate: multiply each layer's S_dyn term, per pixel, by a gate read from that layer's
            features (2 sigmoid(1x1 conv), exactly 1 at initialisation), so the network can keep
            S_dyn out of the land without turning its strength down in the sky. Not in the paper
            (whose generator can only scale S_dyn per channel); see docs/evaluation.md's motion table.
        dyn_gate_norm: divide each gate by its mean over the frame, so it can move S_dyn between
            regions (land -> sky) but not turn it down everywhere; needs ``dyn_gate``.
        dyn_min_res: the coarsest resolution whose layers add S_dyn (4: every layer, the paper). Coarser
            layers keep their S_dyn maps (the latent format is unchanged) but add nothing: at 64 px a
            4 px noise cell spans a quarter of the frame and an 8 px one an eighth, so warping them moves
            the horizon and the land with the clouds (the 64 px default config uses 16). Not in the paper;
            see docs/evaluation.md's motion table.
        dyn_style_min_res: the coarsest resolution whose styles see z_dyn (4: every style, the paper). The styles of
            coarser layers take the w of (z_st, z_dyn = 0), so the time of day cannot move what they draw: the
            layout (ridges, trees, shores) lives in the 4-8 px styles (docs/evaluation.md, "Where the shipped
            generator keeps the time of day"). Not in the paper.
        last_noise: add S_st and S_dyn in the last conv too (True: StyleGAN2 and the paper). Noise added there
            reaches the image through nothing but a lrelu and the 1x1 toRGB, so a per-pixel noise map becomes
            per-pixel dots in the image (the speckles: docs/evaluation.md, "Speckles"), whatever its strength's
            shape. With False the last layer keeps its maps (the latent format is unchanged) but adds nothing, so every
            noise map passes a modulated 3x3 conv before it reaches RGB.
        st_max_res: the finest resolution whose layers add S_st (None: every layer, the paper). Finer layers keep
            their maps (the latent format is unchanged) but add nothing, so the finest texture comes from the
            styles alone: at 64 px the S_st of the 64 px layers draws the wider generators' sky grain
            (docs/evaluation.md, "More synthesis channels at 32-64 px").
    """

    resolution: int = 64
    z_st_dim: int = 128
    z_dyn_dim: int = 3
    w_dim: int = 128
    mapping_layers: int = 4
    mapping_lr_mul: float = 0.01
    channel_base: int = 4096
    channel_max: int = 128
    fused_modconv: bool = False
    w_avg_beta: float = 0.995
    noise_strength_init: float = 0.0
    noise_per_channel: bool = True
    noise_channel_max_res: int | None = None
    dyn_noise_per_channel: bool = True
    dyn_gate: bool = False
    dyn_gate_norm: bool = False
    dyn_min_res: int = 4
    dyn_style_min_res: int = 4
    last_noise: bool = True
    st_max_res: int | None = None

    def __post_init__(self) -> None:
        r = self.resolution
        if r < 8 or r & (r - 1):
            raise ValueError(f"generator.resolution must be a power of two >= 8, got {r}")
        if min(self.z_st_dim, self.z_dyn_dim, self.w_dim, self.mapping_layers, self.channel_max) < 1:
            raise ValueError("generator dims (z_st_dim, z_dyn_dim, w_dim, mapping_layers, channel_max) must be >= 1")
        if self.dyn_gate_norm and not self.dyn_gate:
            raise ValueError("generator.dyn_gate_norm needs generator.dyn_gate: true")
        for name in ("dyn_min_res", "dyn_style_min_res"):
            v = getattr(self, name)
            if v & (v - 1) or not 4 <= v <= r:
                raise ValueError(f"generator.{name} must be a power of two in [4, {r}], got {v}")
        for name in ("noise_channel_max_res", "st_max_res"):
            m = getattr(self, name)
            if m is not None and (m & (m - 1) or not 4 <= m <= r):
                raise ValueError(f"generator.{name} must be null or a power of two in [4, {r}], got {m}")

    def st_per_channel(self, res: int) -> bool:
        """Whether the layers at ``res`` px have one S_st strength per channel (else one scalar)."""
        return self.noise_per_channel and (self.noise_channel_max_res is None or res <= self.noise_channel_max_res)

    def channels(self, res: int) -> int:
        return channels_at(res, self.channel_base, self.channel_max)


def seeded(generator: torch.Generator | int | None) -> torch.Generator | None:
    """A seed as a new CPU generator with that seed; a generator or None as it is."""
    return torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def normalize_z(z_st: torch.Tensor, z_dyn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mapping network's input: [z_st, z_dyn] normalised together, split back into its two parts."""
    z = normalize_2nd_moment(torch.cat([z_st, z_dyn], dim=1))
    return z[:, : z_st.shape[1]], z[:, z_st.shape[1] :]


class MappingNetwork(nn.Module):
    """(z_st, z_dyn) -> w. Keeps a running mean ``w_avg`` for truncation."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        dims = [cfg.z_st_dim + cfg.z_dyn_dim] + [cfg.w_dim] * cfg.mapping_layers
        self.net = nn.Sequential(
            *[EqualLinear(a, b, lr_mul=cfg.mapping_lr_mul, activate=True) for a, b in zip(dims, dims[1:])]
        )
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        self.beta = cfg.w_avg_beta

    def forward(
        self, z_st: torch.Tensor, z_dyn: torch.Tensor, truncation: float = 1.0, track: bool = True
    ) -> torch.Tensor:
        """z_st (B, z_st_dim), z_dyn (B, z_dyn_dim) -> w (B, w_dim). ``track``: update ``w_avg`` when training."""
        w = self.net(torch.cat(normalize_z(z_st, z_dyn), dim=1))
        if track and self.training and torch.is_grad_enabled():
            self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.beta))
        if truncation != 1.0:
            w = self.w_avg.to(w.dtype).lerp(w, truncation)
        return w


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv + static and dynamic noise (one strength per channel, or one per layer) + bias + lrelu.

    With ``dyn_gate`` the dynamic noise term is also scaled per pixel by ``2 sigmoid(gate(x))``
    (x: the conv's output, gate: a 1x1 conv to one channel, zero at initialisation); with
    ``gate_norm`` that weight is divided by its mean over the frame (it then only redistributes S_dyn).
    A layer built with ``dynamic=False`` ignores its S_dyn map (its ``strength_dyn`` is a zero buffer), one built
    with ``static=False`` its S_st map (the same for ``strength_st``).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        w_dim: int,
        *,
        up: bool,
        fused: bool,
        noise_init: float,
        dyn_gate: bool,
        gate_norm: bool = False,
        dynamic: bool = True,
        static: bool = True,
        per_channel: bool = True,
        dyn_per_channel: bool = True,
    ):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, up=up, fused=fused)
        n_st, n_dyn = (out_ch if p else 1 for p in (per_channel, dyn_per_channel))  # (n,) broadcasts as (n, 1, 1)
        if static:
            self.strength_st = nn.Parameter(torch.full((n_st,), noise_init))
        else:  # same state_dict key, never trained
            self.register_buffer("strength_st", torch.zeros(n_st))
        self.static = static
        if dynamic:
            self.strength_dyn = nn.Parameter(torch.full((n_dyn,), noise_init))
        else:  # same state_dict key, never trained
            self.register_buffer("strength_dyn", torch.zeros(n_dyn))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.dynamic = dynamic
        self.gate = EqualConv2d(out_ch, 1, 1) if dyn_gate and dynamic else None
        self.gate_norm = gate_norm
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)

    def dyn_gate(self, x: torch.Tensor, d: torch.Tensor | None = None) -> torch.Tensor:
        """Per-pixel weight (B, 1, H, W) of S_dyn for conv output ``x * d`` (``d``: per-sample, per-channel
        demodulation (B, C), or None for 1): in (0, 2), or of mean 1 over the frame with ``gate_norm``; 1 without
        a gate. The gate's 1x1 conv takes ``d`` into its weights, so the demodulated output is never formed."""
        if self.gate is None:
            return torch.ones_like(x[:, :1])
        wg = self.gate.weight[:, :, 0, 0] * self.gate.scale  # (1, C)
        wg = wg if d is None else wg * d
        logit = (x * wg[..., None, None].to(x.dtype)).sum(1, keepdim=True).float() + self.gate.bias[:, None, None]
        if not self.gate_norm:
            return (2 * torch.sigmoid(logit)).to(x.dtype)
        # sigmoid / its mean over the frame = HW softmax(log sigmoid) over the frame: stable where the gate saturates
        b, _, h, w = logit.shape
        gate = torch.softmax(nn.functional.logsigmoid(logit).view(b, h * w), dim=1).view(b, 1, h, w) * (h * w)
        return gate.to(x.dtype)

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_st: torch.Tensor, noise_dyn: torch.Tensor
    ) -> torch.Tensor:
        """lrelu(conv(x, w) + strength_st S_st + strength_dyn gate S_dyn + bias), written as four passes over the
        output: lrelu's gain sqrt(2) and the demodulation go into the per-channel factors (see `lrelu`)."""
        y, d = self.conv.modulated(x, w)
        bias = (self.bias * SQRT2)[:, None, None].to(y.dtype)
        if d is None:  # the grouped form has demodulated already
            out = torch.add(bias, y, alpha=SQRT2)
        else:
            out = torch.addcmul(bias, y, (d * SQRT2)[:, :, None, None].to(y.dtype))
        if self.static:
            out.addcmul_((self.strength_st * SQRT2)[:, None, None], noise_st)
        if self.dynamic:
            gate = noise_dyn if self.gate is None else noise_dyn * self.dyn_gate(y, d)
            out.addcmul_((self.strength_dyn * SQRT2)[:, None, None], gate)
        return nn.functional.leaky_relu(out, 0.2, inplace=True)


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, w_dim: int, fused: bool):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, 3, 1, w_dim, demodulate=False, fused=fused)
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        rgb = self.conv(x, w) + self.bias[:, None, None].to(x.dtype)
        return rgb if skip is None else rgb + upsample2(skip)


class Generator(nn.Module):
    """StyleGAN2 skip generator with DeepLandscape's four latent sets.

    ``num_ws`` per-layer styles (W+): layer ``i`` of :attr:`layers` uses ``ws[:, i]``;
    the ToRGB after layer ``i`` uses ``ws[:, i + 1]``.
    """

    def __init__(self, cfg: GeneratorConfig | None = None, **kwargs):
        super().__init__()
        cfg = cfg or GeneratorConfig(**kwargs)
        self.cfg = cfg
        self.mapping = MappingNetwork(cfg)
        log_res = int(math.log2(cfg.resolution))
        self.const = nn.Parameter(torch.randn(1, cfg.channels(4), 4, 4))
        opts = dict(
            fused=cfg.fused_modconv,
            noise_init=cfg.noise_strength_init,
            dyn_per_channel=cfg.dyn_noise_per_channel,
            dyn_gate=cfg.dyn_gate,
            gate_norm=cfg.dyn_gate_norm,
        )
        c4 = cfg.channels(4)
        at = lambda res: dict(opts, per_channel=cfg.st_per_channel(res))  # noqa: E731  (S_st's strength shape)
        st = lambda res: cfg.st_max_res is None or res <= cfg.st_max_res  # noqa: E731  (whether S_st enters)
        self.layers = nn.ModuleList(
            [SynthesisLayer(c4, c4, cfg.w_dim, up=False, dynamic=cfg.dyn_min_res <= 4, **at(4))]
        )
        self.to_rgbs = nn.ModuleList([ToRGB(c4, cfg.w_dim, cfg.fused_modconv)])
        self.layer_res = [4]
        for log2_res in range(3, log_res + 1):
            res = 2**log2_res
            cin, cout, dynamic = cfg.channels(res // 2), cfg.channels(res), cfg.dyn_min_res <= res
            noisy = cfg.last_noise or log2_res < log_res  # the last layer: noise only with `last_noise`
            second = dict(dynamic=dynamic and noisy, static=noisy and st(res))
            self.layers += [
                SynthesisLayer(cin, cout, cfg.w_dim, up=True, dynamic=dynamic, static=st(res), **at(res)),
                SynthesisLayer(cout, cout, cfg.w_dim, up=False, **second, **at(res)),
            ]
            self.to_rgbs.append(ToRGB(cout, cfg.w_dim, cfg.fused_modconv))
            self.layer_res += [res, res]
        self.num_ws = len(self.layers) + 1
        style_res = torch.tensor(self.layer_res + self.layer_res[-1:])  # the last toRGB's style: the finest
        self.register_buffer("dyn_styles", style_res >= cfg.dyn_style_min_res, persistent=False)

    # ---------------------------------------------------------------- latents
    def sample_z(
        self, batch: int, generator: torch.Generator | int | None = None, device=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random (z_st, z_dyn), each standard normal. ``generator``: a torch.Generator, a seed (an int: a new CPU
        generator with that seed) or None (torch's global stream); the same in every ``sample_*``."""
        generator = seeded(generator)
        device = device or self.const.device
        z_st = torch.randn(batch, self.cfg.z_st_dim, device=device, generator=generator)
        z_dyn = torch.randn(batch, self.cfg.z_dyn_dim, device=device, generator=generator)
        return z_st, z_dyn

    def sample_noise(
        self, batch: int, generator: torch.Generator | int | None = None, device=None
    ) -> list[torch.Tensor]:
        """One standard-normal map (B, 1, r, r) per synthesis layer (``S_st`` or ``S_dyn``)."""
        generator = seeded(generator)
        device = device or self.const.device
        return [torch.randn(batch, 1, r, r, device=device, generator=generator) for r in self.layer_res]

    def sample_latents(
        self, batch: int, generator: torch.Generator | int | None = None, device=None
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """(z_st, z_dyn, S_st, S_dyn) for ``batch`` scenes, drawn in that order from ``generator`` (on the CPU
        when one is given, so a seed gives the same scenes on any device) and moved to ``device``."""
        generator = seeded(generator)
        device = device or self.const.device
        src = "cpu" if generator is not None else device
        z_st, z_dyn = self.sample_z(batch, generator, src)
        s_st, s_dyn = self.sample_noise(batch, generator, src), self.sample_noise(batch, generator, src)
        return z_st.to(device), z_dyn.to(device), [n.to(device) for n in s_st], [n.to(device) for n in s_dyn]

    def map(self, z_st: torch.Tensor, z_dyn: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """Mapping broadcast to W+: (B, num_ws, w_dim); the styles that do not see z_dyn (``dyn_styles`` False:
        ``dyn_style_min_res``) take the w of (z_st, 0)."""
        w = self.mapping(z_st, z_dyn, truncation)[:, None].expand(-1, self.num_ws, -1)
        if self.cfg.dyn_style_min_res <= 4:  # every style sees z_dyn
            return w
        layout = self.mapping(z_st, torch.zeros_like(z_dyn), truncation, track=False)[:, None]
        return torch.where(self.dyn_styles[:, None], w, layout)

    # ---------------------------------------------------------------- synthesis
    def synthesis(
        self, ws: torch.Tensor, noise_st: list[torch.Tensor] | None = None, noise_dyn: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """W+ (B, num_ws, w_dim) and noise lists -> image (B, 3, R, R), roughly in [-1, 1].

        Missing noise lists are sampled fresh.
        """
        b = ws.shape[0]
        noise_st = noise_st if noise_st is not None else self.sample_noise(b, device=ws.device)
        noise_dyn = noise_dyn if noise_dyn is not None else self.sample_noise(b, device=ws.device)
        if len(noise_st) != len(self.layers) or len(noise_dyn) != len(self.layers):
            raise ValueError(f"expected {len(self.layers)} noise maps per set, got {len(noise_st)}/{len(noise_dyn)}")
        x = self.const.expand(b, -1, -1, -1).contiguous(memory_format=torch.channels_last)
        rgb = None
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise_st[i], noise_dyn[i])
            if i == 0 or i % 2 == 0:  # after the 4x4 layer and after each resolution's second layer
                rgb = self.to_rgbs[(i + 1) // 2](x, ws[:, i + 1], rgb)
        return rgb

    def forward(
        self,
        z_st: torch.Tensor | None = None,
        z_dyn: torch.Tensor | None = None,
        *,
        ws: torch.Tensor | None = None,
        noise_st: list[torch.Tensor] | None = None,
        noise_dyn: list[torch.Tensor] | None = None,
        truncation: float = 1.0,
        return_ws: bool = False,
    ):
        """Generate images from (z_st, z_dyn) or directly from W+ ``ws``.

        Returns (B, 3, R, R) images, plus ``ws`` (B, num_ws, w_dim) if ``return_ws``.
        """
        if ws is None:
            if z_st is None or z_dyn is None:
                raise ValueError("pass both z_st and z_dyn, or ws")
            ws = self.map(z_st, z_dyn, truncation)
        img = self.synthesis(ws, noise_st, noise_dyn)
        return (img, ws) if return_ws else img
