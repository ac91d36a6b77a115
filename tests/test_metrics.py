"""Metrics on known inputs, with a randomly initialised feature extractor / LPIPS backbone."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from dl_lightning.cli.eval import main as dl_eval
from dl_lightning.errors import UserError
from dl_lightning.metrics.animation_metrics import animation_metrics, daytime_range, flicker, frame_change
from dl_lightning.metrics.features import RandomFeatures, find_inception_weights, make_extractor
from dl_lightning.metrics.fid import fid_kid
from dl_lightning.metrics.lpips_metric import load_lpips, lpips_distance


def smooth_images(n, seed):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 8, 8, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)


def batches(x, b=25):
    return [x[i : i + b] for i in range(0, len(x), b)]


def test_fid_kid_zero_on_same_set_and_growing_with_noise():
    feat = RandomFeatures(32)
    x = smooth_images(200, 0)
    same = fid_kid(batches(x), batches(x), feat, kid_subset_size=50, progress=False)
    assert abs(same["fid"]) < 1e-3 and abs(same["kid_mean"]) < 1e-3
    g = torch.Generator().manual_seed(1)
    results = [
        fid_kid(
            batches(x),
            batches((x + s * torch.randn(x.shape, generator=g)).clamp(-1, 1)),
            feat,
            kid_subset_size=50,
            progress=False,
        )
        for s in (0.1, 0.3, 0.6)
    ]
    fids = [r["fid"] for r in results]
    kids = [r["kid_mean"] for r in results]
    assert fids[0] < fids[1] < fids[2], fids
    assert kids[0] < kids[1] < kids[2], kids
    assert results[0]["num_real"] == results[0]["num_fake"] == 200


def test_inception_needs_local_weights(tmp_path):
    with pytest.raises(UserError, match="--inception-weights"):
        make_extractor("inception", str(tmp_path / "missing.pth"))
    bad = tmp_path / "bad.pth"
    torch.save({"x": [1, 2]}, bad)  # not a tensor state dict
    with pytest.raises(UserError, match="not an Inception state dict|not a plain tensor"):
        find_inception_weights(str(bad))


def test_lpips_identity_zero_and_offline_errors(tmp_path):
    model = load_lpips("alex", random_backbone=True)
    a, b = smooth_images(3, 0), smooth_images(3, 1)
    assert lpips_distance(model, a, a).abs().max() < 1e-6
    assert (lpips_distance(model, a, b) > 0).all()
    with pytest.raises(UserError, match="--lpips-weights"):
        load_lpips("alex", backbone_weights=str(tmp_path / "nope.pth"))


def test_lpips_loads_local_backbone_weights(tmp_path):
    import torchvision

    tv = torchvision.models.alexnet()
    torch.save(tv.state_dict(), tmp_path / "alex.pth")
    model = load_lpips("alex", backbone_weights=str(tmp_path / "alex.pth"))
    torch.testing.assert_close(model.net.slice1[0].weight, tv.features[0].weight)


def moving_square_video(frames=8, inside=True):
    v = torch.full((frames, 3, 32, 32), -0.5)
    mask = torch.zeros(32, 32, dtype=torch.bool)
    mask[:16] = True  # top half dynamic ("sky")
    for t in range(frames):
        r0 = 4 if inside else 20
        v[t, :, r0 : r0 + 6, 2 + 3 * t : 8 + 3 * t] = 0.8
    return v, mask


def test_animation_metrics_ordering():
    static = torch.zeros(8, 3, 32, 32)
    v_in, mask = moving_square_video(inside=True)
    v_out, _ = moving_square_video(inside=False)
    s, a, b = frame_change(static, mask), frame_change(v_in, mask), frame_change(v_out, mask)
    assert s["change_all"] == 0
    assert a["dynamic_static_ratio"] > 100 and b["dynamic_static_ratio"] < 0.01
    ramp = torch.linspace(-1, 1, 8)[:, None, None, None].expand(8, 3, 4, 4)  # smooth relighting
    jitter = ramp.clone()
    jitter[1::2] += 0.3
    assert flicker(ramp) < 1e-6 < flicker(jitter)
    assert daytime_range(static)["luminance_range"] == 0 and daytime_range(ramp)["luminance_range"] == pytest.approx(
        1.0
    )
    assert set(animation_metrics(v_in, mask)) == {
        "change_all",
        "change_dynamic",
        "change_static",
        "dynamic_static_ratio",
        "flicker",
        "colour_range",
        "luminance_range",
    }


def test_eval_videos_on_synthetic_data_json_schema(tiny_data, tmp_path):
    out = tmp_path / "v.json"
    dl_eval(["videos", "--data", str(tiny_data), "--num", "4", "--resolution", "32", "--json", str(out)])
    r = json.loads(out.read_text())
    assert r["command"] == "videos" and r["videos"] == 4
    m = r["animation_real"]
    assert m["change_static"] == 0.0 and m["change_dynamic"] > 0  # fixed lighting: land never changes


def test_eval_gan_and_lpips_cli(tiny_data, tmp_path):
    from dl_lightning.checkpoints import save_generator
    from dl_lightning.models import Generator, GeneratorConfig
    from tests.conftest import TINY_G

    ckpt = save_generator(Generator(GeneratorConfig(**TINY_G)), tmp_path / "g.safetensors")
    out = tmp_path / "g.json"
    flags = "--num 16 --batch 8 --videos 2 --frames 4 --workers 1 --relight-pairs 8".split()
    dl_eval(["gan", "--ckpt", str(ckpt), "--data", str(tiny_data), "--json", str(out)] + flags)
    r = json.loads(out.read_text())
    q = r["quality"]  # the default: scene-network features, floor and ladder
    assert r["relighting"]["renderer"] > 0 and r["relighting"]["ratio"] == pytest.approx(
        r["relighting"]["generated"] / r["relighting"]["renderer"]
    )
    assert set(q["ladder"]) == {
        "no trees",
        "no ridges",
        "no water",
        "blur 1 px",
        "16 px upsampled",
        "fine grain",
        "blob trees",
    }
    assert set(q["structure_ratio"]) == {"generated", "floor", *q["ladder"]}
    assert q["structure"]["real"]["tree_count"] > 0
    assert q["generated"]["fd"] > q["floor"]["fd"] > 0  # an untrained generator is far from real scenes
    assert all(0 <= v <= 1 for k, v in q["scene_tv"]["generated"].items() if k.startswith("tv_"))
    assert q["pixels"]["isolated_ratio"] > 0 and q["pixels"]["laplacian_ratio"] > 0
    flags = "--num 16 --batch 8 --features random --kid-subset-size 8 --videos 2 --frames 4".split()
    dl_eval(["gan", "--ckpt", str(ckpt), "--data", str(tiny_data), "--json", str(out)] + flags)
    r = json.loads(out.read_text())
    for side in ("vs_static", "vs_videos"):
        assert set(r[side]) == {"fid", "kid_mean", "kid_std", "num_real", "num_fake"} and r[side]["fid"] > 0
    assert r["animation_generated"]["flicker"] > 0 and "seconds" in r  # a random generator's frames jitter
    Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "a.png")
    out = tmp_path / "l.json"
    dl_eval(["lpips", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--random-backbone", "--json", str(out)])
    assert json.loads(out.read_text())["lpips_mean"] == pytest.approx(0.0, abs=1e-6)


def test_eval_bad_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        dl_eval(["gan", "--ckpt", str(tmp_path / "none.ckpt")])
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dl_eval(["lpips", str(tmp_path / "x.png"), str(tmp_path / "y.png"), "--random-backbone"])
    assert f"not found: {tmp_path / 'x.png'}, {tmp_path / 'y.png'}" in capsys.readouterr().err
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    with pytest.raises(SystemExit):
        dl_eval(["lpips", str(tmp_path / "x.png"), str(tmp_path), "--random-backbone"])
    assert "not a file and a folder" in capsys.readouterr().err


def test_perceptual_config_builds_lpips_from_each_source_or_says_why_not(tmp_path, monkeypatch, capsys):
    """``PerceptualConfig.build``: random backbone, local weights file, the torch hub cache, or (none of them, or
    weight 0) pixels only with one line saying so."""
    import torchvision

    from dl_lightning.metrics.reconstruction import PerceptualConfig

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub_home" / "hub"))  # an empty cache, restored after
    a, b = smooth_images(2, 0), smooth_images(2, 1)
    assert PerceptualConfig(weight=0.0, random_backbone=True).build() is None
    assert PerceptualConfig().build() is None
    assert "no local alex weights for LPIPS" in capsys.readouterr().out
    model = PerceptualConfig(random_backbone=True).build()
    assert model is not None and (lpips_distance(model, a, b) > 0).all()
    tv = torchvision.models.alexnet()
    torch.save(tv.state_dict(), tmp_path / "alex.pth")
    local = PerceptualConfig(backbone_weights=str(tmp_path / "alex.pth")).build()
    torch.testing.assert_close(local.net.slice1[0].weight, tv.features[0].weight)
    cached = tmp_path / "hub_home" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    cached.parent.mkdir(parents=True)
    torch.save(tv.state_dict(), cached)
    from_cache = PerceptualConfig().build()  # the cache branch: torchvision's own loader
    torch.testing.assert_close(from_cache.net.slice1[0].weight, tv.features[0].weight)


def test_inception_features_build_from_a_local_weights_file(tmp_path):
    """The real Inception path: torch-fidelity's network (a declared dependency) loaded by the real code from a
    local file (random values in the real shapes, written here), 2048 features per image, FID and KID on them."""
    import torch

    from dl_lightning.metrics.fid import fid_kid
    from tests.helpers import write_random_inception_weights

    weights = write_random_inception_weights(tmp_path / "pt_inception-2015-12-05-6726825d.pth")
    net = make_extractor("inception", str(weights))
    images = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)
    feats = net(images)
    assert feats.shape == (4, 2048) and torch.isfinite(feats).all()
    state = torch.load(weights, weights_only=True)
    assert torch.equal(net.Conv2d_1a_3x3.conv.weight, state["Conv2d_1a_3x3.conv.weight"]), "the file's weights"
    a, b = torch.rand(8, 3, 32, 32) * 2 - 1, torch.rand(8, 3, 32, 32) * 2 - 1
    same, other = fid_kid([a], [a], net, 4, progress=False), fid_kid([a], [b.clamp(-1, -0.5)], net, 4, progress=False)
    assert abs(same["fid"]) < 1e-2 and other["fid"] > same["fid"] + 1


def test_eval_gan_on_separate_still_and_video_folders(tmp_path, capsys):
    """A user's data as the 256 px config keeps it: stills and videos converted into two folders. The job reads
    both (from the flags or from the run's config), draws references over the whole dataset, reports FID/KID per
    frame index of generated time-lapses, and --motion-videos 0 skips the motion table with a line."""
    import yaml

    from data_prep.user_folders import write_user_folders
    from dl_lightning.checkpoints import save_generator
    from dl_lightning.data.convert_images import images_to_shards
    from dl_lightning.data.convert_videos import videos_to_shards
    from dl_lightning.data.ordered import spread_frames
    from dl_lightning.models import Generator, GeneratorConfig
    from tests.conftest import TINY_G

    user = write_user_folders(tmp_path / "user", num_videos=6, frames=16, num_photos=24, size=32, workers=1)
    images_to_shards(user / "photos", tmp_path / "stills", resolution=32, min_shards=4)
    videos_to_shards(user / "videos", tmp_path / "clips", resolution=32, frames_per_clip=8, min_shards=4)
    plan = spread_frames(str(tmp_path / "clips"), "videos", 24)
    assert len(plan) == 12 and set(plan.values()) == {2}, "every clip of every video, two frames each"
    assert max(spread_frames(str(tmp_path / "stills"), "static", 8)) > 8, "not the first 8 stills"
    ckpt = save_generator(Generator(GeneratorConfig(**TINY_G)), tmp_path / "g.safetensors")
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"data": {"init_args": {"static_root": str(tmp_path / "stills"),
                                                             "video_root": str(tmp_path / "clips")}}}))  # fmt: skip
    out = tmp_path / "g.json"
    flags = "--num 16 --batch 8 --features random --kid-subset-size 8 --videos 2 --frames 6 --per-frame-videos 8"
    dl_eval(["gan", "--ckpt", str(ckpt), "--config", str(config), "--json", str(out), "--motion-videos", "0",
             *flags.split()])  # fmt: skip
    r = json.loads(out.read_text())
    assert r["data"] == str(tmp_path / "stills") and r["video_data"] == str(tmp_path / "clips")
    assert r["vs_static"]["num_real"] == 16 and r["vs_videos"]["num_real"] == 16
    assert set(r["per_frame"]) == {"0", "2", "5"} and all(d["fd"] > 0 for d in r["per_frame"].values())
    assert "skipping the dynamic-region motion table" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        dl_eval(["gan", "--ckpt", str(ckpt), "--data", str(tmp_path / "stills"), "--per-frame-videos", "2"])


def test_eval_photo_on_an_animation_whose_sky_moves(tmp_path):
    """A photo whose top half shifts by a pixel a frame while the bottom stays, written as an MP4: frame 0 is the
    photo (up to the codec), the change is inside the mask and hardly any outside it."""
    import numpy as np

    from dl_lightning.media import write_video
    from tests.conftest import REPO

    photo = np.asarray(Image.open(REPO / "tests/data/hills.jpg").convert("RGB").resize((64, 48), Image.LANCZOS))
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask = np.zeros((48, 64), np.uint8)
    mask[:24] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    frames = []
    for t in range(6):
        f = photo.copy()
        f[:24] = np.roll(photo[:24], t, axis=1)
        frames.append(f)
    write_video(frames, tmp_path / "photo.mp4", fps=8)
    out = tmp_path / "p.json"
    dl_eval(["photo", "--image", str(tmp_path / "photo.png"), "--video", str(tmp_path / "photo.mp4"),
             "--mask", str(tmp_path / "mask.png"), "--random-backbone", "--json", str(out)])  # fmt: skip
    r = json.loads(out.read_text())
    assert r["frames"] == 6 and r["ssim"] > 0.8 and r["lpips"] < 0.2  # MP4 is lossy; frame 0 is the photo
    assert r["change_moving"] > 5 * r["change_still"] and r["ratio"] > 5


def test_summarise_spreads_between_checkpoints_and_resamples():
    from dl_lightning.metrics.spread import summarise

    s = summarise({"a": [{"fd": 10.0, "trees": math.nan}, {"fd": 14.0, "trees": math.nan}],
                   "b": [{"fd": 20.0, "trees": 2.0}, {"fd": 20.0, "trees": 4.0}]})  # fmt: skip
    assert s["fd"]["mean"] == 16.0
    assert s["fd"]["between_checkpoints"] == pytest.approx(np.std([12.0, 20.0], ddof=1))
    assert s["fd"]["between_resamples"] == pytest.approx(np.mean([np.std([10.0, 14.0], ddof=1), 0.0]))
    assert s["trees"] == {"mean": 3.0, "between_checkpoints": 0.0, "between_resamples": pytest.approx(2**0.5)}


def test_eval_run_means_checkpoints_and_resamples(tiny_data, tmp_path, capsys):
    """Two generators (different weights) x two resamples (different draws): four scene-network reports whose
    summary is their mean, with a spread between the generators and between the draws."""
    from dl_lightning.checkpoints import save_generator
    from dl_lightning.models import Generator, GeneratorConfig
    from tests.conftest import TINY_G

    ckpts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        ckpts += [
            "--ckpt",
            str(save_generator(Generator(GeneratorConfig(**TINY_G)), tmp_path / f"g{seed}.safetensors")),
        ]
    out = tmp_path / "run.json"
    dl_eval(["run", *ckpts, "--data", str(tiny_data), "--num", "16", "--batch", "8", "--resamples", "2",
             "--workers", "1", "--json", str(out)])  # fmt: skip
    r = json.loads(out.read_text())
    fds = [[row["fd"] for row in rows] for rows in r["figures"].values()]
    assert len(fds) == 2 and all(len(v) == 2 and v[0] != v[1] for v in fds), "each resample is a new draw"
    assert r["summary"]["fd"]["mean"] == pytest.approx(np.mean(fds))
    assert r["summary"]["fd"]["between_checkpoints"] > 0 and r["summary"]["fd"]["between_resamples"] > 0
    assert "structure_sky_grain" in r["summary"] and "sd resamples" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        dl_eval(["run", "--run", str(tmp_path / "empty")])
    assert "no checkpoints/step*.ckpt there" in capsys.readouterr().err
