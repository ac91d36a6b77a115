"""Saving what people look at: image grids (PNG), videos (MP4 via PyAV, GIF via Pillow).

Every writer goes to a temporary name in the target folder and renames at the end, so a
crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np
import torch
from PIL import Image

from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.errors import UserError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create {path.parent}: {err.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"cannot write to {path.parent}: permission denied")
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 (H', W', 3) grid with ``nrow`` images per row."""
    arr = tensor_to_uint8(images)
    n, h, w, _ = arr.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = arr[i]
    return grid


def save_image(array: np.ndarray, path: str | Path) -> Path:
    """Save a uint8 (H, W, 3) array as PNG/JPEG (by suffix), atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG" if str(path).lower().endswith(".png") else "JPEG")
    return Path(path)


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: int = 12) -> int:
    """Write uint8 (H, W, 3) frames as H.264 MP4 (yuv420p) or GIF, by the suffix of ``path``.

    Frames are consumed one at a time (memory does not grow with length). Returns the frame count.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise UserError(f"{path}: video output must end in .mp4 or .gif")
    if fps < 1:
        raise UserError(f"fps must be >= 1, got {fps}")
    with atomic_path(path) as tmp:
        return _write_mp4(frames, tmp, fps) if suffix == ".mp4" else _write_gif(frames, tmp, fps)


def _write_mp4(frames: Iterable[np.ndarray], path: Path, fps: int) -> int:
    n = 0
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = None
        for frame in frames:
            if stream is None:
                h, w = frame.shape[:2]
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = w + w % 2, h + h % 2  # yuv420p needs even sizes
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "18", "preset": "medium"}
            if frame.shape[0] != stream.height or frame.shape[1] != stream.width:
                frame = np.pad(frame, ((0, stream.height - frame.shape[0]), (0, stream.width - frame.shape[1]), (0, 0)), mode="edge")
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
            n += 1
        if stream is None:
            raise UserError("no frames to write")
        for packet in stream.encode():
            container.mux(packet)
    return n


def _write_gif(frames: Iterable[np.ndarray], path: Path, fps: int) -> int:
    images = [Image.fromarray(f) for f in frames]  # Pillow needs all GIF frames at save time
    if not images:
        raise UserError("no frames to write")
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return len(images)


def tile_frames(frames: Iterable[torch.Tensor], nrow: int | None = None) -> Iterator[np.ndarray]:
    """Turn a stream of (B, 3, H, W) frame batches into a stream of uint8 grid frames."""
    for batch in frames:
        yield make_grid(batch, nrow=nrow, pad=0 if batch.shape[0] == 1 else 2)
