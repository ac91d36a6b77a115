"""Do the structure figures see what FD misses? The calibration ladder (real renders damaged in known ways, with
the fine-grain and blob-tree rungs) in the scene network's features and its class maps.

    python bench/structure_ladder.py --num 1000 --json outputs/bench/structure_ladder.json

For each rung: FD, recall, and each structure figure as a ratio to the real stills' (``data/synthetic64``); the
spread is over ``--resamples`` draws of the real set (each ``--num`` stills drawn from the dataset with another
seed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from dl_lightning.checkpoints import load_scene_net
from dl_lightning.data.ordered import real_batches
from dl_lightning.metrics.scene_quality import distances, read_batches, reference_sets
from dl_lightning.metrics.structure import structure_ratios, structure_stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/synthetic64")
    p.add_argument("--num", type=int, default=1000)
    p.add_argument("--resamples", type=int, default=3)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--json", default="outputs/bench/structure_ladder.json")
    a = p.parse_args()
    net = load_scene_net(None)
    reference, _, rungs = reference_sets(a.num, 64, ladder=True, workers=a.workers)
    sets = {"floor": reference, **rungs}
    read = {k: read_batches(net, x.split(100)) for k, x in sets.items()}
    rows: dict[str, dict[str, list[float]]] = {k: {} for k in sets}
    for seed in range(a.resamples):
        real = torch.cat(list(real_batches(a.data, "static", a.num, 64, 100, seed=seed)))
        f_real, r_real = read_batches(net, real.split(100))
        st_real = structure_stats(real, r_real["classes"])
        for k, x in sets.items():
            d = distances(f_real, read[k][0])
            ratios = structure_ratios(structure_stats(x, read[k][1]["classes"]), st_real)
            for name, v in {"fd": d["fd"], "recall": d["recall"], **ratios}.items():
                rows[k].setdefault(name, []).append(v)
    names = list(rows["floor"])
    print(f"N = {a.num}, mean ± std over {a.resamples} real sets; structure figures as ratios to real")
    print(f"{'set':<18}" + "".join(f"{n.replace('edge_', '').replace('tree_', 't.'):>14}" for n in names))
    for k, r in rows.items():
        print(f"{k:<18}" + "".join(f"{np.nanmean(r[n]):8.2f}±{np.nanstd(r[n]):<5.2f}" for n in names))
    out = Path(a.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"num": a.num, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
