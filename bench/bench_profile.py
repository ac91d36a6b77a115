"""Profile of GAN iterations (``make bench ARGS=--profile``): the share of an iteration in each part of
``training_step`` with the lazy regularisers spread over their intervals, and the share of each kind of operator.

``training_step`` names its ``torch.profiler`` ranges ``gan/synthesis``, ``gan/d_st``, ``gan/d_dyn``, ``gan/g``,
``gan/ema``; a range that also ran a lazy regulariser carries it in its name (``gan/d_st+r1``, ``gan/g+still``,
see ``DeepLandscapeGAN.lazy_terms``). The profiled iterations run each lazy term once, on different iterations,
so its extra cost is the difference from the plain range; it is then divided by the config's interval.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from bench_common import DEV
from bench_training import fit_steps

from dl_lightning.training.gan_module import DeepLandscapeGAN

#: The profiled window is iterations 2..5: R1 runs at 3, the stillness term at 4, path length at 5 (each once).
WINDOW_INTERVALS = {"r1_every": 3, "still_every": 4, "pl_every": 5}
OTHER = "other (Lightning, logging, optimizer bookkeeping)"


class ProfilerStep(pl.Callback):
    def __init__(self, prof):
        self.prof = prof

    def on_train_batch_end(self, *args):
        self.prof.step()


def amortised_parts(totals: dict[str, tuple[float, int]], steps: int, intervals: dict[str, int]) -> dict[str, float]:
    """Share of an iteration per part, from ``totals`` (range name -> (total time, calls) over ``steps`` profiled
    iterations; ``step``: the iterations themselves) and the config's lazy ``intervals`` (``r1``, ``still``,
    ``pl`` -> every k iterations).

    A part's time is its plain range's mean times how often it ran; a lazy term's is its ranges' extra time over
    that mean, per call, divided by its interval; ``OTHER`` is what an iteration has outside the ranges."""
    parts: dict[str, float] = {}
    lazy: dict[str, float] = {}
    window_extra = 0.0  # time the lazy terms took in the window
    for base in {k.split("+")[0] for k in totals if k.startswith("gan/")}:
        time, calls = totals.get(base, (0.0, 0))
        variants = [(k.split("+")[1:], t, n) for k, (t, n) in totals.items() if k.startswith(base + "+")]
        runs = calls + sum(n for _, _, n in variants)
        if not calls:  # never ran without a lazy term: nothing to compare with, all counted in the part
            parts[base] = sum(t for _, t, _ in variants) / steps
            continue
        parts[base] = time / calls * runs / steps
        for terms, t, n in variants:
            extra = max(t / n - time / calls, 0.0)  # below zero only by timing noise
            window_extra += extra * n
            for term in terms:  # one term per iteration in the window; shared equally if they coincide
                lazy[f"gan/{term}"] = lazy.get(f"gan/{term}", 0.0) + extra / len(terms) / intervals[term]
    parts[OTHER] = max((totals["step"][0] - window_extra) / steps - sum(parts.values()), 0.0)
    parts |= lazy
    total = sum(parts.values())
    return {k: v / total for k, v in parts.items()}


def op_kind(name: str) -> str:
    """The kind of an operator (a profiler event key), for the share of time per kind."""
    if not name.startswith("aten::"):
        return "Python, Lightning, profiler ranges"
    op = name.removeprefix("aten::")
    if "conv" in op:
        return "convolutions (forward, backward)"
    if op in ("mm", "bmm", "addmm", "baddbmm", "matmul", "linear", "einsum"):
        return "matrix products (mm, bmm, addmm)"
    if op in ("copy_", "_to_copy", "clone", "fill_", "zero_", "to", "contiguous"):
        return "dtype casts and copies (copy_, _to_copy, fill_)"
    if "fft" in op:
        return "FFTs (the exact S_dyn shifts of generated pairs)"
    if op.startswith(("upsample", "grid_sampler")) or "pad" in op:
        return "resampling and padding"
    if op.startswith("_foreach") or "adam" in op:
        return "optimizer (Adam)"
    return "elementwise passes and reductions"


def op_shares(events, device: bool) -> dict[str, float]:
    """Share of self time per :func:`op_kind`: the CPU's, or with ``device`` the GPU's (per aten operator)."""
    kinds: dict[str, float] = {}
    for e in events:
        if device and not e.key.startswith("aten::"):  # kernels are counted in the aten op that launched them
            continue
        t = e.self_device_time_total if device else e.self_cpu_time_total
        kinds[op_kind(e.key)] = kinds.get(op_kind(e.key), 0.0) + t
    total = sum(kinds.values()) or 1.0
    return {k: v / total for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}


def profile_steps(module: DeepLandscapeGAN, batch: int, precision: str, out: Path, active: int = 4) -> dict:
    """Profile ``active`` iterations of ``module`` after 2 warm-up ones (each lazy regulariser once, see
    ``WINDOW_INTERVALS``; it keeps those intervals); returns ``{"parts": share of an iteration per part, lazy terms
    amortised over the intervals it had, "ops": share of self time per operator kind}``; writes a Chrome trace to
    ``out``."""
    from torch.profiler import ProfilerActivity, profile, schedule

    hp = module.hparams
    on = {"r1": hp.r1_every > 0, "still": hp.still_weight > 0, "pl": hp.pl_weight > 0}
    intervals = {term: hp[f"{term}_every"] for term, enabled in on.items() if enabled}
    hp.update({f"{term}_every": WINDOW_INTERVALS[f"{term}_every"] for term in intervals})
    gpu = DEV.type == "cuda"
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    captured = {}

    def ready(p) -> None:  # at the end of the active window (after it, the profiler starts an empty one)
        captured["events"] = p.key_averages()
        out.parent.mkdir(parents=True, exist_ok=True)
        p.export_chrome_trace(str(out))

    with profile(activities=acts, schedule=schedule(wait=0, warmup=2, active=active), on_trace_ready=ready) as prof:
        fit_steps(module, batch, 2 + active, precision, ProfilerStep(prof))
    events = captured["events"]
    totals = {e.key: (e.cpu_time_total, e.count) for e in events if e.key.startswith("gan/")}
    totals["step"] = (sum(e.cpu_time_total for e in events if e.key.startswith("ProfilerStep")), active)
    parts = amortised_parts(totals, active, intervals)
    ops = op_shares([e for e in events if not e.key.startswith(("gan/", "ProfilerStep"))], gpu)
    name = out.stem
    every = ", ".join(f"{k} every {v}" for k, v in intervals.items())
    print(f"{name} ({precision}, batch {batch}): share of an iteration ({every}, amortised)")
    for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {k:58s} {100 * v:5.1f}%")
    print(f"{name}: share of operator self time ({'GPU' if gpu else 'CPU'}; {active} iterations)")
    for k, v in ops.items():
        print(f"  {k:58s} {100 * v:5.1f}%")
    print(events.table(sort_by="self_device_time_total" if gpu else "self_cpu_time_total", row_limit=15))
    print(f"trace: {out}")
    return {"parts": parts, "ops": ops}
