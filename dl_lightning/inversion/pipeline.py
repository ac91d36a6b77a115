"""Photo -> latents -> time-lapse: the three inversion stages and their saved result.

1. encoder: W+ from the encoder (or the mean latent without one), zero noise;
2. latent optimisation (:class:`LatentOptimModule`): W+, S_st, S_dyn;
3. fine-tuning (:class:`FinetuneModule`): a copy of G, latents frozen.

The result (:class:`Inversion`) is saved as one safetensors file (latents + tuned weights +
config), so a photo can be re-animated with other motion or daytime without inverting again.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import pytorch_lightning as pl
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from dl_lightning.animation import Motion, render_frames, zdyn_path
from dl_lightning.checkpoints import read_checkpoint, submodule_state
from dl_lightning.data.images import center_crop_resize, open_rgb, pil_to_tensor
from dl_lightning.errors import UserError
from dl_lightning.inversion.composite import Geometry, photo_square
from dl_lightning.inversion.finetune import FinetuneModule
from dl_lightning.inversion.latent_optim import LatentOptimModule, repeat_target
from dl_lightning.inversion.losses import recon_metrics, zero_noise
from dl_lightning.media import atomic_path
from dl_lightning.models.encoder import Encoder, EncoderConfig
from dl_lightning.models.generator import Generator, GeneratorConfig
from dl_lightning.models.lighting import LightingNet, read_zdyn, relight


@dataclass
class Inversion:
    """An inverted photo: W+ (1, num_ws, w_dim), per-layer noise maps, the tuned generator, metrics."""

    ws: torch.Tensor
    noise_st: list[torch.Tensor]
    noise_dyn: list[torch.Tensor]
    G: Generator
    photo: torch.Tensor
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    stages: dict[str, torch.Tensor] = field(default_factory=dict)  # reconstruction after each stage

    def to(self, device) -> "Inversion":
        """Move latents, photo and generator to ``device`` (in place); returns self."""
        self.ws, self.photo = self.ws.to(device), self.photo.to(device)
        self.noise_st = [n.to(device) for n in self.noise_st]
        self.noise_dyn = [n.to(device) for n in self.noise_dyn]
        self.G.to(device)
        return self

    def render(self) -> torch.Tensor:
        with torch.no_grad():
            return self.G.synthesis(self.ws, self.noise_st, self.noise_dyn)


def open_photo(path: str | Path, fit: str = "crop") -> tuple[Image.Image, Geometry]:
    """Any photo -> the square the generator sees (centre-crop or pad, see :func:`photo_square`) and its geometry."""
    img = open_rgb(path)
    if min(img.size) < 8:
        raise UserError(f"{path}: {img.width}x{img.height} px is too small to invert (need at least 8 px)")
    return photo_square(img, fit)


def prepare_photo(path: str | Path, resolution: int, fit: str = "crop") -> torch.Tensor:
    """Any photo -> (1, 3, R, R) in [-1, 1]: centre-crop, or pad (edge colour) to square, then resize."""
    square, _ = open_photo(path, fit)
    return pil_to_tensor(center_crop_resize(square, resolution))[None]


def load_encoder(path: str | Path, G: Generator) -> Encoder:
    """Encoder from an EncoderModule checkpoint; it must match G's latent layout."""
    ckpt = read_checkpoint(path, "encoder")
    if ckpt["dl_lightning"]["generator"] != asdict(G.cfg):
        raise UserError(f"{path}: encoder was trained for another generator configuration")
    cfg = EncoderConfig(**{**ckpt["dl_lightning"]["encoder"], "backbone_weights": None})
    E = Encoder(G.cfg.resolution, G.num_ws, G.cfg.w_dim, G.mapping.w_avg, cfg)
    E.load_state_dict(submodule_state(ckpt, "E"))
    return E.eval().requires_grad_(False)


def load_lighting(path: str | Path, G: Generator) -> LightingNet:
    """Lighting network A from a LightingModule checkpoint."""
    ckpt = read_checkpoint(path, "lighting")
    if ckpt["dl_lightning"]["generator"] != asdict(G.cfg):
        raise UserError(f"{path}: lighting network was trained for another generator configuration")
    A = LightingNet(G.cfg.w_dim, G.cfg.z_st_dim, G.cfg.z_dyn_dim, **ckpt["dl_lightning"]["lighting"])
    A.load_state_dict(submodule_state(ckpt, "A"))
    return A.eval().requires_grad_(False)


def _fit(module: pl.LightningModule, photo: torch.Tensor, steps: int, progress: bool) -> None:
    trainer = pl.Trainer(accelerator="auto", devices=1, max_steps=steps, logger=False, enable_checkpointing=False,
                         enable_progress_bar=progress, enable_model_summary=False)
    trainer.fit(module, repeat_target(photo, steps))


def invert_photo(photo: torch.Tensor, G: Generator, encoder: Encoder | None = None, A: LightingNet | None = None,
                 optim_steps: int = 200, finetune_steps: int = 100, lpips_model=None, lpips_weight: float = 1.0,
                 progress: bool = True, dynamic_mask: torch.Tensor | None = None, **stage_kwargs) -> Inversion:
    """Run the three stages on ``photo`` (1,3,R,R); records MSE/PSNR/LPIPS and seconds after each.

    ``dynamic_mask`` (1,1,R,R) in [0, 1]: fit S_dyn only where the photo moves, S_st elsewhere.
    ``stage_kwargs`` may hold ``optim={...}`` / ``finetune={...}`` extra module arguments.
    """
    metrics, stages = {}, {}
    t0 = time.perf_counter()
    with torch.no_grad():
        ws0 = encoder(photo) if encoder is not None else G.mapping.w_avg[None, None].expand(1, G.num_ws, -1).clone()
        zeros = zero_noise(G, 1, photo.device)
        stages["encoder"] = G.synthesis(ws0, zeros, zeros)
    metrics["encoder"] = {**recon_metrics(stages["encoder"], photo, lpips_model), "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    opt = LatentOptimModule(G, ws0, lpips_model, A, lpips_weight=lpips_weight, dynamic_mask=dynamic_mask,
                            **stage_kwargs.get("optim", {}))
    if optim_steps > 0:
        _fit(opt, photo, optim_steps, progress)
    ws = opt.ws.detach()
    noise_st = [n.detach() for n in opt.noise_st]
    noise_dyn = [n.detach() for n in opt.noise_dyn]
    stages["optimised"] = opt.render().detach()
    metrics["optimised"] = {**opt.metrics(photo), "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    ft = FinetuneModule(G, ws, noise_st, noise_dyn, lpips_model, lpips_weight=lpips_weight, **stage_kwargs.get("finetune", {}))
    if finetune_steps > 0:
        _fit(ft, photo, finetune_steps, progress)
    stages["finetuned"] = ft.render().detach()
    metrics["finetuned"] = {**ft.metrics(photo), "seconds": time.perf_counter() - t0}
    G_tuned = ft.G.eval().requires_grad_(False)
    return Inversion(ws, noise_st, noise_dyn, G_tuned, photo, metrics, stages)


def save_inversion(inv: Inversion, path: str | Path) -> Path:
    """Write latents, tuned weights, config, photo and metrics to one safetensors file (atomically)."""
    tensors = {"ws": inv.ws, "photo": inv.photo}
    tensors.update({f"noise_st.{i}": n for i, n in enumerate(inv.noise_st)})
    tensors.update({f"noise_dyn.{i}": n for i, n in enumerate(inv.noise_dyn)})
    tensors.update({f"G.{k}": v for k, v in inv.G.state_dict().items()})
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    meta = {"dl_lightning": "inversion", "generator": json.dumps(asdict(inv.G.cfg)), "metrics": json.dumps(inv.metrics)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def load_inversion(path: str | Path) -> Inversion:
    """Read a file written by :func:`save_inversion`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"inversion file {path} not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            t = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:
        raise UserError(f"{path}: unreadable inversion file ({err})") from None
    if meta.get("dl_lightning") != "inversion":
        raise UserError(f"{path}: not a dl_lightning inversion file")
    G = Generator(GeneratorConfig(**json.loads(meta["generator"])))
    G.load_state_dict({k[2:]: v for k, v in t.items() if k.startswith("G.")})
    n = len(G.layers)
    return Inversion(t["ws"], [t[f"noise_st.{i}"] for i in range(n)], [t[f"noise_dyn.{i}"] for i in range(n)],
                     G.eval().requires_grad_(False), t["photo"], json.loads(meta.get("metrics", "{}")))


def inversion_ws(inv: Inversion, frames: int, daytime: str = "fixed", A: LightingNet | None = None,
                 zdyn_end: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    """W+ of every frame (T, 1, num_ws, w_dim): the photo's own, relit along ``daytime`` if A is given.

    Relighting starts from the photo's own z_dyn read off by A and ends at ``zdyn_end`` (or a random one).
    """
    if A is None or daytime == "fixed":
        return inv.ws[None].expand(frames, -1, -1, -1)
    _, z0 = read_zdyn(A, inv.ws)
    z1 = zdyn_end.view(1, -1).to(z0) if zdyn_end is not None else torch.randn(
        1, inv.G.cfg.z_dyn_dim, generator=torch.Generator().manual_seed(seed)).to(z0)
    return torch.stack([relight(inv.G, A, inv.ws, z) for z in zdyn_path(daytime, z0, z1, frames)])


def animate_inversion(inv: Inversion, motion: Motion, frames: int, daytime: str = "fixed", A: LightingNet | None = None,
                      zdyn_end: torch.Tensor | None = None, chunk: int = 8, seed: int = 0) -> Iterator[torch.Tensor]:
    """Frames (1,3,R,R) of the inverted photo: S_dyn warped by ``motion``; relit along ``daytime`` if A is given."""
    ws = inversion_ws(inv, frames, daytime, A, zdyn_end, seed)
    return render_frames(inv.G, ws, inv.noise_st, inv.noise_dyn, motion, chunk)
