import io
import tarfile

import numpy as np
import pytest
import torch

from dl_lightning.data.datamodule import LandscapeDataModule
from dl_lightning.data.shards import shard_urls
from dl_lightning.data.stream import LandscapeStream, consumer_shards
from dl_lightning.errors import UserError


def _keys(stream, n):
    return [item["key"] for _, item in zip(range(n), iter(stream))]


def test_two_ranks_read_disjoint_shards(tiny_data):
    urls_s, urls_v = shard_urls(tiny_data, "static"), shard_urls(tiny_data, "videos")
    assert len(urls_s) == 3
    ranks = [
        LandscapeStream(urls_s, urls_v, 32, samples_per_epoch=12, rank=r, world_size=2, shuffle_buffer=4)
        for r in range(2)
    ]
    k0, k1 = set(_keys(ranks[0], 12)), set(_keys(ranks[1], 12))
    assert k0 and k1 and not (k0 & k1)
    # more consumers than shards: a sample-level split, still disjoint and covering every sample
    import itertools
    import random

    from dl_lightning.data.stream import iterate_samples

    parts = [
        {s["__key__"] for s in itertools.islice(iterate_samples(urls_s, c, 4, random.Random(c)), 60)} for c in range(4)
    ]
    assert all(parts) and sum(len(p) for p in parts) == len(set().union(*parts)) == 24, [len(p) for p in parts]
    assert consumer_shards(urls_s, 0, 4)[0] == urls_s, "each consumer reads every shard, a quarter of each"


def test_stream_is_deterministic_per_seed_and_epoch(tiny_data):
    def make(seed):
        return LandscapeStream(
            shard_urls(tiny_data, "static"), shard_urls(tiny_data, "videos"), 32, 8, seed=seed, shuffle_buffer=4
        )

    a, b = make(1), make(1)
    ea, eb = [i["static"] for i in a], [i["static"] for i in b]
    assert all(torch.equal(x, y) for x, y in zip(ea, eb))
    assert not all(torch.equal(x, y) for x, y in zip(ea, [i["static"] for i in a])), "a new epoch reshuffles"


def test_pairs_come_from_one_video_with_the_same_flip(tiny_data):
    # tiny_data has fixed lighting within a video and lossless PNG: land pixels agree exactly
    dm = LandscapeDataModule(
        str(tiny_data), resolution=32, batch_size=8, num_workers=0, epoch_length=2, shuffle_buffer=4
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["static"].shape == (8, 3, 32, 32) and batch["pairs"].shape == (8, 2, 3, 32, 32)
    p = batch["pairs"]
    same = (p[:, 0] == p[:, 1]).all(1).float().mean(dim=(1, 2))  # share of identical pixels per pair
    assert (same > 0.2).all(), same  # the land is shared ...
    assert (same < 1.0).all(), same  # ... and the sky differs


def test_datamodule_with_workers(tiny_data):
    dm = LandscapeDataModule(
        str(tiny_data), resolution=32, batch_size=4, num_workers=2, epoch_length=3, shuffle_buffer=4
    )
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 3, "epoch_length batches per epoch, split over the workers in whole batches"
    assert all(b["pairs"].shape == (4, 2, 3, 32, 32) for b in batches)
    assert len({k for b in batches for k in b["key"]}) == 12, "the two workers read different samples"


def test_missing_dataset_says_how_to_build(tmp_path):
    dm = LandscapeDataModule(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="make data"):
        dm.setup("fit")


def test_corrupt_sample_is_skipped_with_warning(tiny_data, tmp_path):
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        for key, data in [("a.png", b"garbage"), ("b.png", b"")]:
            info = tarfile.TarInfo(key)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    urls = [str(bad), shard_urls(tiny_data, "static")[0]]  # every pass over the shards meets the bad ones
    stream = LandscapeStream(urls, shard_urls(tiny_data, "videos"), 32, 20, shuffle_buffer=2)
    with pytest.warns(UserWarning, match="skipping corrupt sample"):
        items = list(stream)
    assert len(items) == 20 and stream.skipped >= 2
    assert np.isfinite(torch.stack([i["static"] for i in items]).numpy()).all()


def test_a_dataset_of_unreadable_shards_stops_with_one_line(tmp_path):
    """All-bad data used to loop forever; now it stops within seconds, in the main process and through a
    DataLoader worker, with one line naming the dataset."""
    import time

    from dl_lightning.errors import one_line

    not_tars = [str(tmp_path / "a.tar"), str(tmp_path / "b.tar")]
    for p in not_tars:
        open(p, "wb").write(b"this is not a tar file" * 100)
    stream = LandscapeStream(not_tars, not_tars, 32, 8)
    t0 = time.perf_counter()
    with pytest.raises(UserError, match="no readable sample in 2 shard") as err, pytest.warns(UserWarning):
        next(iter(stream))
    assert time.perf_counter() - t0 < 10 and ("a.tar" in str(err.value) or "b.tar" in str(err.value))
    loader = torch.utils.data.DataLoader(stream, batch_size=2, num_workers=1)
    with pytest.raises(UserError) as err:  # the worker's warnings stay in the worker
        next(iter(loader))
    assert "\n" in str(err.value) and one_line(err.value).startswith("no readable sample in 2 shard")


def test_a_dataset_of_corrupt_images_stops_with_one_line(tmp_path):
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        for i in range(300):
            info = tarfile.TarInfo(f"s{i:04d}.png")
            info.size = 7
            tar.addfile(info, io.BytesIO(b"garbage"))
    stream = LandscapeStream([str(bad)], [str(bad)], 32, 8, shuffle_buffer=2)
    with pytest.raises(UserError, match="200 samples in a row could not be decoded.*bad.tar"):
        with pytest.warns(UserWarning):
            next(iter(stream))
