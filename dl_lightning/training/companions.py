"""The networks that animating a photo needs beside the GAN, trained on the spot when missing.

* ``segmenter``: the photo segmenter shipped in the package (``DEFAULT_PHOTO_SEGMENTER``); without that file,
  the GAN's motion segmenter (``configs/segmenter/synthetic64.yaml``, kept at ``DEFAULT_SEGMENTER``, trained first
  by ``make train``). Neither depends on the GAN.
* ``upsampler`` (``configs/upsampler``, on 256 px synthetic renders made on the spot if missing):
  kept at ``DEFAULT_UPSAMPLER``; does not depend on the GAN.
* ``encoder`` and ``lighting`` (network A) (``configs/encoder``, ``configs/lighting``): kept in
  ``companions/`` beside the GAN checkpoint, and trained again when older than it; the shipped GAN
  (``SHIPPED_GAN``) comes with its lighting network (``SHIPPED_LIGHTING``). The encoder
  reads real stills from the dataset the GAN was trained on (recorded in its checkpoint).

Each is trained with its own config through the same LightningCLI as ``dl-train`` (every setting
defined once), with a progress bar, and written atomically.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dl_lightning.checkpoints import (
    DEFAULT_PHOTO_SEGMENTER,
    DEFAULT_SEGMENTER,
    DEFAULT_UPSAMPLER,
    SHIPPED_GAN,
    SHIPPED_LIGHTING,
    export_gan,
    load_encoder,
    load_generator,
    load_lighting,
    load_photo_segmenter,
    load_upsampler,
    made_for,
    read_checkpoint,
)
from dl_lightning.errors import UserError, cli_entry
from dl_lightning.metrics.reconstruction import PerceptualConfig
from dl_lightning.models.generator import Generator
from dl_lightning.photo.job import PhotoNetworks

REPO = Path(__file__).resolve().parents[2]

#: What ``dl-data synthetic`` renders for the upsampler when its data is missing (256 px stills + a few videos).
UPSAMPLER_DATA = dict(resolution=256, num_static=384, num_videos=16, frames=2, fmt="png")


@dataclass(frozen=True)
class Companion:
    """config: training config, relative to the repository. follows_gan: trained against one GAN."""

    config: str
    follows_gan: bool


COMPANIONS = {
    "segmenter": Companion("configs/segmenter/synthetic64.yaml", follows_gan=False),
    "upsampler": Companion("configs/upsampler/synthetic256.yaml", follows_gan=False),
    "encoder": Companion("configs/encoder/synthetic64.yaml", follows_gan=True),
    "lighting": Companion("configs/lighting/synthetic64.yaml", follows_gan=True),
}


def companion_path(name: str, gan_ckpt: str | Path) -> Path:
    """Where companion ``name`` of the GAN ``gan_ckpt`` is kept."""
    if name == "segmenter":
        return Path(DEFAULT_SEGMENTER)
    if name == "upsampler":
        return Path(DEFAULT_UPSAMPLER)
    return Path(gan_ckpt).parent / "companions" / f"{name}.ckpt"


def _gan_data_root(gan_ckpt: Path) -> str | None:
    """The static-image folder the GAN was trained on (None for an exported generator)."""
    if gan_ckpt.suffix != ".ckpt":
        return None
    return (read_checkpoint(gan_ckpt, "gan", "GAN").get("datamodule_hyper_parameters") or {}).get("static_root")


def _config_data_root(config: Path) -> str:
    import yaml

    return yaml.safe_load(config.read_text())["data"]["init_args"]["root"]


def _train_args(name: str, gan_ckpt: Path, config: Path) -> list[str]:
    """Command-line overrides of companion ``name``'s config for the GAN ``gan_ckpt``; builds missing data."""
    if name in ("encoder", "lighting"):
        args = [f"--model.init_args.generator_ckpt={gan_ckpt}"]
        if name == "encoder":
            args.append(f"--data.init_args.resolution={load_generator(gan_ckpt).cfg.resolution}")
            root = _gan_data_root(gan_ckpt)
            args += [f"--data.init_args.static_root={root}"] if root else []
        return args
    root = Path(_config_data_root(config))
    if (root / "manifest.json").is_file():
        return []
    if name == "segmenter":
        raise UserError(f"the segmenter trains on the synthetic masks in {root}, which is missing: run `make data`")
    from dl_lightning.data.synthetic.dataset import build_synthetic

    print(f"upsampler: rendering its training data to {root} ({UPSAMPLER_DATA})")
    build_synthetic(root, **UPSAMPLER_DATA)
    return []


def is_current(name: str, gan_ckpt: str | Path) -> bool:
    """Whether companion ``name`` exists and, if it follows the GAN, is newer than ``gan_ckpt`` and was trained
    for its generator configuration (a GAN checkpoint swapped for an older one of another shape)."""
    path = companion_path(name, gan_ckpt)
    if not path.is_file():
        return False
    if not COMPANIONS[name].follows_gan:
        return True
    if path.stat().st_mtime < Path(gan_ckpt).stat().st_mtime:
        return False
    try:
        return made_for(read_checkpoint(path, name)["dl_lightning"].get("generator"), load_generator(gan_ckpt))
    except UserError:  # unreadable: train it again over the broken file
        return False


def ensure_companion(name: str, gan_ckpt: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Path:
    """Path of companion ``name`` of ``gan_ckpt``, trained first (config + ``overrides``) if missing or stale."""
    from dl_lightning.training.lightning_cli import fit_to  # Lightning's CLI loads in seconds: only when training

    gan_ckpt, path = Path(gan_ckpt), companion_path(name, gan_ckpt)
    if is_current(name, gan_ckpt):
        return path
    config = REPO / COMPANIONS[name].config
    if not config.is_file():
        raise UserError(f"{config} not found: run from a clone of dl_lightning, or pass --{name} PATH")
    why = "older than the GAN checkpoint or not made for it" if path.is_file() else "missing"
    print(f"{name}: {why}; training it now ({COMPANIONS[name].config}), kept at {path} for the next photo")
    t0 = time.perf_counter()
    fit_to(config, _train_args(name, gan_ckpt, config) + list(overrides), path)
    print(f"{name}: trained in {time.perf_counter() - t0:.0f} s")
    return path


def _same_file(a: str | Path, b: str | Path) -> bool:
    return Path(a).is_file() and Path(b).is_file() and Path(a).samefile(b)


def ship_gan(gan_ckpt: str | Path, path: str | Path = SHIPPED_GAN) -> Path:
    """The GAN's EMA generator and its lighting network (trained first if missing or stale) written as the shipped
    pair (:func:`~dl_lightning.checkpoints.export_gan`; ``make train-long``)."""
    return export_gan(gan_ckpt, ensure_companion("lighting", gan_ckpt), path)


@dataclass
class PhotoNetworkPaths:
    """Where the photo networks come from (``dl-animate --image`` and ``dl-demo`` flags of the same names);
    None: the default (a companion of ``ckpt`` or the default path, trained first if ``train`` and needed),
    "none": go without."""

    ckpt: str
    encoder: str | None = None
    lighting: str | None = None
    segmenter: str | None = None
    upsampler: str | None = None
    train: bool = True


def photo_network_paths(paths: PhotoNetworkPaths, need: dict[str, bool]) -> dict[str, str | None]:
    """The checkpoint of each photo network, or None to go without: ``encoder`` and those ``need`` names
    (``segmenter``, ``lighting``, ``upsampler``: True when the job uses it).

    A needed one not given is the shipped one (the segmenter; the lighting network of the shipped GAN), else trained
    first (``paths.train``), else taken if current, else left out with a note.
    The encoder is never trained on the spot: latent optimisation from the mean latent ends within 0.4 dB of the
    encoder's start on real photos (docs/photos.md, "Does the encoder earn its place?"); one current beside the GAN is
    used."""
    out: dict[str, str | None] = {}
    for name in ("encoder", "segmenter", "lighting", "upsampler"):
        given = getattr(paths, name)
        if name != "encoder" and not need.get(name):
            out[name] = None
        elif given is not None:
            out[name] = None if given.lower() == "none" else given
        elif name == "segmenter" and Path(DEFAULT_PHOTO_SEGMENTER).is_file():
            out[name] = DEFAULT_PHOTO_SEGMENTER  # shipped: nothing to train
        elif name == "lighting" and _same_file(paths.ckpt, SHIPPED_GAN) and Path(SHIPPED_LIGHTING).is_file():
            out[name] = SHIPPED_LIGHTING
        elif name != "encoder" and paths.train:
            out[name] = str(ensure_companion(name, paths.ckpt))
        elif is_current(name, paths.ckpt):
            out[name] = str(companion_path(name, paths.ckpt))
        else:
            out[name] = None
            if name != "encoder":
                print(f"note: no {name} ({companion_path(name, paths.ckpt)} missing or stale); going without it")
    return out


def photo_networks(
    paths: PhotoNetworkPaths,
    need: dict[str, bool],
    perceptual: PerceptualConfig,
    device: str = "cpu",
    G: Generator | None = None,
) -> PhotoNetworks:
    """Load the GAN (unless ``G``, already loaded from ``paths.ckpt``, is given) and the photo networks
    :func:`photo_network_paths` resolves (training what is missing)."""
    G = G if G is not None else load_generator(paths.ckpt)
    found = photo_network_paths(paths, need)
    return PhotoNetworks(
        G,
        encoder=load_encoder(found["encoder"], G) if found["encoder"] else None,
        lighting=load_lighting(found["lighting"], G) if found["lighting"] else None,
        segmenter=load_photo_segmenter(found["segmenter"]) if found["segmenter"] else None,
        upsampler=load_upsampler(found["upsampler"]).to(device) if found["upsampler"] else None,
        perceptual=perceptual.build(),
        sources={"generator": str(paths.ckpt), **found},
    )


@cli_entry
def main(argv: list[str] | None = None) -> None:
    """``python -m dl_lightning.training.companions NAME [GAN_CKPT]``: train companion NAME if missing or stale."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMPANIONS:
        raise UserError(f"usage: python -m dl_lightning.training.companions {{{','.join(COMPANIONS)}}} [GAN_CKPT]")
    if COMPANIONS[argv[0]].follows_gan and len(argv) < 2:
        raise UserError(f"the {argv[0]} is trained for one GAN: give its checkpoint after the name")
    print(ensure_companion(argv[0], argv[1] if len(argv) > 1 else "none"))


if __name__ == "__main__":
    main()
