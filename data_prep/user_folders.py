"""A user's folders, as a researcher brings them: time-lapse videos as MP4 files and photos as JPEG files.

The synthetic renderer draws them, so the true moving region of every video is known: it is written beside the
folders (``truth/<video>.png``, white = moves), never inside them. ``make rehearse`` and the tests convert these
folders with ``dl-data videos`` / ``dl-data images`` exactly as a user's own.

    python -m data_prep.user_folders --out /tmp/user  # -> /tmp/user/{videos,photos,truth}
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from dl_lightning.data.synthetic.dataset import render_still
from dl_lightning.data.synthetic.landscape import render, video_schedule
from dl_lightning.errors import cli_entry
from dl_lightning.media import write_video

#: Seeds of the user folders' scenes: no other dataset of the project uses them.
USER_SEED = 7 * 10**8


def _video(args: tuple[Path, int, int, int, float]) -> None:
    out, seed, size, frames, daytime_span = args
    rng = np.random.default_rng([seed, 2])
    taus, times = video_schedule(rng, frames, daytime_span)
    r = render(seed, size, taus, times)
    name = f"timelapse_{seed - USER_SEED:03d}"
    write_video(((f * 255 + 0.5).astype(np.uint8) for f in r.frames), out / "videos" / f"{name}.mp4", fps=12)
    Image.fromarray(r.dynamic.astype(np.uint8) * 255, "L").save(out / "truth" / f"{name}.png")


def _photo(args: tuple[Path, int, int]) -> None:
    out, seed, size = args
    r, _ = render_still(seed, size)
    img = Image.fromarray((r.frames[0] * 255 + 0.5).astype(np.uint8), "RGB")
    img.save(out / "photos" / f"IMG_{seed - USER_SEED:04d}.jpg", quality=92)


def write_user_folders(
    out: str | Path,
    num_videos: int = 20,
    frames: int = 48,
    num_photos: int = 200,
    size: int = 64,
    daytime_span: float = 0.1,
    workers: int = 2,
) -> Path:
    """Render ``num_videos`` MP4 time-lapses of ``frames`` frames and ``num_photos`` JPEG photos at ``size`` px
    (even) into ``out/videos`` and ``out/photos``, and each video's true moving region into ``out/truth``."""
    out = Path(out)
    for sub in ("videos", "photos", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    videos = [(out, USER_SEED + i, size, frames, daytime_span) for i in range(num_videos)]
    photos = [(out, USER_SEED + 5000 + i, size) for i in range(num_photos)]
    with Pool(max(1, workers)) as pool:
        list(tqdm(pool.imap_unordered(_video, videos), total=len(videos), desc="mp4", unit="video"))
        list(tqdm(pool.imap_unordered(_photo, photos, chunksize=8), total=len(photos), desc="jpeg", unit="img"))
    return out


@cli_entry
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write videos/, photos/ and truth/ into")
    p.add_argument("--videos", type=int, default=20, help="number of MP4 videos")
    p.add_argument("--frames", type=int, default=48, help="frames per video")
    p.add_argument("--photos", type=int, default=200, help="number of JPEG photos")
    p.add_argument("--size", type=int, default=64, help="side in pixels (even)")
    a = p.parse_args(argv)
    print(write_user_folders(a.out, a.videos, a.frames, a.photos, a.size))
    return 0


if __name__ == "__main__":
    main()
