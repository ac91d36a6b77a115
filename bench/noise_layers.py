"""What a trained generator's static noise draws: its structure figures with the S_st maps of the finest layers off.

    python bench/noise_layers.py --ckpt GAN [--ckpt GAN2 ...] [--num 512] [--off 64,32] [--out grid.png]

For ``num`` latents (z_st, z_dyn, S_st, S_dyn from seed 0), each generator samples once with every noise map and
once per resolution ``r`` of ``--off`` with the S_st maps of the layers at ``r`` px and finer set to 0 (the trained
network, nothing retrained). Printed per row: the structure figures and the mean |Laplacian| as ratios to ``num``
real stills (:mod:`dl_lightning.metrics.structure`, as ``dl-eval gan`` reports them). A figure that moves to the real
stills' when a layer's S_st is off is drawn by that noise (the wider generators' sky grain: the 64 px layers';
docs/evaluation.md, "More synthesis channels at 32-64 px"). With ``--out``, 16 samples of the first generator: with
every map (top two rows), then with the first ``--off`` (bottom two).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIGURES = ("sky_grain", "edge_sky_ridge", "edge_ridge_grass", "tree_count", "tree_area", "sun")


def without_st(G, s_st: list[torch.Tensor], off: int | None) -> list[torch.Tensor]:
    """The S_st maps with those of the layers at ``off`` px and finer set to 0 (None: unchanged)."""
    return [torch.zeros_like(m) if off and r >= off else m for r, m in zip(G.layer_res, s_st)]


@torch.no_grad()
def main() -> None:
    from torchvision.utils import make_grid, save_image

    from dl_lightning.checkpoints import load_generator, load_scene_net
    from dl_lightning.data.ordered import real_batches
    from dl_lightning.metrics.pixel_stats import pixel_stats
    from dl_lightning.metrics.scene_quality import read_batches
    from dl_lightning.metrics.structure import structure_ratios, structure_stats

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", action="append", required=True, help="GAN checkpoint or export (repeat for several)")
    p.add_argument("--num", type=int, default=512, help="samples per row, and real stills")
    p.add_argument("--off", default="64,32", help="comma-separated resolutions: S_st off from each on")
    p.add_argument("--data", default="data/synthetic64", help="dataset folder of the real stills")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--out", default=None, help="write the first generator's grid here (PNG)")
    args = p.parse_args()
    offs = [int(r) for r in args.off.split(",")]
    net = load_scene_net()

    def figures(x: torch.Tensor) -> tuple[dict[str, float], float]:
        chunks = list(x.split(args.batch))
        classes = read_batches(net, chunks)[1]["classes"]
        return structure_stats(x, classes), pixel_stats(chunks)["mean_abs_laplacian"]

    gens = [load_generator(ckpt).eval() for ckpt in args.ckpt]
    real = torch.cat(list(real_batches(args.data, "static", args.num, gens[0].cfg.resolution, args.batch)))
    st_real, lap_real = figures(real)
    grid = []  # the first generator's 16 samples with every map, then with the first --off
    print("generator".ljust(48), "S_st off", *(f"{k:>16}" for k in FIGURES), f"{'|Laplacian|':>12}")
    for i, (ckpt, G) in enumerate(zip(args.ckpt, gens)):
        z_st, z_dyn, s_st, s_dyn = G.sample_latents(args.num, 0)
        for off in [None, *offs]:
            st = without_st(G, s_st, off)
            x = torch.cat([
                G(z_st[j : j + args.batch], z_dyn[j : j + args.batch],
                  noise_st=[m[j : j + args.batch] for m in st], noise_dyn=[m[j : j + args.batch] for m in s_dyn])
                for j in range(0, args.num, args.batch)
            ]).clamp(-1, 1)  # fmt: skip
            stats, lap = figures(x)
            ratios = structure_ratios(stats, st_real)
            label = "none" if off is None else f">= {off} px"
            print(ckpt[-48:].ljust(48), label.rjust(8), *(f"{ratios[k]:>15.2f}x" for k in FIGURES),
                  f"{lap / lap_real:>11.2f}x", flush=True)  # fmt: skip
            if i == 0 and args.out and off in (None, offs[0]):
                grid.append(x[:16])
        if i == 0 and args.out:
            up = torch.nn.functional.interpolate(torch.cat(grid), scale_factor=2, mode="nearest")
            save_image(make_grid(up, nrow=8, padding=2) * 0.5 + 0.5, args.out)
            print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
