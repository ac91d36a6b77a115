"""The real-photo benchmark end to end (slow: `make test-photos`, run by .ci/run): `make photos` fetches the photos
from Debian's packages, and the shipped segmenter's moving region is scored against the hand masks."""

import json
import sys

import pytest

from data_prep.wallpapers import PHOTOS, fetch_photos
from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, load_segmenter
from dl_lightning.photo.region import RegionOptions
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from real_photos import benchmark_names, evaluate  # noqa: E402

pytestmark = pytest.mark.slow
#: What the moving region keeps on the seven photos today (docs/photos.md, "The moving region on real photos":
#: 0.921, 0.843, 0.077, 0.346 measured), so that a change cannot lose it unseen. Of the bars of issue #37 (mean IoU
#: 0.92, none under 0.85, both leaks at most 0.02) the mean is met.
MEAN_IOU, MIN_IOU, SKY_STILL, STRUCTURES_MOVING = 0.915, 0.835, 0.085, 0.36


@pytest.fixture(scope="module")
def photos():
    return fetch_photos(REPO / "data" / "photos")  # where `make photos` puts them: fetched once per machine


def test_make_photos_fetches_the_photos_with_their_licences(photos):
    index = json.loads((photos / "photos.json").read_text())
    assert set(index) == set(PHOTOS)
    for entry in index.values():
        assert (photos / entry["file"]).stat().st_size > 100_000 and "GPL" in (photos / entry["licence"]).read_text()


def test_the_shipped_segmenter_on_the_real_photos(photos):
    rows = evaluate(load_segmenter(DEFAULT_PHOTO_SEGMENTER), photos, RegionOptions(), hard=False)
    assert [r["case"] for r in rows] == benchmark_names()
    ious = {r["case"]: r["iou"] for r in rows}
    assert sum(ious.values()) / len(ious) >= MEAN_IOU and min(ious.values()) >= MIN_IOU, ious
    for r in rows:
        assert r["sky_still"] <= SKY_STILL and r["structures_moving"] <= STRUCTURES_MOVING, r
