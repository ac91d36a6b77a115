"""Where a generator keeps the time of day: relight only the styles from one layer on (W+ mixing).

    python bench/relight_layers.py [--ckpt GAN] [--num 200] [--out grid.png] [--along 0.125,0.25,0.5,1]

For ``num`` scenes (one ``z_st`` and noise, two independent ``z_dyn``), the second frame takes the second ``z_dyn``'s
styles only for the layers from ``c`` on (c = 0: the whole relight, as the generator is used). Per ``c``: the land's
structure change over the renderer's (:mod:`dl_lightning.metrics.relighting`; issue #39's bar is 1.5x) and the
relight's strength, the mean absolute change of the frames' mean colour ([-1, 1] units), beside the renderer's.
With ``--out``, the first 8 pairs at each ``c`` (rows: frame 1, then frame 2 per ``c``). With ``--along``, the same
two figures for the whole relight a fraction ``t`` of the way along the slerp from the first ``z_dyn`` to the second
(training pairs step at most ``pair_motion.zdyn_step`` of it): a relight that leaves the layout keeps the structure
change small for its colour change at every ``t``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def colour_change(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean |mean colour of a - mean colour of b| over pairs and channels; a, b (N, 3, H, W) in [-1, 1]."""
    return float((a.float().mean((2, 3)) - b.float().mean((2, 3))).abs().mean())


@torch.no_grad()
def main() -> None:
    from dl_lightning.animation import slerp
    from dl_lightning.checkpoints import find_gan, load_generator, load_scene_net
    from dl_lightning.metrics.relighting import NOT_LAND, renderer_frames, structure_change

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", default=None, help="GAN checkpoint or export (default: as dl-animate finds it)")
    p.add_argument("--num", type=int, default=200, help="scene pairs")
    p.add_argument("--out", default=None, help="write the pairs' grid here (PNG)")
    p.add_argument("--along", default="", help="comma-separated fractions t of the slerp between the two z_dyn")
    args = p.parse_args()
    path, what = find_gan(args.ckpt)
    print(f"model: {path} ({what})")
    G, scene_net = load_generator(path).eval(), load_scene_net()
    ra, rb, rland = renderer_frames(args.num, G.cfg.resolution)
    ref = structure_change(ra, rb, rland)
    print(f"renderer: structure change {ref:.3f}, colour change {colour_change(ra, rb):.3f}")
    z_st, z_dyn, s_st, s_dyn = G.sample_latents(args.num, torch.Generator().manual_seed(0))
    z_dyn2 = G.sample_z(args.num, torch.Generator().manual_seed(1), "cpu")[1]
    w1, w2 = G.map(z_st, z_dyn), G.map(z_st, z_dyn2)
    x1 = G.synthesis(w1, s_st, s_dyn)
    land = ~torch.isin(scene_net.read(x1.clamp(-1, 1))["classes"], torch.tensor(NOT_LAND))

    def report(label: str, x2: torch.Tensor) -> None:
        change, colour = structure_change(x1, x2, land) / ref, colour_change(x1, x2)
        print(f"{label}: structure change {change:.2f}x the renderer's, colour change {colour:.3f}")

    rows = [x1[:8]]
    for c in range(0, G.num_ws, 2):
        ws = w1.clone()
        ws[:, c:] = w2[:, c:]
        x2 = G.synthesis(ws, s_st, s_dyn)
        rows.append(x2[:8])
        report(f"from style {c}", x2)
    for t in [float(v) for v in args.along.split(",") if v]:
        report(f"t = {t:g} of the way", G.synthesis(G.map(z_st, slerp(z_dyn, z_dyn2, t)), s_st, s_dyn))
    if args.out:
        from torchvision.utils import save_image

        save_image(torch.cat(rows).clamp(-1, 1) * 0.5 + 0.5, args.out, nrow=8)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
