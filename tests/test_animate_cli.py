import av
import pytest
import torch

from dl_lightning.checkpoints import load_generator, save_generator
from dl_lightning.cli.animate import main as animate
from dl_lightning.models import Generator, GeneratorConfig
from tests.conftest import TINY_G


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "g.safetensors"
    save_generator(Generator(GeneratorConfig(**TINY_G)), path)
    return path


def test_export_round_trip_gives_identical_frames(exported):
    G = load_generator(exported)
    G2 = load_generator(exported)
    z = G.sample_z(2)
    n = G.sample_noise(2)
    assert torch.equal(G(*z, noise_st=n, noise_dyn=n), G2(*z, noise_st=n, noise_dyn=n))
    assert G.cfg == GeneratorConfig(**TINY_G)


def test_animate_writes_videos_with_requested_properties(exported, tmp_path):
    flags = "--num 2 --frames 6 --fps 8 --motion left_wind --daytime linear --zdyn-start 0,0,1 --chunk 4".split()
    animate(["--ckpt", str(exported), "--out", str(tmp_path)] + flags)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["grid.gif", "grid.mp4", "scene_000.gif", "scene_000.mp4", "scene_001.gif", "scene_001.mp4"]
    with av.open(str(tmp_path / "scene_000.mp4")) as c:
        s = c.streams.video[0]
        assert (s.width, s.height, int(s.average_rate)) == (32, 32, 8)
        assert len(list(c.decode(video=0))) == 6


@pytest.mark.parametrize(
    "args, message",
    [
        (["--frames", "0"], "--frames must be >= 1"),
        (["--motion", "sideways"], "unknown motion"),
        (["--zdyn-start", "1,2"], "needs 3 values"),
        (["--formats", "avi"], "--formats"),
    ],
)
def test_bad_arguments(exported, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        animate(["--ckpt", str(exported), "--out", str(tmp_path)] + args)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_missing_or_foreign_checkpoint(tmp_path, capsys):
    with pytest.raises(SystemExit):
        animate(["--ckpt", str(tmp_path / "none.ckpt")])
    assert "not found" in capsys.readouterr().err
    foreign = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"layer.weight": torch.zeros(2)}}, foreign)
    with pytest.raises(SystemExit):
        animate(["--ckpt", str(foreign)])
    assert "not a dl_lightning GAN checkpoint" in capsys.readouterr().err
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"1234")
    with pytest.raises(SystemExit):
        animate(["--ckpt", str(junk)])
    assert "unreadable safetensors" in capsys.readouterr().err


def test_output_path_that_is_a_file(exported, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        animate(["--ckpt", str(exported), "--out", str(blocker / "sub"), "--frames", "2", "--num", "1"])
    assert exc.value.code == 2 and "cannot create" in capsys.readouterr().err


def test_one_daytime_default_for_a_photo_on_the_command_and_the_page():
    """``dl-animate --image`` keeps the photo's lighting unless asked, as the page does (PhotoOptions' default);
    generated scenes still move through the day."""
    from dl_lightning.cli.animate import build_parser
    from dl_lightning.cli.animate_photo import options
    from dl_lightning.demo.session import Settings
    from dl_lightning.photo.job import PhotoOptions

    args = build_parser().parse_args(["--ckpt", "g.ckpt", "--image", "photo.jpg"])
    assert options(args, ["gif"], 3).daytime == PhotoOptions.daytime == Settings.daytime == "fixed"
    assert build_parser().parse_args(["--ckpt", "g.ckpt"]).daytime is None  # -> slerp for generated scenes
    # the photo flags take PhotoOptions' defaults, and its checks (one place for each)
    assert (args.size, args.fit, args.sky, args.speed) == (PhotoOptions.size, "pad", "photo", 1.0)
    import pytest

    from dl_lightning.errors import UserError

    with pytest.raises(UserError, match="--size must be >= 0"):
        options(build_parser().parse_args(["--ckpt", "g", "--image", "p.jpg", "--size", "-1"]), ["gif"], 3)


def test_the_photo_flags_are_photo_options_fields():
    """Each photo flag comes from one PhotoOptions field: unset, the options equal PhotoOptions' defaults; set, it
    changes exactly its field."""
    from dataclasses import fields

    from dl_lightning.cli.animate import build_parser
    from dl_lightning.cli.animate_photo import PHOTO_FLAGS, options
    from dl_lightning.photo.job import PhotoOptions

    base = ["--ckpt", "g.ckpt", "--image", "photo.jpg"]
    default = options(build_parser().parse_args(base), ["mp4", "gif"], 3)
    plain = {f.name for f in fields(PhotoOptions)} - {"device", "zdyn_end"}  # the CLI's device: the machine's
    assert {n: getattr(default, n) for n in plain} == {n: getattr(PhotoOptions(), n) for n in plain}
    values = {bool: None, int: "7", float: "0.5"}
    assert len(PHOTO_FLAGS) >= 14
    for f in PHOTO_FLAGS:
        flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
        value = [] if f.metadata["kind"] is bool else [f.metadata["choices"][-1] if f.metadata["choices"] else
                                                         values[f.metadata["kind"]]]  # fmt: skip
        changed = options(build_parser().parse_args(base + [flag, *value]), ["mp4", "gif"], 3)
        diff = {n for n in plain if getattr(changed, n) != getattr(default, n)}
        assert diff == {f.name}, (flag, diff)
