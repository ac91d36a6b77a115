"""Every file format of dl_lightning in one place: reading, writing, kinds and validation.

* Lightning ``.ckpt`` of each trained network, marked by ``on_save_checkpoint`` with a kind
  (:func:`mark_checkpoint`) and read back with ``weights_only=True`` (:func:`read_checkpoint`):
  ``gan``, ``encoder``, ``lighting``, ``segmenter``, ``upsampler``, ``scene_net``.
* Exported generators, the shipped scene network and saved photo inversions: ``.safetensors`` with their config
  as metadata.

Errors are one line (:class:`UserError`), never a traceback from inside torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path
from dl_lightning.models.encoder import Encoder, EncoderConfig
from dl_lightning.models.generator import Generator, GeneratorConfig
from dl_lightning.models.inversion import Inversion
from dl_lightning.models.lighting import LightingNet
from dl_lightning.models.scene_net import SceneNet, SceneNetConfig
from dl_lightning.models.segformer import SegFormer, SegFormerConfig
from dl_lightning.models.segmenter import Segmenter, SegmenterConfig
from dl_lightning.models.upsampler import Upsampler, UpsamplerConfig

#: Where ``make train`` leaves the GAN (``configs/gan/synthetic64.yaml``); ``dl-demo`` serves it when not told.
DEFAULT_GAN = "runs/synthetic64/checkpoints/last.ckpt"
#: Where ``make motion-segmenter`` (run by ``make train``) leaves the GAN's motion segmenter (stillness term, motion
#: metrics); the CLIs look here when not told.
DEFAULT_SEGMENTER = "runs/segmenter64/checkpoints/last.ckpt"
#: The photo segmenter shipped with the package (trained on the photo world, ``configs/segmenter/photo128.yaml``):
#: the moving region of a user's photo (:mod:`dl_lightning.photo.region`); ``make segmenter`` rebuilds it.
DEFAULT_PHOTO_SEGMENTER = str(Path(__file__).resolve().parent / "assets" / "segmenter_photo128.safetensors")
#: Where ``make upsampler`` leaves the x4 upsampler; photo animation uses it when present, bicubic otherwise.
DEFAULT_UPSAMPLER = "runs/upsampler256/checkpoints/last.ckpt"
#: The scene network shipped with the package (the quality metric's features, fixed so that numbers compare across
#: runs and machines); ``make scene-net`` trains it again and writes it here.
DEFAULT_SCENE_NET = str(Path(__file__).resolve().parent / "assets" / "scene_net64.safetensors")
#: The GAN shipped with the package: the long recipe's EMA generator (``configs/gan/synthetic64_long.yaml``, seed 0,
#: its last checkpoint) and its lighting network A. ``dl-animate`` and ``dl-demo`` use it when they are given no GAN
#: and ``make train`` has left none at ``DEFAULT_GAN`` (:func:`find_gan`); ``make train-long`` rebuilds both files.
SHIPPED_GAN = str(Path(__file__).resolve().parent / "assets" / "generator64_long.safetensors")
SHIPPED_LIGHTING = str(Path(__file__).resolve().parent / "assets" / "lighting64_long.safetensors")


@dataclass(frozen=True)
class Kind:
    """What a kind of ``.ckpt`` holds: ``network``, the LightningModule attribute of its network (its state-dict
    prefix); ``config``, the key of that network's configuration in ``checkpoint["dl_lightning"]``."""

    network: str
    config: str


#: Every kind of ``.ckpt`` that dl-train writes; writing (:func:`mark_checkpoint`) and reading use this table.
KINDS = {
    "gan": Kind("G_ema", "generator"),  # the EMA generator; the trained one is "G"
    "encoder": Kind("E", "encoder"),
    "lighting": Kind("A", "lighting"),
    "segmenter": Kind("net", "segmenter"),
    "scene_net": Kind("net", "scene_net"),
    "upsampler": Kind("net", "upsampler"),
}


def mark_checkpoint(checkpoint: dict, kind: str, config: dict, generator: dict | None = None) -> None:
    """In a module's ``on_save_checkpoint``: record the kind, the network's ``config`` and, for networks made for
    one generator, that generator's config (:func:`made_for`). The network must be where :data:`KINDS` says."""
    spec = KINDS[kind]
    if not any(k.startswith(spec.network + ".") for k in checkpoint.get("state_dict", {})):
        raise RuntimeError(f"a {kind} module keeps its network in .{spec.network} (checkpoints.KINDS)")
    checkpoint["dl_lightning"] = {"kind": kind, spec.config: config} | ({"generator": generator} if generator else {})


def read_checkpoint(path: str | Path, kind: str, label: str | None = None) -> dict:
    """Load a ``.ckpt`` written by a dl_lightning module whose ``on_save_checkpoint`` marked it ``kind``
    (``label``: how errors name it, default ``kind``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{label or kind} checkpoint {path} not found (train one with configs/{kind}/*.yaml)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{path}: not a readable checkpoint ({str(err).splitlines()[0][:100]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("dl_lightning", {}).get("kind") != kind:
        raise UserError(f"{path}: not a dl_lightning {label or kind} checkpoint (train one with configs/{kind}/*.yaml)")
    return ckpt


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``state`` under ``prefix.`` (e.g. ``"E"``), with the prefix removed."""
    p = prefix + "."
    return {k[len(p) :]: v for k, v in state.items() if k.startswith(p)}


def network_state(ckpt: dict, network: str | None = None) -> dict[str, torch.Tensor]:
    """The state dict of a checkpoint's network (:data:`KINDS`; ``network``: another module attribute)."""
    return strip_prefix(ckpt["state_dict"], network or KINDS[ckpt["dl_lightning"]["kind"]].network)


def network_config(ckpt: dict) -> dict:
    """The configuration of a checkpoint's network (:data:`KINDS`)."""
    return ckpt["dl_lightning"][KINDS[ckpt["dl_lightning"]["kind"]].config]


# ---------------------------------------------------------------- generator exports
def write_safetensors(tensors: dict[str, torch.Tensor], path: str | Path, kind: str, **meta: str) -> Path:
    """Write ``tensors`` with metadata ``dl_lightning=kind`` and ``meta`` (strings), atomically."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"dl_lightning": kind, **meta})
    return Path(path)


def read_safetensors(path: str | Path, kind: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of a file written by :func:`write_safetensors` with this ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{kind} file {path} not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()} if meta.get("dl_lightning") == kind else {}
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        raise UserError(f"{path}: unreadable safetensors file ({err})") from None
    if meta.get("dl_lightning") != kind:
        raise UserError(f"{path}: not a dl_lightning {kind} file")
    return meta, tensors


def save_generator(G: Generator, path: str | Path) -> Path:
    """Write G's weights and config to a ``.safetensors`` file (atomically)."""
    return write_safetensors(G.state_dict(), path, "generator", config=json.dumps(asdict(G.cfg)))


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
        meta, state = read_safetensors(path, "generator")
        return _from_state(json.loads(meta["config"]), state, str(path))
    ckpt = read_checkpoint(path, "gan", "GAN")
    return _from_state(network_config(ckpt), network_state(ckpt, None if ema else "G"), str(path))


def find_gan(ckpt: str | None) -> tuple[str, str]:
    """(path, what it is) of the GAN to animate with: ``ckpt`` when given, else the one ``make train`` left at
    ``DEFAULT_GAN``, else the shipped one (``SHIPPED_GAN``)."""
    if ckpt:
        return ckpt, "given"
    if Path(DEFAULT_GAN).is_file():
        return DEFAULT_GAN, "yours, from make train"
    if Path(SHIPPED_GAN).is_file():
        return SHIPPED_GAN, "the shipped long-recipe model; make train to use your own, or --ckpt"
    raise UserError(f"no GAN: {DEFAULT_GAN} and the shipped {SHIPPED_GAN} are missing; run `make train` or pass --ckpt")


# ---------------------------------------------------------------- networks trained by dl-train
def made_for(generator: dict | None, G: Generator) -> bool:
    """Whether a network trained for the generator configuration ``generator`` (as recorded in its checkpoint) fits
    G. Options added to GeneratorConfig since it was written count at their defaults (which reproduce the older
    generator)."""
    try:
        return GeneratorConfig(**generator) == G.cfg
    except (TypeError, ValueError):  # written by a newer version, or not a generator configuration
        return False


def load_encoder(path: str | Path, G: Generator) -> Encoder:
    """Encoder from an EncoderModule checkpoint; it must match G's latent layout."""
    ckpt = read_checkpoint(path, "encoder")
    if not made_for(ckpt["dl_lightning"].get("generator"), G):
        raise UserError(f"{path}: encoder was trained for another generator configuration")
    cfg = EncoderConfig(**{**network_config(ckpt), "backbone_weights": None})
    E = Encoder(G.cfg.resolution, G.num_ws, G.cfg.w_dim, G.mapping.w_avg, cfg)
    E.load_state_dict(network_state(ckpt))
    return E.eval().requires_grad_(False)


def load_lighting(path: str | Path, G: Generator) -> LightingNet:
    """Lighting network A from a LightingNetModule checkpoint or its ``.safetensors`` export (:func:`export_gan`)."""
    if Path(path).suffix == ".safetensors":
        meta, state = read_safetensors(path, "lighting")
        config, generator = json.loads(meta["config"]), json.loads(meta["generator"])
    else:
        ckpt = read_checkpoint(path, "lighting")
        config, state, generator = network_config(ckpt), network_state(ckpt), ckpt["dl_lightning"].get("generator")
    if not made_for(generator, G):
        raise UserError(f"{path}: lighting network was trained for another generator configuration")
    A = LightingNet(G.cfg.w_dim, G.cfg.z_st_dim, G.cfg.z_dyn_dim, **config)
    A.load_state_dict(state)
    return A.eval().requires_grad_(False)


def export_gan(ckpt: str | Path, lighting: str | Path, path: str | Path = SHIPPED_GAN) -> Path:
    """A GAN checkpoint's EMA generator and its lighting network A (a ``.ckpt`` trained for it) written as the
    shipped pair (``path`` and ``SHIPPED_LIGHTING`` beside it; ``make train-long``)."""
    G = load_generator(ckpt)
    A = load_lighting(lighting, G)
    out = save_generator(G, path)
    config = {"hidden": A.hidden, "layers": A.layers}
    write_safetensors(A.state_dict(), Path(out).with_name(Path(SHIPPED_LIGHTING).name), "lighting",
                      config=json.dumps(config), generator=json.dumps(asdict(G.cfg)))  # fmt: skip
    print(f"exported the generator of {ckpt} and its lighting network to {out.parent}")
    return out


#: The weights files a Hugging Face model folder may hold, in the order they are looked for.
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def segformer_files(path: str | Path) -> tuple[Path, Path] | None:
    """(config.json, weights) when ``path`` is a Hugging Face SegFormer: a folder holding ``config.json`` and one of
    :data:`HF_WEIGHTS`, or a weights file with ``config.json`` beside it; None for anything else."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    config = folder / "config.json"
    if path.suffix == ".ckpt" or not config.is_file():
        return None
    try:
        if json.loads(config.read_text()).get("model_type") != "segformer":
            return None
    except (OSError, ValueError, AttributeError):
        return None
    if path.is_file():
        return config, path
    found = [folder / n for n in HF_WEIGHTS if (folder / n).is_file()]
    if not found:
        raise UserError(f"{folder}: a SegFormer config.json without weights (put {' or '.join(HF_WEIGHTS)} beside it)")
    return config, found[0]


def load_segformer(config_path: Path, weights: Path) -> SegFormer:
    """A Hugging Face ``SegformerForSemanticSegmentation`` checkpoint (``config.json`` and its weights) as a photo
    segmenter, in eval mode; the short side it segments at is read from ``preprocessor_config.json`` when present."""
    raw = json.loads(config_path.read_text())
    fields = {f: raw[f] for f in SegFormerConfig.__dataclass_fields__ if f in raw}
    processor = config_path.with_name("preprocessor_config.json")
    if processor.is_file():
        size = json.loads(processor.read_text()).get("size")
        sides = list(size.values()) if isinstance(size, dict) else [size]
        if sides and all(isinstance(s, int) for s in sides):
            fields["resolution"] = min(sides)
    try:
        net = SegFormer(SegFormerConfig(**fields))
    except ValueError as err:
        raise UserError(f"{config_path}: {err}") from None
    try:
        if weights.suffix == ".safetensors":
            state = load_file(str(weights))
        else:
            state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{weights}: not a readable weights file ({str(err).splitlines()[0][:100]})") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    own = net.state_dict()
    missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
    shapes = [k for k, v in own.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        first = (missing or unexpected or shapes)[0]
        raise UserError(f"{weights}: not the SegFormer its config.json describes ({len(missing)} missing, "
                        f"{len(unexpected)} unexpected, {len(shapes)} misshaped tensors; first: {first})")  # fmt: skip
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)


def load_photo_segmenter(path: str | Path) -> Segmenter | SegFormer:
    """The segmenter of a photo's moving region: a Hugging Face SegFormer (:func:`segformer_files`), else
    :func:`load_segmenter`'s."""
    hf = segformer_files(path)
    return load_segformer(*hf) if hf else load_segmenter(path)


def load_segmenter(path: str | Path) -> Segmenter:
    """The segmenter of a ``.safetensors`` export (:func:`export_segmenter`) or a SegmenterModule ``.ckpt``, in eval
    mode."""
    if segformer_files(path):
        raise UserError(f"{path} is a SegFormer, which segments photos only (dl-animate / dl-demo --segmenter); the "
                        "GAN's motion terms need a segmenter of configs/segmenter/synthetic64.yaml")  # fmt: skip
    if Path(path).suffix == ".safetensors":
        meta, state = read_safetensors(path, "segmenter")
        config = json.loads(meta["config"])
    else:
        ckpt = read_checkpoint(path, "segmenter")
        config, state = network_config(ckpt), network_state(ckpt)
    net = Segmenter(SegmenterConfig(**config))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)


def export_segmenter(ckpts: str | Path | list[str | Path], path: str | Path = DEFAULT_PHOTO_SEGMENTER) -> Path:
    """SegmenterModule checkpoints' network as a ``.safetensors`` file with its config (``make segmenter``); with
    several checkpoints of one run, the mean of their weights (and of their normalisation statistics)."""
    nets = [load_segmenter(c) for c in (ckpts if isinstance(ckpts, list) else [ckpts])]
    states = [n.state_dict() for n in nets]
    mean = {k: sum(s[k].double() for s in states).div(len(states)).to(v.dtype) if v.is_floating_point() else v
            for k, v in states[-1].items()}  # fmt: skip
    out = write_safetensors(mean, path, "segmenter", config=json.dumps(asdict(nets[-1].cfg)))
    print(f"exported the segmenter ({len(nets)} checkpoint(s) averaged) to {out}")
    return out


def load_upsampler(path: str | Path) -> Upsampler:
    """The upsampler of an UpsamplerModule checkpoint, in eval mode."""
    ckpt = read_checkpoint(path, "upsampler")
    net = Upsampler(UpsamplerConfig(**network_config(ckpt)))
    net.load_state_dict(network_state(ckpt))
    return net.eval().requires_grad_(False)


def save_scene_net(net: SceneNet, path: str | Path) -> Path:
    """Write the scene network's weights and config to a ``.safetensors`` file (atomically)."""
    return write_safetensors(net.state_dict(), path, "scene_net", config=json.dumps(asdict(net.cfg)))


def export_scene_net(ckpt: str | Path, path: str | Path = DEFAULT_SCENE_NET) -> Path:
    """A SceneNetModule checkpoint's network, written as the shipped ``.safetensors`` (``make scene-net``)."""
    out = save_scene_net(load_scene_net(ckpt), path)
    print(f"exported the scene network to {out}")
    return out


def load_scene_net(path: str | Path | None = None) -> SceneNet:
    """The scene network of a ``.safetensors`` export (default: the shipped one) or a SceneNetModule ``.ckpt``."""
    path = Path(path or DEFAULT_SCENE_NET)
    if path.suffix == ".safetensors":
        meta, state = read_safetensors(path, "scene_net")
        config = json.loads(meta["config"])
    else:
        ckpt = read_checkpoint(path, "scene_net", "scene network")
        config, state = network_config(ckpt), network_state(ckpt)
    net = SceneNet(SceneNetConfig(**config))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)


# ---------------------------------------------------------------- photo inversions
def save_inversion(inv: Inversion, path: str | Path) -> Path:
    """Write latents, tuned weights, config, photo and metrics to one safetensors file (atomically)."""
    tensors = {"ws": inv.ws, "photo": inv.photo}
    tensors.update({f"noise_st.{i}": n for i, n in enumerate(inv.noise_st)})
    tensors.update({f"noise_dyn.{i}": n for i, n in enumerate(inv.noise_dyn)})
    tensors.update({f"G.{k}": v for k, v in inv.G.state_dict().items()})
    meta = {"generator": json.dumps(asdict(inv.G.cfg)), "metrics": json.dumps(inv.metrics)}
    return write_safetensors(tensors, path, "inversion", **meta)


def load_inversion(path: str | Path) -> Inversion:
    """Read a file written by :func:`save_inversion`."""
    meta, t = read_safetensors(path, "inversion")
    G = Generator(GeneratorConfig(**json.loads(meta["generator"])))
    G.load_state_dict(strip_prefix(t, "G"))
    n = len(G.layers)
    return Inversion(
        t["ws"],
        [t[f"noise_st.{i}"] for i in range(n)],
        [t[f"noise_dyn.{i}"] for i in range(n)],
        G.eval().requires_grad_(False),
        t["photo"],
        json.loads(meta.get("metrics", "{}")),
    )
