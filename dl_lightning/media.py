"""Saving what people look at: image grids (PNG), videos (MP4 via PyAV, GIF via Pillow).

Every writer goes to a temporary name in the target folder and renames at the end, so a
crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from dl_lightning.data.images import tensor_to_uint8
from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 (H', W', 3) grid with ``nrow`` images per row."""
    arr = tensor_to_uint8(images)
    n, h, w, _ = arr.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = arr[i]
    return grid


def save_image(array: np.ndarray, path: str | Path) -> Path:
    """Save a uint8 (H, W, 3) array as PNG/JPEG (by suffix), atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG" if str(path).lower().endswith(".png") else "JPEG")
    return Path(path)


def gif_frames(frames: list[Image.Image]) -> list[Image.Image]:
    """RGB frames -> palette frames sharing one 256-colour palette, made from four frames spread over the video
    (Pillow's per-frame palettes with its frame differencing can paint a patch of a frame in a wrong colour)."""
    picks = [frames[round(i * (len(frames) - 1) / 3)] for i in range(4)] if len(frames) > 1 else frames[:1]
    mosaic = Image.new("RGB", (picks[0].width, picks[0].height * len(picks)))
    for i, f in enumerate(picks):
        mosaic.paste(f, (0, i * picks[0].height))
    palette = mosaic.quantize(256, method=Image.Quantize.MEDIANCUT)
    return [f.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG) for f in frames]


class VideoSink:
    """Incremental video writer: MP4 (H.264, yuv420p, encoded as frames arrive) or GIF (by suffix).

    Writes to a temporary name and renames on :meth:`close`; :meth:`abort` discards it.
    GIF frames are kept until close (Pillow writes GIFs in one go), downscaled to at most
    ``gif_max_side`` pixels (a full-resolution GIF of a photo is tens of MB; the MP4 keeps the
    full size); MP4 memory does not grow.
    """

    def __init__(self, path: str | Path, fps: int = 12, gif_max_side: int = 512):
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        if self.kind not in (".mp4", ".gif"):
            raise UserError(f"{path}: video output must end in .mp4 or .gif")
        if fps < 1:
            raise UserError(f"fps must be >= 1, got {fps}")
        self.fps, self.count, self.gif_max_side = fps, 0, gif_max_side
        self._ctx = atomic_path(self.path)
        self.tmp = self._ctx.__enter__()
        self._gif: list[Image.Image] = []
        self._container = self._stream = None

    def add(self, frame: np.ndarray) -> None:
        """Append one uint8 (H, W, 3) frame."""
        if self.kind == ".gif":
            img = Image.fromarray(frame)
            if max(img.size) > self.gif_max_side:
                k = self.gif_max_side / max(img.size)
                img = img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))), Image.LANCZOS)
            self._gif.append(img)
        else:
            import av  # only MP4 needs PyAV; GIF and PNG writers work without it

            if self._stream is None:
                self._container = av.open(str(self.tmp), mode="w", format="mp4")
                self._stream = self._container.add_stream("libx264", rate=self.fps)
                h, w = frame.shape[:2]
                self._stream.width, self._stream.height = w + w % 2, h + h % 2  # yuv420p needs even sizes
                self._stream.pix_fmt = "yuv420p"
                self._stream.options = {"crf": "18"}
            pad_h, pad_w = self._stream.height - frame.shape[0], self._stream.width - frame.shape[1]
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
            for packet in self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                self._container.mux(packet)
        self.count += 1

    def close(self) -> Path:
        """Finish the file and move it to its final name."""
        if self.count == 0:
            self.abort()
            raise UserError(f"{self.path}: no frames to write")
        if self.kind == ".gif":
            frames = gif_frames(self._gif)
            frames[0].save(
                self.tmp,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=int(1000 / self.fps),
                loop=0,
            )
        else:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        self._ctx.__exit__(None, None, None)
        return self.path

    def abort(self) -> None:
        if self._container is not None:
            self._container.close()
        self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: int = 12) -> int:
    """Write uint8 (H, W, 3) frames to an MP4 or GIF (by suffix); returns the frame count."""
    sink = VideoSink(path, fps)
    try:
        for frame in frames:
            sink.add(frame)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return sink.count


def tile_frames(frames: Iterable[torch.Tensor], nrow: int | None = None) -> Iterator[np.ndarray]:
    """Turn a stream of (B, 3, H, W) frame batches into a stream of uint8 grid frames."""
    for batch in frames:
        yield make_grid(batch, nrow=nrow, pad=0 if batch.shape[0] == 1 else 2)


def write_streams(
    frames, named: dict[str, Callable], out: Path, formats: list[str], fps: int, total: int
) -> list[Path]:
    """Feed a stream of (B,3,R,R) frame batches to video files; ``named`` maps a file stem to batch -> uint8 frame."""
    sinks = {(stem, ext): VideoSink(out / f"{stem}.{ext}", fps) for stem in named for ext in formats}
    try:
        for batch in tqdm(frames, total=total, desc="frames", unit="frame"):
            for stem, to_frame in named.items():
                frame = to_frame(batch)
                for ext in formats:
                    sinks[stem, ext].add(frame)
    except BaseException:
        for s in sinks.values():
            s.abort()
        raise
    return [s.close() for s in sinks.values()]
