"""What this machine can do fast, decided at run time (never from a config comment).

``auto_precision`` picks the training precision: bf16-mixed where the hardware has fast bf16
matrix units (a CUDA GPU with bf16 support, or a CPU with Intel AMX), fp32 otherwise. On CPUs
without AMX, bf16 convolutions are emulated and slower than fp32 (``make bench`` shows both).
fp16 (``16-mixed``) is never chosen automatically: it needs loss scaling and is only used when asked.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch


def cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in Linux's /proc/cpuinfo (``flags``, ``model name``), None elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.split(":", 1)[0].strip() == field:
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``flags`` on x86, ``Features`` on ARM; empty elsewhere)."""
    return set((cpuinfo("flags") or cpuinfo("Features") or "").split())


def cpu_name() -> str:
    """The CPU's model name (or what ``platform`` knows)."""
    return cpuinfo("model name") or platform.processor() or platform.machine()


def has_amx() -> bool:
    """Whether the CPU has AMX tiles with bf16 (Sapphire Rapids and later)."""
    return {"amx_bf16", "amx_tile"} <= cpu_flags()


def default_device() -> str:
    """The torch device commands run on unless told: ``cuda`` where a GPU is visible, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_precision(accelerator: str = "auto") -> tuple[str, str]:
    """(Lightning precision, reason) for ``accelerator`` (``auto``, ``cpu``, ``gpu``/``cuda``)."""
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        if torch.cuda.is_bf16_supported():
            return "bf16-mixed", f"GPU {name} supports bf16"
        return "32-true", f"GPU {name} has no bf16 (ask for 16-mixed explicitly)"
    if has_amx():
        return "bf16-mixed", "CPU has AMX (bf16 matrix tiles)"
    return "32-true", "CPU has no AMX: bf16 would be emulated and slower than fp32"
