"""The demo's request handling without a browser: uploads, bad input, the edited mask, the queue, output folders."""

import io
import threading

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

from dl_lightning.demo.session import DISPLAY_SIDE, FULL, PhotoDemo, Settings, layer_mask
from dl_lightning.errors import UserError
from dl_lightning.metrics.reconstruction import PerceptualConfig
from dl_lightning.photo.job import PhotoOptions
from dl_lightning.training.companions import PhotoNetworkPaths
from tests.test_inversion import _png_header_only, gen_ckpt  # noqa: F401  (fixture)

FAST = Settings(size=48, frames=4)


@pytest.fixture
def demo(gen_ckpt, segmenter_ckpt, tmp_path):  # noqa: F811
    paths = PhotoNetworkPaths(str(gen_ckpt), segmenter=str(segmenter_ckpt[0]), train=False)
    options = PhotoOptions(optim_steps=3, finetune_steps=1)
    return PhotoDemo(paths, tmp_path / "out", options, PerceptualConfig(weight=0))


def first_frame(path) -> np.ndarray:
    with av.open(str(path)) as box:
        return next(box.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)


def frame_count(path) -> tuple[int, tuple[int, int]]:
    with av.open(str(path)) as box:
        frames = [f for f in box.decode(video=0)]
    return len(frames), (frames[0].width, frames[0].height)


def test_upload_shows_the_photo_as_the_canvas_with_its_moving_region(demo, tmp_path, hills):
    wide = Image.open(hills).resize((300, 150))
    wide.save(tmp_path / "wide.png")
    up = demo.upload(tmp_path / "wide.png")
    # a small photo fills the editor at its own aspect: long side DISPLAY_SIDE, no grey margin
    h = DISPLAY_SIDE // 2
    assert up.size == (300, 150) and up.background.shape == (h, DISPLAY_SIDE, 3) and up.box == (0, 0, DISPLAY_SIDE, h)
    assert up.layer.shape == (h, DISPLAY_SIDE, 4) and up.layer[..., 3].max() <= FULL
    shown = np.asarray(Image.fromarray(up.background).resize((300, 150), Image.BOX), np.float32)
    diff = np.abs(shown - np.asarray(wide, np.float32)).mean(-1)
    assert np.median(diff) < 4 and 0 <= up.uncertain < 0.5  # the photo itself...
    assert (diff > 20).mean() <= up.uncertain + 0.02  # ...but where the uncertain band is hatched over it
    assert demo.upload(tmp_path / "wide.png").key == up.key  # the same photo: kept, not segmented again


def test_bad_uploads_give_one_line_and_the_demo_goes_on(demo, tmp_path, hills):
    (tmp_path / "notes.jpg").write_text("not a photo")
    good = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(good, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(good.getvalue()[:200])
    Image.new("RGB", (4, 4)).save(tmp_path / "tiny.png")
    (tmp_path / "bomb.png").write_bytes(_png_header_only(60000, 60000))
    for name, says in [("notes.jpg", "not a readable image"), ("cut.jpg", "cut.jpg"), ("tiny.png", "too small"),
                       ("bomb.png", "over the|too large"), ("missing.jpg", "not found")]:  # fmt: skip
        with pytest.raises(UserError, match=says) as err:
            demo.upload(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(UserError, match="upload a photo first"):
        demo.animate("no-such-key", None, FAST)
    up = demo.upload(hills)
    with pytest.raises(UserError, match="--speed"):
        demo.animate(up.key, None, Settings(speed=-1))
    with pytest.raises(UserError, match="lighting network A"):  # fails inside the request: no folder left behind
        demo.animate(up.key, None, Settings(size=48, frames=4, daytime="slerp"))
    assert not list((tmp_path / "out").iterdir())
    assert demo.animate(up.key, None, FAST).video.is_file()


def test_an_edited_layer_is_the_mask_at_the_photos_resolution(demo, hills):
    up = demo.upload(hills)
    plain = demo.animate(up.key, up.layer.copy(), FAST)  # unchanged: the predicted mask, feathered at full size
    assert not (plain.folder / "mask_edited.png").exists() and plain.report["mask"].startswith("segmenter")
    layer = up.layer.copy()
    left, top, w, h = up.box
    layer[top : top + h // 2, left : left + w, 3] = 0  # erased: the top half stays still
    layer[top + h // 2 :, left : left + w // 2, 3] = FULL  # painted: bottom-left moves
    edited = demo.animate(up.key, layer, FAST)
    assert edited.report["request"]["reused_inversion"] and edited.folder != plain.folder
    assert edited.report["mask"].endswith("mask_edited.png")
    mask = np.asarray(Image.open(edited.folder / "mask_edited.png"), np.float32) / 255
    assert mask.shape == (1024, 1024) and layer_mask(layer).max() == 1
    assert mask[:500].max() == 0 and mask[540:, :500].min() == 1
    alpha = np.asarray(Image.open(edited.folder / "mask.png").convert("L"), np.float32) / 255  # at output size
    assert alpha.shape == (48, 48) and alpha[:23].max() < 0.02 and alpha[26:, :22].min() > 0.98


def test_two_requests_at_once_are_queued_each_in_its_own_folder(demo, tmp_path, hills):
    ImageOps.flip(Image.open(hills)).save(tmp_path / "upside_down.jpg")
    photos = {name: demo.upload(path) for name, path in (("hills", hills), ("flipped", tmp_path / "upside_down.jpg"))}
    results, errors = {}, []

    def request(name):
        try:
            results[name] = demo.animate(photos[name].key, None, Settings(size=64, frames=6))
        except Exception as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    threads = [threading.Thread(target=request, args=(name,)) for name in photos]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (a, b) = sorted(results.values(), key=lambda r: r.report["request"]["started"])
    assert a.report["request"]["finished"] <= b.report["request"]["started"]  # one after the other
    assert b.report["request"]["queued_s"] > 0.5 * a.report["request"]["seconds"]  # the second one waited
    assert a.folder != b.folder and a.folder.parent == b.folder.parent
    for name, result in results.items():
        assert frame_count(result.video) == (6, (64, 64)) and {p.suffix for p in result.files} == {".mp4", ".gif"}
        own, other = (Image.open(p).convert("RGB").resize((64, 64)) for p in (hills, tmp_path / "upside_down.jpg"))
        own, other = (own, other) if name == "hills" else (other, own)
        frame = first_frame(result.video)
        assert np.abs(frame - np.asarray(own)).mean() < 0.5 * np.abs(frame - np.asarray(other)).mean()


def test_dl_demo_says_in_one_line_what_is_missing(tmp_path, capsys):
    from dl_lightning.cli.demo import main

    with pytest.raises(SystemExit) as stop:
        main(["--ckpt", str(tmp_path / "none.ckpt"), "--no-train", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and err.startswith("error:") and "none.ckpt" in err and "\n" not in err
