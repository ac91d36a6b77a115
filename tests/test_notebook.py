"""The photo-animation notebook runs end to end (tiny generator, a few steps)."""

import nbformat
from nbclient import NotebookClient

from dl_lightning.checkpoints import save_generator
from dl_lightning.models import Generator, GeneratorConfig
from tests.conftest import REPO, TINY_G


def test_animate_a_photo_notebook_executes(tmp_path, monkeypatch, hills):
    ckpt = save_generator(Generator(GeneratorConfig(**TINY_G)), tmp_path / "g.safetensors")
    env = {
        "DL_CKPT": str(ckpt),
        "DL_ENCODER": str(tmp_path / "none"),
        "DL_LIGHTING": str(tmp_path / "none"),
        "DL_PHOTO": str(hills),
        "DL_OPTIM_STEPS": "3",
        "DL_FINETUNE_STEPS": "2",
        "DL_FRAMES": "3",
        "DL_SIZE": "96",
        "DL_SEGMENTER": str(tmp_path / "none"),
        "DL_OUT": str(tmp_path / "out"),
        "WANDB_MODE": "disabled",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(REPO / "notebooks" / "animate_a_photo.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    out = tmp_path / "out"
    assert (out / "photo.gif").is_file() and (out / "reconstruction.png").is_file()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "finetuned" in text and "3 frames" in text
