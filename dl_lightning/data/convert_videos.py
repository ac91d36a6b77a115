"""Convert timelapse videos (mp4/mov/webm/..., via PyAV) or folders of frames into video shards.

Each shard sample is one clip of ``frames_per_clip`` frames: ``f000.jpg`` ... plus a ``json`` with its source and,
given a ``masker`` (``dl-data videos --masks``: :func:`dl_lightning.photo.clip_mask.clip_masker`), the clip's
dynamic mask ``mask.png`` (white = moves) with its check in the ``json`` (``mask_change_ratio``). A video gives as
many clips as it holds (all of it, unless ``max_clips_per_video`` caps it, which is said per video and counted in
the manifest); ``every`` keeps one frame in ``every``. The clips of all videos are written in a seeded random order
into at least ``min_shards`` shards (:class:`DatasetWriter`'s mixing), so a shuffle buffer and every rank's share
hold many videos.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
from PIL import Image
from tqdm import tqdm

from dl_lightning.data.convert_images import list_files, short_reason
from dl_lightning.data.images import IMAGE_EXTENSIONS, center_crop_resize, encode_image, open_rgb
from dl_lightning.data.shards import DatasetWriter
from dl_lightning.errors import UserError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")


def read_video_frames(path: str | Path, every: int = 1, max_frames: int | None = None) -> Iterator[Image.Image]:
    """Decode a video file with PyAV, yielding every ``every``-th frame as RGB PIL images."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        raise UserError(f"{path}: not a readable video ({type(err).__name__})") from None
    kept = 0
    try:
        if not container.streams.video:
            raise UserError(f"{path}: has no video stream")
        for i, frame in enumerate(container.decode(video=0)):
            if i % every == 0:
                yield frame.to_image()
                kept += 1
                if max_frames and kept >= max_frames:
                    break
    except av.error.FFmpegError as err:
        if kept == 0:
            raise UserError(f"{path}: not a readable video ({type(err).__name__})") from None
        # a truncated tail: keep what decoded
    finally:
        container.close()


def read_frame_folder(path: Path, every: int = 1) -> Iterator[Image.Image]:
    """Frames of a folder of images (sorted by name), every ``every``-th."""
    for p in sorted(q for q in path.iterdir() if q.suffix.lower() in IMAGE_EXTENSIONS)[::every]:
        yield open_rgb(p)


def find_videos(src: str | Path) -> list[Path]:
    """Video files under ``src`` plus sub-folders that directly contain >= 2 images (frame folders)."""
    videos = list_files(src, VIDEO_EXTENSIONS)
    folders = sorted({p.parent for p in list_files(src, IMAGE_EXTENSIONS)})
    folders = [f for f in folders if sum(q.suffix.lower() in IMAGE_EXTENSIONS for q in f.iterdir()) >= 2]
    return videos + folders


def videos_to_shards(
    src: str | Path,
    out: str | Path,
    resolution: int = 256,
    frames_per_clip: int = 16,
    every: int = 1,
    max_clips_per_video: int | None = None,
    shard_size: int = 100,
    upscale: bool = False,
    fmt: str = "jpg",
    overwrite: bool = False,
    min_shards: int = 32,
    seed: int = 0,
    masker: Callable[[list[Image.Image]], tuple[Image.Image, float]] | None = None,
) -> DatasetWriter:
    """Cut every video under ``src`` into clips of ``frames_per_clip`` frames and write ``out/videos`` shards.

    A video's last clip may be shorter (>= 2 frames). Videos with fewer than 2 usable frames,
    unreadable files and too-small frames are skipped with a reason and counted. ``max_clips_per_video`` (None:
    no cap) keeps a video's first clips only, with a line per capped video. ``min_shards`` and ``seed``: the mixing
    (module docstring). ``masker``: a clip's frames -> (its mask, a check figure), stored with the clip.
    """
    if max_clips_per_video is not None and max_clips_per_video < 1:
        raise UserError(f"--max-clips-per-video must be >= 1, got {max_clips_per_video}")
    if frames_per_clip < 2:
        raise UserError(f"--frames-per-clip must be >= 2, got {frames_per_clip}")
    if every < 1:
        raise UserError(f"--every must be >= 1, got {every}")
    sources = find_videos(src)
    if not sources:
        raise UserError(f"no videos ({', '.join(VIDEO_EXTENSIONS)}) or frame folders found under {src}")
    settings = dict(
        source="videos",
        src=str(src),
        resolution=resolution,
        frames_per_clip=frames_per_clip,
        every=every,
        max_clips_per_video=max_clips_per_video,
        upscale=upscale,
        format=fmt,
        mix_seed=seed,
        masks=masker is not None,
    )
    with DatasetWriter(
        out, shard_size=shard_size, overwrite=overwrite, settings=settings, mix_seed=seed, min_shards=min_shards
    ) as writer:
        for v, path in enumerate(tqdm(sources, desc="videos", unit="video")):
            frames = read_frame_folder(path, every) if path.is_dir() else read_video_frames(path, every)
            clips, clip = 0, []
            try:
                for img in frames:
                    clip.append(center_crop_resize(img, resolution, upscale=upscale))
                    if len(clip) == frames_per_clip:
                        _write_clip(writer, v, clips, clip, path, src, fmt, masker)
                        clips, clip = clips + 1, []
                        if max_clips_per_video is not None and clips >= max_clips_per_video:
                            break
            except UserError as err:
                tqdm.write(f"skip {path}: {short_reason(err)}")
                writer.skip(short_reason(err).split(" (")[0])
                continue
            capped = max_clips_per_video is not None and clips >= max_clips_per_video
            if capped and next(frames, None) is not None:
                tqdm.write(f"{path}: kept its first {clips} clips (--max-clips-per-video); the rest is not used")
                writer.skip("clips over --max-clips-per-video (videos capped)")
            elif len(clip) >= 2:
                _write_clip(writer, v, clips, clip, path, src, fmt, masker)
                clips += 1
            if clips == 0:
                tqdm.write(f"skip {path}: fewer than 2 frames")
                writer.skip("fewer than 2 frames")
    return writer


def _write_clip(
    writer: DatasetWriter, v: int, c: int, clip: list[Image.Image], path: Path, src, fmt: str, masker=None
) -> None:
    sample = {f"f{i:03d}.{fmt}": encode_image(img, fmt) for i, img in enumerate(clip)}
    sample["__key__"] = f"v{v:06d}c{c:04d}"
    meta = {"path": str(Path(path).relative_to(src)), "clip": c, "frames": len(clip)}
    if masker is not None:
        mask, ratio = masker(clip)
        sample["mask.png"] = encode_image(mask, "png")
        meta["mask_change_ratio"] = round(ratio, 3) if np.isfinite(ratio) else None
    sample["json"] = json.dumps(meta).encode()
    writer.write("videos", sample)
