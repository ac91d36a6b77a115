"""Shard writing/reading round trips and bad-input handling of the converters."""

import io
import json
import random
import tarfile
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from dl_lightning.cli.data import main as dl_data
from dl_lightning.data.convert_images import images_to_shards
from dl_lightning.data.convert_videos import videos_to_shards
from dl_lightning.data.images import open_rgb
from dl_lightning.data.shards import read_manifest, shard_urls
from dl_lightning.data.stream import LandscapeStream, consumer_shards
from dl_lightning.errors import UserError


def test_synthetic_shards_round_trip(tiny_data):
    m = read_manifest(tiny_data)
    assert m["counts"] == {"static": 24, "videos": 8}
    assert not list(tiny_data.parent.glob("*.partial-*")), "no temporary folder left behind"
    with tarfile.open(shard_urls(tiny_data, "videos")[0]) as tar:
        names = tar.getnames()
    assert any(n.endswith(".f005.png") for n in names) and any(n.endswith(".mask.png") for n in names)
    stream = LandscapeStream(shard_urls(tiny_data, "static"), shard_urls(tiny_data, "videos"), 32, samples_per_epoch=10)
    items = list(stream)
    assert len(items) == 10
    assert items[0]["static"].shape == (3, 32, 32) and items[0]["pairs"].shape == (2, 3, 32, 32)
    assert -1 <= min(i["static"].min() for i in items) and max(i["static"].max() for i in items) <= 1


def test_existing_output_needs_overwrite(tiny_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        dl_data(["synthetic", "--out", str(tiny_data), "--num-static", "1", "--num-videos", "1"])
    assert exc.value.code == 2
    assert "already exists" in capsys.readouterr().err


def test_a_full_disk_gives_one_line_and_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    """The OS reports ENOSPC part-way through (simulated at the shard writer, where the bytes go to disk)."""
    import errno

    import webdataset as wds

    real_write, calls = wds.ShardWriter.write, []

    def write(self, sample):
        calls.append(1)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, sample)

    monkeypatch.setattr(wds.ShardWriter, "write", write)
    out = tmp_path / "data"
    with pytest.raises(SystemExit) as exc:
        dl_data(f"synthetic --out {out} --num-static 6 --num-videos 1 --resolution 32 --workers 1".split())
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and "img/s" not in ln]  # no progress bars
    assert exc.value.code == 2 and len(err) == 1 and "No space left on device" in err[0], err
    assert err[0].startswith("error: cannot write the dataset") and len(calls) == 4
    assert not out.exists() and not list(tmp_path.glob("*partial*")), "no half-written dataset, no temp folder"


def _write(path: Path, img: Image.Image, **kw) -> Path:
    img.save(path, **kw)
    return path


def test_images_bad_inputs_are_skipped_or_converted(tmp_path, hills):
    src = tmp_path / "photos"
    src.mkdir()
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (80, 120, 3), dtype=np.uint8))
    _write(src / "good.jpg", rgb)
    _write(src / "rgba.png", rgb.convert("RGBA"))
    _write(src / "cmyk.jpg", rgb.convert("CMYK"))
    _write(src / "gray.png", rgb.convert("L"))
    Image.fromarray((rng.integers(0, 65535, (64, 64))).astype(np.uint16)).save(src / "deep16.png")
    _write(src / "tiny.png", Image.new("RGB", (1, 1)))
    _write(src / "small.png", rgb.resize((40, 30)))
    (src / "garbage.jpg").write_bytes(b"not an image at all")
    good = (src / "good.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (src / "hills.jpg").write_bytes(hills.read_bytes())
    writer = images_to_shards(src, tmp_path / "out", resolution=64, shard_size=3)
    m = read_manifest(tmp_path / "out")
    assert m["counts"]["static"] == 6  # good, rgba, cmyk, gray, deep16, hills
    assert sum(m["skipped"].values()) == 4  # tiny, small, garbage, truncated
    assert "skipped 4" in writer.summary()
    stream = LandscapeStream(shard_urls(tmp_path / "out", "static"), shard_urls(tmp_path / "out", "static"), 64, 1)
    keys = set()
    for key, x in stream._statics(0, 1, random.Random(0)):  # every written image decodes as RGB 64x64
        assert x.shape == (3, 64, 64)
        keys.add(key)
        if len(keys) == 6:
            break


def test_upscale_option_keeps_small_images(tmp_path):
    src = tmp_path / "p"
    src.mkdir()
    _write(src / "small.png", Image.new("RGB", (40, 30), (10, 200, 30)))
    images_to_shards(src, tmp_path / "out", resolution=64, upscale=True)
    assert read_manifest(tmp_path / "out")["counts"]["static"] == 1


def test_decompression_bomb_and_modes():
    img = Image.new("RGB", (50, 50))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    with pytest.raises(UserError, match="too large"):
        open_rgb(buf.getvalue(), max_pixels=100)
    la = Image.new("LA", (4, 4), (0, 0))  # fully transparent -> composited on white
    buf = io.BytesIO()
    la.save(buf, format="PNG")
    assert open_rgb(buf.getvalue()).getpixel((0, 0)) == (255, 255, 255)


def _write_mp4(path: Path, frames: int, size: int = 48) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for t in range(frames):
            arr = np.zeros((size, size, 3), np.uint8)
            arr[10:20, 2 * t % size : 2 * t % size + 8] = 255  # a moving square
            for p in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_videos_to_shards(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    _write_mp4(src / "a.mp4", 20)
    _write_mp4(src / "one_frame.mp4", 1)
    (src / "broken.mp4").write_bytes(b"\x00\x01garbage" * 100)
    frames_dir = src / "frames"
    frames_dir.mkdir()
    for i in range(5):
        Image.new("RGB", (40, 40), (i * 40, 0, 0)).save(frames_dir / f"{i:03d}.png")
    writer = videos_to_shards(src, tmp_path / "out", resolution=32, frames_per_clip=8, shard_size=2)
    m = read_manifest(tmp_path / "out")
    assert m["counts"]["videos"] == 3 + 1  # 20 frames -> 8, 8, 4 ; frame folder -> 5
    assert m["skipped"] == {"fewer than 2 frames": 1, "not a readable video": 1}, writer.summary()
    meta = []
    for url in shard_urls(tmp_path / "out", "videos"):
        with tarfile.open(url) as tar:
            meta += [json.loads(tar.extractfile(n).read()) for n in tar.getnames() if n.endswith(".json")]
    assert sorted(m["frames"] for m in meta) == [4, 5, 8, 8]
    stream = LandscapeStream(shard_urls(tmp_path / "out", "videos"), shard_urls(tmp_path / "out", "videos"), 32, 1)
    key, pair = next(stream._pairs(0, 1, random.Random(0)))
    assert pair.shape == (2, 3, 32, 32) and not torch.equal(pair[0], pair[1]) and key.startswith("v")


def test_every_subsamples_frames(tmp_path):
    src = tmp_path / "v"
    src.mkdir()
    _write_mp4(src / "a.mp4", 20)
    videos_to_shards(src, tmp_path / "out", resolution=32, frames_per_clip=16, every=2)
    assert read_manifest(tmp_path / "out")["counts"]["videos"] == 1  # 10 frames kept -> one clip


def test_converted_videos_mix_in_every_batch_and_long_videos_are_used_whole(tmp_path, capsys):
    """20 MP4 time-lapses of 10 clips each, converted as a user would: the clips of all videos are spread over
    the shards, so D_dyn's real batches (8 pairs, the default shuffle buffer) hold many videos, not one or two;
    every clip of a long video is used, and a cap is said and counted."""
    from data_prep.user_folders import write_user_folders

    write_user_folders(tmp_path / "user", num_videos=20, frames=40, num_photos=16, size=32, workers=1)
    images_to_shards(tmp_path / "user" / "photos", tmp_path / "stills", resolution=32)
    videos_to_shards(tmp_path / "user" / "videos", tmp_path / "out", resolution=32, frames_per_clip=4, min_shards=8)
    m = read_manifest(tmp_path / "out")
    assert m["counts"]["videos"] == 200 and len(m["shards"]["videos"]) >= 8  # 20 videos x 10 clips, none dropped
    urls = shard_urls(tmp_path / "out", "videos")
    # a shuffle buffer of 40 pairs (10 clips) against videos of 10 clips: the default buffer (256 pairs) against
    # a 64-clip video. Written in video order, a batch would hold about 2 videos; 8 draws from 20 give 6.7.
    stills = shard_urls(tmp_path / "stills", "static")
    stream = LandscapeStream(stills, urls, 32, samples_per_epoch=400, batch_size=8, shuffle_buffer=40)
    keys = [item["pair_key"] for item in stream]
    per_batch = [len({k[:7] for k in keys[i : i + 8]}) for i in range(0, len(keys), 8)]  # v<video>c<clip>
    assert sum(per_batch) / len(per_batch) >= 5.5, per_batch
    # the 4 consumers of 2 ranks x 2 workers read disjoint shards, each holding many videos
    for consumer in range(4):
        mine, mod, _ = consumer_shards(urls, consumer, 4)
        assert mod == 1 and mine
    capped = videos_to_shards(tmp_path / "user" / "videos", tmp_path / "capped", resolution=32, frames_per_clip=4,
                              max_clips_per_video=3)  # fmt: skip
    assert read_manifest(tmp_path / "capped")["counts"]["videos"] == 60
    assert sum(capped.skipped.values()) == 20 and "kept its first 3 clips" in capsys.readouterr().out


def test_user_videos_get_clip_masks_that_match_their_true_moving_region(tmp_path):
    """8 rendered MP4 time-lapses converted as a user would, with the default ``--masks photo``: every clip stores
    its mask, the masks match the renderer's true regions (IoU, ``bench/clip_masks.py``'s measure), and the motion
    segmenter's data module trains on them; ``--masks none`` stores none."""
    import sys

    from data_prep.user_folders import write_user_folders
    from dl_lightning.data.masks import MaskDataModule
    from tests.conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    from clip_masks import measure

    write_user_folders(tmp_path / "user", num_videos=8, frames=32, num_photos=0, size=64, workers=1)
    dl_data(["videos", str(tmp_path / "user" / "videos"), "--out", str(tmp_path / "out"), "--resolution", "64",
             "--min-shards", "1"])  # fmt: skip
    rows = measure(tmp_path / "out", tmp_path / "user" / "truth")
    ious = [r["iou"] for r in rows]
    assert len(rows) == 16 and np.mean(ious) >= 0.8, ious
    assert all(r["mask_change_ratio"] is None or r["mask_change_ratio"] > 0 for r in rows)
    assert read_manifest(tmp_path / "out")["settings"]["masks"] is True
    data = MaskDataModule(str(tmp_path / "out"), resolution=64, batch_size=4, train_source="videos")
    data.setup()
    images, masks = data.train_set.images, data.train_set.masks
    assert len(images) == 32 and 0.1 < masks.float().mean() < 0.9  # first and last frame of each clip
    dl_data(["videos", str(tmp_path / "user" / "videos"), "--out", str(tmp_path / "bare"), "--resolution", "64",
             "--min-shards", "1", "--masks", "none"])  # fmt: skip
    with pytest.raises(UserError, match="--masks photo"):
        MaskDataModule(str(tmp_path / "bare"), resolution=64, train_source="videos").setup()
