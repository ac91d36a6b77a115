"""What the demo page does, without the page: photos in, one output folder per request, one request at a time.

:class:`PhotoDemo` holds the networks and the photos uploaded so far. :meth:`PhotoDemo.upload` opens a photo and
predicts its moving region (shown in the page's mask editor as a coloured layer over the photo);
:meth:`PhotoDemo.animate` inverts the photo the first time and animates it with the page's settings, into a new
folder ``<out>/<date>-<time>-<photo>-<random>/`` (never an existing one). Animating the same photo again with
other settings, or a corrected mask, re-uses its inversion. A lock runs one request at a time: a second one
waits for the first (the page's queue does the same, this keeps any other caller honest too).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch.nn.functional as F
from PIL import Image

from dl_lightning.checkpoints import load_lighting
from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.data.photos import photo_at
from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path
from dl_lightning.metrics.reconstruction import PerceptualConfig
from dl_lightning.models.inversion import Inversion
from dl_lightning.photo.job import (
    PhotoOptions,
    PreparedPhoto,
    invert_prepared,
    open_and_segment,
    render_photo,
    save_reconstruction,
)
from dl_lightning.training.companions import PhotoNetworkPaths, photo_network_paths, photo_networks

DISPLAY_SIDE = 768  # the photo's long side on the mask editor's canvas, which has its aspect (enlarged if smaller)
UNSURE_HATCH = (255, 215, 0)  # the uncertain band's hatching on the editor's background
OVERLAY = (0, 150, 255)  # the mask layer's colour
OVERLAY_ALPHA = 0.55  # the layer's opacity where the region moves (the brush paints at this opacity too)
FULL = round(OVERLAY_ALPHA * 255)  # the layer's alpha byte where the region moves
KEEP_PHOTOS = 4  # uploaded photos (and their inversions) kept in memory, most recent first
Progress = Callable[[float, str], None]


@dataclass
class Settings:
    """What the page asks for: fields of :class:`PhotoOptions` (see there), with its defaults but the size."""

    motion: str = PhotoOptions.motion
    speed: float = PhotoOptions.speed
    direction: float | None = PhotoOptions.direction
    water_speed: float | None = PhotoOptions.water_speed
    water_direction: float | None = PhotoOptions.water_direction
    daytime: str = PhotoOptions.daytime
    loop: bool = PhotoOptions.loop
    size: int = 768  # output short side (at most the photo's): smaller than the CLI's, for a page
    frames: int = PhotoOptions.frames


@dataclass
class Upload:
    """An uploaded photo as the page shows it: the key to animate it by, the photo as the editor's canvas
    (h, w, 3) uint8 (its aspect, long side DISPLAY_SIDE; the uncertain band hatched) and the predicted moving region
    as a layer (h, w, 4) uint8."""

    key: str
    background: np.ndarray
    layer: np.ndarray
    box: tuple[int, int, int, int]  # the photo on the canvas: left, top, width, height (the whole canvas)
    size: tuple[int, int]  # the photo's own (width, height)
    uncertain: float  # share of the photo's pixels where the predicted region is uncertain (0 with a given mask)


@dataclass
class Result:
    folder: Path
    video: Path | None  # photo.mp4
    files: list[Path]  # what the page offers for download
    report: dict  # metrics.json, plus "request": when it was asked, started and finished, and reused_inversion


@dataclass
class _Photo:
    prepared: PreparedPhoto
    background: np.ndarray  # the photo on the editor's canvas (PhotoDemo.display)
    layer: np.ndarray  # the predicted moving region on the canvas (mask_layer)
    box: tuple[int, int, int, int]  # the photo on the canvas
    inversion: Inversion | None = None


def mask_layer(alpha: np.ndarray) -> np.ndarray:
    """(H, W) moving-region alpha in [0, 1] -> (H, W, 4) uint8 layer: OVERLAY at OVERLAY_ALPHA x alpha."""
    layer = np.zeros((*alpha.shape, 4), np.uint8)
    layer[..., :3] = OVERLAY
    layer[..., 3] = np.round(np.clip(alpha, 0, 1) * FULL).astype(np.uint8)
    return layer


def layer_mask(layer: np.ndarray) -> np.ndarray:
    """(H, W, 4) edited layer -> (H, W) mask in [0, 1]: painted (at the brush's opacity or more) = 1, erased = 0,
    the predicted soft edge kept where the user did not touch it."""
    return np.clip(layer[..., 3].astype(np.float32) / (FULL - 2), 0, 1)  # 2: the browser's rounding of strokes


def on_canvas(layer: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The page's layer at the editor canvas's ``shape`` (h, w, ...), whatever size the browser sent."""
    if layer.shape[:2] == tuple(shape[:2]):
        return layer
    return np.asarray(Image.fromarray(layer).resize((shape[1], shape[0]), Image.NEAREST))


def edited(given: np.ndarray, returned: np.ndarray | None) -> bool:
    """Whether the page's layer differs from the one it was given (beyond the browser's PNG round trip)."""
    if returned is None or returned.ndim != 3 or returned.shape[-1] != 4:
        return False
    returned = on_canvas(returned, given.shape)
    diff = np.abs(returned[..., 3].astype(np.int16) - given[..., 3].astype(np.int16))
    return bool((diff > 8).mean() > 1e-4)


class PhotoDemo:
    """The demo's state: networks, uploaded photos, output root. Methods raise :class:`UserError` for bad input.

    Args:
        paths: the GAN checkpoint and the photo networks (as ``dl-animate --image``); the segmenter is trained
            first if missing (``paths.train``), the lighting network A on the first request with a moving daytime.
        out: folder of the request folders.
        options: the base options (inversion steps, sky, chunk, device); each request sets its own motion.
        perceptual: the LPIPS term of the inversion.
    """

    def __init__(self, paths: PhotoNetworkPaths, out: str | Path, options: PhotoOptions, perceptual: PerceptualConfig):
        self.paths, self.out, self.options = paths, Path(out), replace(options, fit="pad")  # the whole photo
        self.networks = photo_networks(paths, {"segmenter": True}, perceptual, options.device)
        self.photos: OrderedDict[str, _Photo] = OrderedDict()
        self.lock = threading.Lock()

    def upload(self, path: str | Path) -> Upload:
        """Open the photo at ``path`` (any size, aspect or mode) and predict what moves."""
        data = Path(path).read_bytes() if Path(path).is_file() else b""
        key = hashlib.sha256(data).hexdigest()[:16]
        with self.lock:
            if key not in self.photos:
                prepared = open_and_segment(path, self.networks, self.options)
                self.photos[key] = _Photo(prepared, *self.display(prepared))
                while len(self.photos) > KEEP_PHOTOS:
                    self.photos.popitem(last=False)
            self.photos.move_to_end(key)
            photo = self.photos[key]
        region = photo.prepared.region
        unsure = region.report()["uncertain_share"] if region is not None else 0.0
        return Upload(key, photo.background, photo.layer, photo.box, photo.prepared.geometry.source, unsure)

    def display(self, prepared: PreparedPhoto) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
        """The photo as the editor's canvas (its aspect, long side DISPLAY_SIDE, the uncertain band hatched), its
        predicted moving region as the layer, and the photo's box on the canvas (all of it)."""
        w, h = prepared.geometry.source
        dw, dh = (
            (DISPLAY_SIDE, max(1, round(DISPLAY_SIDE * h / w)))
            if w >= h
            else (max(1, round(DISPLAY_SIDE * w / h)), DISPLAY_SIDE)
        )
        full = photo_at(prepared.square, prepared.geometry, min(w, h))
        photo = F.interpolate(full, size=(dh, dw), mode="bicubic" if dw > w else "area", align_corners=None)
        background = tensor_to_uint8(photo.clamp(-1, 1)[0])
        alpha = F.interpolate(prepared.alpha(min(w, h)), size=(dh, dw), mode="bilinear")[0, 0].numpy()
        if prepared.region is not None:
            unsure = F.interpolate(prepared.region.uncertain.float(), size=(dh, dw))[0, 0].numpy() > 0.5
            hatch = (np.add.outer(np.arange(dh), np.arange(dw)) // 6) % 2 == 0
            background[unsure & hatch] = (0.5 * background[unsure & hatch] + 0.5 * np.array(UNSURE_HATCH)).astype(
                np.uint8
            )
        return background, mask_layer(alpha), (0, 0, dw, dh)

    def animate(
        self, key: str, layer: np.ndarray | None, settings: Settings, progress: Progress | None = None
    ) -> Result:
        """Animate the uploaded photo ``key`` with ``settings``; ``layer``: the mask editor's layer (None or
        unchanged: the predicted region)."""
        progress = progress or (lambda fraction, what: None)
        if key not in self.photos:
            raise UserError("upload a photo first (or again: the page keeps the last few photos only)")
        options = replace(self.options, **vars(settings))  # bad settings fail here, before any waiting
        asked = time.time()
        progress(0.0, "waiting for the request before this one")
        with self.lock:
            started = time.time()
            photo = self.photos[key]
            stem = Path(photo.prepared.image).stem[:40] or "photo"
            folder = Path(tempfile.mkdtemp(prefix=f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-", dir=self.mkroot()))
            reused = photo.inversion is not None
            try:
                written, report = self.render(photo, layer, options, folder, progress)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)  # no half-made request folder left behind
                raise
            finished = time.time()
        report["request"] = {
            "asked": asked, "started": started, "finished": finished,  # seconds since the epoch
            "queued_s": started - asked, "seconds": finished - started, "reused_inversion": reused,
        }  # fmt: skip
        video = next((p for p in written if p.suffix == ".mp4"), None)
        files = [p for p in written if p.suffix in (".mp4", ".gif")]
        return Result(folder, video, files, report)

    def render(self, photo: _Photo, layer, options: PhotoOptions, folder: Path, progress: Progress):
        """The request's work inside ``folder``: the edited mask, A if needed, the inversion if none, the frames."""
        mask = None
        if edited(photo.layer, layer):
            mask = self.write_mask(layer, photo.box, photo.prepared.geometry.source, folder / "mask_edited.png")
        if options.daytime != "fixed" and self.networks.lighting is None:
            progress(0.05, "loading the lighting network A (trained first if missing, about a minute)")
            self.load_lighting()
        if photo.inversion is None:
            progress(0.1, f"inverting the photo ({options.optim_steps} + {options.finetune_steps} steps)")
            photo.inversion = invert_prepared(photo.prepared, self.networks, options)
        save_reconstruction(photo.inversion, folder)
        progress(0.5, f"rendering {options.frames} frames")
        return render_photo(photo.prepared, photo.inversion, folder, self.networks, options, mask)

    def mkroot(self) -> Path:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"cannot write outputs to {self.out} ({err.strerror}); start with --out FOLDER") from None
        return self.out

    def load_lighting(self) -> None:
        found = photo_network_paths(self.paths, {"lighting": True})["lighting"]
        if found is None:
            raise UserError("a moving daytime needs the lighting network A (none found, training off): use fixed")
        self.networks.lighting = load_lighting(found, self.networks.G)
        self.networks.sources["lighting"] = found

    @staticmethod
    def write_mask(layer: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int], path: Path) -> Path:
        """The edited layer's ``box`` (the photo on the canvas) as a mask image of the photo's ``size``
        (white = moves)."""
        left, top, w, h = box
        layer = on_canvas(layer, (top + h, left + w))
        mask = np.round(layer_mask(layer[top : top + h, left : left + w]) * 255).astype(np.uint8)
        mask = Image.fromarray(mask).resize(size, Image.BILINEAR)
        with atomic_path(path) as tmp:
            mask.save(tmp, format="PNG")
        return path
