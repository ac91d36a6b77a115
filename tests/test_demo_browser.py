"""The demo page in a real browser: Debian's Chromium (``make browser`` installs it) driven by Playwright against
``dl-demo`` with a tiny model on a free loopback port. ``DL_DEMO_SCREENSHOT=PATH`` also saves the page there
(``python docs/figures.py --demo`` does, for the README, with ``DL_DEMO_CKPT``, ``DL_DEMO_SEGMENTER`` and
``DL_DEMO_SIZE``: the trained model instead of the tiny one, at a size one can see)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.test_inversion import gen_ckpt  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow  # about a minute and a half: run by `make test-browser` (and .ci/run)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]  # fmt: skip (the closed network: no background calls)
SIZE, FRAMES = int(os.environ.get("DL_DEMO_SIZE", 96)), 6


def need_browser():
    """Fail with what to do, never skip: `make test-browser` and `make test-all` install Chromium first."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright is not installed: run `make install` (it is a test dependency)")
    if not Path(CHROMIUM).is_file():
        pytest.fail("no Chromium: `make browser` installs Debian's chromium package (make test-browser does it first)")


@pytest.fixture(scope="module")
def server(gen_ckpt, segmenter_ckpt, tmp_path_factory):  # noqa: F811
    need_browser()
    out = tmp_path_factory.mktemp("demo") / "out"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ckpt = os.environ.get("DL_DEMO_CKPT", str(gen_ckpt))
    segmenter = os.environ.get("DL_DEMO_SEGMENTER", str(segmenter_ckpt[0]))
    cmd = [sys.executable, "-m", "dl_lightning.cli.demo", "--ckpt", ckpt, "--segmenter", segmenter, "--port",
           str(port), "--out", str(out), "--optim-steps", "3", "--finetune-steps", "1", "--no-train"]  # fmt: skip
    log = open(out.parent / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "WANDB_MODE": "disabled"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"dl-demo did not start: {(out.parent / 'server.log').read_text()[-2000:]}")
            time.sleep(1)
    yield url, out
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server[0])
        page.wait_for_selector("#photo input[type=file]", state="attached", timeout=60_000)
        yield page
        browser.close()


def status(page) -> str:
    return page.inner_text("#status").strip()


def upload(page, path, expect: str):
    page.set_input_files("#photo input[type=file]", str(path))
    script = f"document.querySelector('#status').innerText.includes({json.dumps(expect)})"
    page.wait_for_function(script, timeout=60_000)


def stroke(page, tool: str, dx0: float, dx1: float):
    """Drag ``tool`` (Brush or Erase) along the canvas's middle row, from dx0 to dx1 page px off its centre."""
    page.click(f"#mask button[aria-label='{tool}']")
    box = page.locator("#mask canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + dx0, cy)
    page.mouse.down()
    for t in np.linspace(0, 1, 12):
        page.mouse.move(cx + dx0 + t * (dx1 - dx0), cy)
    page.mouse.up()


def test_bad_upload_says_one_line_and_the_page_goes_on(page, tmp_path):
    (tmp_path / "notes.jpg").write_text("not a photo")
    upload(page, tmp_path / "notes.jpg", "Error")
    assert "not a readable image" in status(page) and "\n" not in status(page)
    assert "Traceback" not in page.content()


def test_upload_correct_animate_and_download(page, server, hills, tmp_path):
    url, out = server
    assert "Model: " in page.inner_text("#help")  # the page says which GAN it animates with
    upload(page, hills, "Photo 1024x1024")
    for name, value in (("size", SIZE), ("frames", FRAMES)):
        field = page.locator(f"#{name} input[type=number]")
        field.fill(str(value))
        field.press("Enter")
    page.wait_for_timeout(500)
    stroke(page, "Brush", -80, -20)  # paint: moves
    stroke(page, "Erase", 20, 80)  # erase: stays still
    page.click("#animate")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done')", timeout=120_000)
    page.wait_for_function("document.querySelector('#result video') && document.querySelector('#result video')"
                           ".videoWidth > 0", timeout=30_000)  # fmt: skip
    width, height = page.evaluate("[document.querySelector('#result video').videoWidth, "
                                  "document.querySelector('#result video').videoHeight]")  # fmt: skip
    assert (width, height) == (SIZE, SIZE)
    shot = tmp_path / "demo_page.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("DL_DEMO_SCREENSHOT"):
        shutil.copy(shot, os.environ["DL_DEMO_SCREENSHOT"])

    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    assert folder.name.split("-")[2] == "hills" and str(folder) in status(page)
    with av.open(str(folder / "photo.mp4")) as box:
        frames = list(box.decode(video=0))
    assert len(frames) == FRAMES and (frames[0].width, frames[0].height) == (SIZE, SIZE)
    # the brush and the eraser reached the mask: painted left of the centre moves, erased right of it stays still
    mask = np.asarray(Image.open(folder / "mask_edited.png"), np.float32) / 255
    assert mask.shape == (1024, 1024)
    row = mask[500:524]
    assert row[:, 300:470].mean() > 0.9 and row[:, 560:720].mean() < 0.1

    links = page.eval_on_selector_all("#downloads a", "els => els.map(e => e.href)")
    assert {Path(h.split("?")[0]).suffix for h in links} == {".mp4", ".gif"}
    mp4 = next(h for h in links if ".mp4" in h)
    assert urllib.request.urlopen(mp4).read() == (folder / "photo.mp4").read_bytes()
    base = mp4.split("/file=")[0]
    for private in (Path(__file__).resolve(), Path("/etc/passwd")):  # nothing but the app and its outputs
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/file={private}")
        assert err.value.code in (403, 404)
