"""Real landscape photographs for the photo benchmark, from Debian's wallpaper packages (``make photos``).

The packages are downloaded with ``apt-get download`` (no desktop is installed) and unpacked with ``dpkg-deb -x``
into a temporary folder; the chosen photos and each package's licence file (``copyright``: GPL-2+) are copied to
the output folder, with ``photos.json`` naming each photo's package, path and licence. Written atomically: a
folder with ``photos.json`` is complete.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path

#: name -> (Debian package, path inside it). Chosen for their sky or water: a storm over fields, a dusk lake with
#: reeds, dune grass against the sea, a pier in fog, a dock on a lake, boats on a lake at sunset.
PHOTOS = {
    "storm": ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Storm.jpg"),
    "summer_1am": ("plasma-workspace-wallpapers", "usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg"),
    "dune": ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Dune.jpg"),
    "cold_ripple": ("plasma-workspace-wallpapers", "usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg"),
    "by_the_water": ("plasma-workspace-wallpapers", "usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg"),
    "evening_glow": ("plasma-workspace-wallpapers", "usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg"),
}


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError(f"`{cmd[0]}` not found: the photos come from Debian packages (apt-get, dpkg-deb)") from None
    except subprocess.CalledProcessError as err:
        raise subprocess.CalledProcessError(err.returncode, cmd, err.stdout, err.stderr) from None


def fetch_photos(out: str | Path) -> Path:
    """Download, unpack and copy :data:`PHOTOS` with their licence files to ``out``; nothing to do if it is
    complete. Returns ``out``."""
    out = Path(out)
    if (out / "photos.json").is_file():
        return out
    packages = sorted({p for p, _ in PHOTOS.values()})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            _run(["apt-get", "download", *packages], tmp)
        except subprocess.CalledProcessError:  # a fresh machine has no package lists yet
            try:
                _run(["apt-get", "update", "-q"], tmp)
                _run(["apt-get", "download", *packages], tmp)
            except subprocess.CalledProcessError as err:
                last = (err.stderr or "").strip().splitlines()[-1:] or ["no message"]
                raise UserError(f"apt-get could not download {' '.join(packages)}: {last[0]}") from None
        for deb in tmp.glob("*.deb"):
            _run(["dpkg-deb", "-x", deb.name, "root"], tmp)
        out.mkdir(parents=True, exist_ok=True)
        index = {}
        for name, (package, path) in PHOTOS.items():
            src = tmp / "root" / path
            if not src.is_file():
                raise UserError(f"{package} has no {path} any more: update data_prep/wallpapers.PHOTOS")
            dst = out / f"{name}{src.suffix.lower()}"
            shutil.copyfile(src, dst)
            index[name] = {"file": dst.name, "package": package, "path": path, "licence": f"{package}.copyright"}
        for package in packages:
            shutil.copyfile(tmp / "root" / "usr/share/doc" / package / "copyright", out / f"{package}.copyright")
    with atomic_path(out / "photos.json") as t:
        t.write_text(json.dumps(index, indent=2))
    return out
