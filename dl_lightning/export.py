"""Light generator export (safetensors + config) and loading from exports or Lightning checkpoints."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from dl_lightning.errors import UserError
from dl_lightning.media import atomic_path
from dl_lightning.models.generator import Generator, GeneratorConfig


def save_generator(G: Generator, path: str | Path) -> Path:
    """Write G's weights and config to a ``.safetensors`` file (atomically)."""
    state = {k: v.detach().contiguous().cpu() for k, v in G.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"dl_lightning": "generator", "config": json.dumps(asdict(G.cfg))})
    return Path(path)


def _from_state(config: dict, state: dict[str, torch.Tensor], source: str) -> Generator:
    try:
        G = Generator(GeneratorConfig(**config))
        G.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as err:
        raise UserError(f"{source}: generator weights do not match its config ({str(err).splitlines()[0]})") from None
    return G.eval().requires_grad_(False)


def load_generator(path: str | Path, ema: bool = True) -> Generator:
    """Load a generator from an exported ``.safetensors`` or a GAN Lightning ``.ckpt``.

    With a checkpoint, ``ema=True`` returns the EMA generator (the one to sample from).
    Raises :class:`UserError` for a missing file or a checkpoint of another model.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found (train one with `make train`)")
    if path.suffix == ".safetensors":
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("dl_lightning") != "generator":
                    raise UserError(f"{path}: not a dl_lightning generator export")
                state = {k: f.get_tensor(k) for k in f.keys()}
        except UserError:
            raise
        except Exception as err:  # safetensors raises its own error types for corrupt headers
            raise UserError(f"{path}: unreadable safetensors file ({err})") from None
        return _from_state(json.loads(meta["config"]), state, str(path))
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{path}: not a readable PyTorch checkpoint ({str(err).splitlines()[0][:120]})") from None
    info = ckpt.get("dl_lightning") if isinstance(ckpt, dict) else None
    if not info or "generator" not in info:
        raise UserError(f"{path}: not a dl_lightning GAN checkpoint (no generator inside); pass a checkpoint from `dl-train fit`")
    prefix = "G_ema." if ema else "G."
    state = {k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    return _from_state(info["generator"], state, str(path))
