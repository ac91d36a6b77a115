"""The moving region of a photo: topology, matting, scores, the photo world, the shipped segmenter on hard cases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from dl_lightning.checkpoints import DEFAULT_PHOTO_SEGMENTER, export_segmenter, load_segmenter
from dl_lightning.data.images import pil_to_tensor
from dl_lightning.data.synthetic.photo_world import HARD_CASES, KINDS, hard_case, render_world
from dl_lightning.metrics.region_scores import boundary_f, region_scores
from dl_lightning.photo.region import RegionOptions, colour_vote, matte, moving_region, sky_islands
from dl_lightning.photo.upright import cielab, paired_edges, ridge_bands, towers
from dl_lightning.photo.water import calm_water, drop_land_coloured, mirrored_sky, regions
from tests.conftest import REPO


def test_still_islands_in_the_sky_move_and_what_stands_on_the_land_stays():
    moving = np.zeros((40, 60), bool)
    moving[:25] = True  # sky above row 25
    moving[32:, 10:50] = True  # a lake below the land band
    prob = np.where(moving, 0.9, 0.05)
    moving[5:10, 20:30] = False  # a dark cloud inside the sky, read as land
    moving[12:25, 40:43] = False  # a tower rising from the land into the sky
    moving[34:37, 20:24] = False  # a rock in the lake
    prob[5:10, 20:30] = 0.1  # the segmenter was sure of the cloud: the rule alone moves it (above the horizon)
    prob[34:37, 20:24] = 0.05
    islands = sky_islands(moving, prob)
    assert islands[5:10, 20:30].all(), "the enclosed cloud is sky"
    assert not islands[12:25, 40:43].any(), "the tower joins the land: still"
    assert not islands[34:37, 20:24].any(), "a rock the segmenter was sure of stays in the lake"
    prob[34:37, 20:24] = 0.45
    assert sky_islands(moving, prob)[34:37, 20:24].all(), "one it doubted moves with the water"


def test_calm_water_takes_in_the_rest_of_the_lake_and_stops_at_its_shore_and_boats():
    """A sunset sky over a dark shore and a lake reflecting it (a smooth gradient, with noise): the segmenter found
    only the middle of the lake. The rest of the lake moves; the shore, a boat on the lake and the land under a
    smooth hazy hill that the sky continues into stay still."""
    g = torch.Generator().manual_seed(0)
    h, w = 60, 90
    rows = torch.linspace(0, 1, h)[:, None].expand(h, w)
    photo = torch.stack([0.6 - 0.8 * rows, 0.1 - 0.4 * rows, 0.7 - 0.2 * rows])[None].clone()  # pink to blue
    photo[:, :, 20:26] = torch.tensor([-0.7, -0.6, -0.5])[:, None, None]  # the dark shore
    photo[:, :, 40:46, 60:75] = torch.tensor([0.5, -0.1, -0.6])[:, None, None]  # a brown boat
    photo += 0.01 * torch.randn(photo.shape, generator=g)
    lab = cielab(photo)[0].numpy()
    moving = np.zeros((h, w), bool)
    moving[:20] = True  # the sky
    moving[34:52, 30:60] = True  # the middle of the lake
    water = calm_water(moving, lab, RegionOptions.water_reach)
    lake = np.zeros((h, w), bool)
    lake[26:] = True
    lake[40:46, 60:75] = False
    assert (water | moving)[lake].mean() > 0.98, "the rest of the lake moves"
    assert not water[20:26].any(), "the shore stays"
    assert not water[40:46, 60:75].any(), "the boat stays"
    assert not calm_water(moving, lab, 0.0).any(), "reach 0: nothing"
    sky_only = np.zeros((h, w), bool)
    sky_only[:14] = True  # the sky stops above a hazy band of its own colours: the sky does not grow
    assert not calm_water(sky_only, lab, RegionOptions.water_reach).any(), "the sky is not water"
    ramp = np.zeros((3, h, w))
    ramp[0] = 2.0 * np.arange(h)[:, None]  # lightness rises 2 units a row: each step costs 1, 3 times that upwards
    band = np.zeros((h, w), bool)
    band[30:40] = True
    rows = np.nonzero(calm_water(band, ramp, 6.5).any(1))[0]
    assert (rows.min(), rows.max()) == (28, 45), "within a reach of 6.5 the water goes 6 rows down and 2 up"


def _mirror_scene(sky_colour, ripples: float = 0.0) -> tuple[np.ndarray, torch.Tensor]:
    """64 x 96 coarse pixels: a sky whose colour runs from ``sky_colour`` (top) to white at the horizon (row 30), a
    dark shore (rows 30-33), below it the sky mirrored about the horizon and darkened (the lake, rows 34-59; under
    them the sky has no mirror row), with colour noise 0.005 and grey ``ripples`` of that spread. The coarse mask has
    the sky moving and the lake still, as a segmenter that missed a mirror-calm lake leaves it."""
    g = torch.Generator().manual_seed(0)
    h, w = 64, 96
    t = torch.linspace(0, 1, 30)[:, None, None]
    sky = torch.tensor(sky_colour)[None, None] * (1 - t) + t * 0.9  # (30, 1, 3) in [-1, 1]
    img = torch.empty(h, w, 3)
    img[:30] = sky
    img[30:34] = torch.tensor([-0.7, -0.7, -0.75])
    img[34:60] = sky.flip(0)[4:] - 0.15  # row 34 + j mirrors sky row 25 - j, darker
    img[60:] = img[59]
    img[34:] += 0.005 * torch.randn(h - 34, w, 3, generator=g) + ripples * torch.randn(h - 34, w, 1, generator=g)
    moving = np.zeros((h, w), bool)
    moving[:30] = True
    return moving, img.permute(2, 0, 1)[None].clamp(-1, 1)


def test_still_water_that_mirrors_a_coloured_sky_moves_and_grey_or_rough_ground_does_not():
    """A segmenter that missed a lake: the lake under a pink-purple sky mirrors it and moves. Under a grey sky the
    same scene (grey boards under fog look alike) and a rippled surface under the coloured sky add nothing."""
    moving, photo = _mirror_scene((0.2, -0.4, 0.6))
    water = mirrored_sky(moving, cielab(photo)[0].numpy())
    assert water[36:60].mean() > 0.9, water[36:60].mean()
    assert not water[:34].any(), "the sky and the shore are not water"
    moving, photo = _mirror_scene((0.1, 0.1, 0.12))
    assert not mirrored_sky(moving, cielab(photo)[0].numpy()).any(), "a grey sky says nothing"
    moving, photo = _mirror_scene((0.2, -0.4, 0.6), ripples=0.1)
    assert not mirrored_sky(moving, cielab(photo)[0].numpy()).any(), "a rippled surface is not calm water"


def test_the_colour_vote_makes_land_coloured_doubt_still_and_never_adds_motion():
    """Blue sky over brown boards, with noise. Where the segmenter doubts, boards-coloured pixels become still; a
    sky-coloured doubt keeps its probability (the vote only lowers), and so does a sky-coloured patch it called
    still."""
    g = torch.Generator().manual_seed(0)
    photo = torch.empty(1, 3, 40, 60)
    photo[:, :, :20] = torch.tensor([-0.6, -0.2, 0.8])[:, None, None]  # sky
    photo[:, :, 20:] = torch.tensor([0.5, 0.1, -0.4])[:, None, None]  # boards
    photo[:, :, 24:28, 5:15] = torch.tensor([-0.6, -0.2, 0.8])[:, None, None]  # a sky-coloured patch on the land
    photo += 0.03 * torch.randn(photo.shape, generator=g)
    prob = torch.where(torch.arange(40)[:, None] < 20, 0.95, 0.05).expand(40, 60).clone()[None, None]
    prob[..., 22:30, 30:50] = 0.7  # boards the segmenter half takes for water
    prob[..., 10:18, 30:50] = 0.6  # sky it doubts
    prob[..., 24:28, 5:15] = 0.3
    voted = colour_vote(prob, photo)
    assert (voted[..., 22:30, 30:50] < 0.2).all(), "boards-coloured doubt is still"
    torch.testing.assert_close(voted[..., 10:18, 30:50], prob[..., 10:18, 30:50])
    torch.testing.assert_close(voted[..., 24:28, 5:15], prob[..., 24:28, 5:15])
    assert (voted <= prob).all()


def test_a_pale_tower_is_found_by_its_straight_sides_and_a_gap_between_branches_is_not():
    """A 20 px white tower in front of a pale sky at 512 px, its sides 0.06 from the sky, lost for 40 rows in front of
    a cloud of its own colour; two leaning dark branches with sky between them. The coarse mask calls everything
    above the land sky. The tower stays still from the land to its top; the sky between the branches moves."""
    g = np.random.default_rng(0)
    h, w = 512, 512
    img = np.broadcast_to(np.array([0.86, 0.9, 0.95]), (h, w, 3)) + g.normal(0, 0.02, (h, w, 3))
    img[400:] = (0.35, 0.3, 0.25)
    tower = np.zeros((h, w), bool)
    tower[150:400, 200:220] = True
    img[tower] = np.array([0.92, 0.93, 0.93]) + g.normal(0, 0.02, (int(tower.sum()), 3))
    img[250:290, 150:300] = (0.92, 0.93, 0.93)  # the cloud the tower passes in front of
    yy, xx = np.mgrid[:h, :w]
    for x0, slope in ((380, -0.35), (430, 0.35)):  # branches from (x0, 400) leaning apart, 6 px thick
        img[(np.abs(xx - (x0 + slope * (400 - yy))) < 3) & (yy < 400) & (yy > 250)] = (0.15, 0.12, 0.1)
    photo = torch.from_numpy(img.clip(0, 1) * 2 - 1).permute(2, 0, 1)[None].float()
    alpha = torch.ones(1, 1, h, w)
    alpha[..., 400:, :] = 0
    found = paired_edges(alpha, photo)[0, 0].numpy()
    assert found[tower].mean() > 0.9, found[tower].mean()
    assert not found[260:400, 390:420].any(), "the sky between the branches moves"
    assert found[:, :190].sum() + found[:, 230:].sum() == 0


def test_a_tower_whose_sides_the_lens_blurred_is_found_and_a_one_pixel_difference_misses_it():
    """The overcast hard case's faint tower: 10 px wide at 1024 px, 0.06 lighter than a grey sky, its sides spread
    over 5 px. A difference across one column (``blur=0``) sees 0.015 per pixel, under the contrast; across the
    default ``k`` (about 3 px at 1024) it sees the edge, and the tower stays still from the land to its top."""
    from scipy import ndimage

    g = np.random.default_rng(1)
    h = w = 1024
    img = np.broadcast_to(np.array([0.61, 0.64, 0.72]), (h, w, 3)).copy()
    tower = np.zeros((h, w), bool)
    tower[400:800, 500:510] = True
    img[tower] += 0.06
    img = ndimage.uniform_filter1d(img, 5, axis=1) + g.normal(0, 0.005, (h, w, 3))
    img[800:] = (0.3, 0.4, 0.25)
    photo = torch.from_numpy(img.clip(0, 1) * 2 - 1).permute(2, 0, 1)[None].float()
    alpha = torch.ones(1, 1, h, w)
    alpha[..., 800:, :] = 0
    assert paired_edges(alpha, photo, blur=0)[0, 0].numpy()[tower].mean() < 0.1
    found = paired_edges(alpha, photo)[0, 0].numpy()
    assert found[tower].mean() > 0.9, found[tower].mean()
    assert found[:, :490].sum() + found[:, 520:].sum() == 0


def test_a_hazy_hill_under_its_ridge_stays_and_a_cloud_or_a_blurred_edge_adds_nothing():
    """512 px: a pale sky, lighter towards the horizon, over dark fields from row 300. Left: a hazy blue hill 12-24 px
    tall under a wavy ridge. Middle: a dark cloud band with 10 rows of sky between it and the fields. Right: the
    fields' top edge blurred over 10 px. The coarse mask calls everything above row 300 sky. The hill stays still;
    the cloud, the sky under it and the blurred edge's upper flank do not."""
    from scipy import ndimage

    g = np.random.default_rng(0)
    h, w = 512, 768
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([0.70 + 0.15 * yy / 300, 0.78 + 0.12 * yy / 300, 0.95 + 0 * yy], -1)
    img[300:] = (0.2, 0.28, 0.15)
    img[:, 512:] = ndimage.gaussian_filter1d(img[:, 512:], 4.0, axis=0)  # the right third: a soft horizon
    ridge = 282 - 6 * np.sin(xx / 25.0)
    hill = (yy >= ridge) & (yy < 300) & (xx < 256)
    img[hill] = (0.55, 0.62, 0.75)
    img[(yy >= 262) & (yy < 290) & (xx >= 256) & (xx < 512)] = (0.45, 0.47, 0.52)  # the cloud
    img = img + g.normal(0, 0.01, (h, w, 3))
    photo = torch.from_numpy(img.clip(0, 1) * 2 - 1).permute(2, 0, 1)[None].float()
    alpha = torch.ones(1, 1, h, w)
    alpha[..., 300:, :] = 0
    found = ridge_bands(alpha, photo)[0, 0].numpy()
    inner = hill & (yy > ridge + 2)
    assert found[inner].mean() > 0.9, found[inner].mean()
    assert found[:, 256:].sum() == 0, "the cloud band, the sky under it and the soft horizon move"
    assert found[:260].sum() == 0
    small = F.interpolate(photo, size=(48, 72), mode="area")  # a clip-sized photo: the search window stays valid
    assert ridge_bands(F.interpolate(alpha, size=(48, 72)), small).shape == (1, 1, 48, 72)


def test_regions_coloured_like_the_land_leave_the_dynamic_mask():
    r = 32
    photo = torch.empty(1, 3, r, r)
    photo[:, :, :] = torch.tensor([-0.5, 0.1, 0.8])[:, None, None]  # bluish sky ...
    photo[:, :, 10:] = torch.tensor([-0.6, 0.3, -0.7])[:, None, None]  # ... over grass
    photo[:, :, 26:, :12] = torch.tensor([-0.8, -0.5, -0.1])[:, None, None]  # a darker lake: the sky's hue
    mask = torch.zeros(1, 1, r, r)
    mask[..., :10, :] = 1  # sky
    mask[..., 26:, :12] = 1  # lake
    mask[..., 15:19, 20:26] = 1  # the segmenter took a patch of grass for water
    labels, sizes, _ = regions((mask[0, 0] > 0.5).numpy())
    n = len(sizes) - 1
    assert n == 3 and len(set(labels[15:19, 20:26].flatten().tolist())) == 1
    cleaned, dropped = drop_land_coloured(mask, photo)
    expected = mask.clone()
    expected[..., 15:19, 20:26] = 0
    assert dropped == 24 and torch.equal(cleaned, expected)
    no_sky = mask.clone()
    no_sky[..., :10, :] = 0  # nothing to compare with: the mask stays as predicted
    assert torch.equal(drop_land_coloured(no_sky, photo)[0], no_sky)


def test_matting_moves_a_misplaced_coarse_edge_to_the_photos_edge():
    """A 40 px tower against a sky gradient, its coarse mask 5 px too narrow on each side and 5 px too short (as a
    segmenter at a quarter of the size draws it): the matting cuts it where the photo does. (Matting refines an edge
    the coarse mask placed roughly; a structure the coarse mask misses has no still samples to be matted from.)"""
    h, w = 160, 200
    sky = np.linspace(0.9, 0.6, h)[:, None, None] * np.array([0.6, 0.8, 1.0])
    img = np.broadcast_to(sky, (h, w, 3)).copy()
    truth = np.ones((h, w), bool)
    truth[120:] = truth[30:, 80:120] = False
    img[~truth] = (0.35, 0.3, 0.25)
    coarse = truth.copy()
    coarse[30:120, 80:85] = coarse[30:120, 115:120] = coarse[30:35] = True  # the coarse mask misses 5 px each side
    small = np.asarray(Image.fromarray(coarse.astype(np.uint8) * 255).resize((50, 40), Image.BOX)) > 127
    alpha = matte(img, small, band=2.0) > 0.5
    coarse_iou = region_scores(coarse, truth)["iou"]
    scores = region_scores(alpha, truth, margin=1)
    assert scores["iou"] > coarse_iou and scores["iou"] > 0.99, (scores, coarse_iou)
    assert scores["structures_moving"] == 0 and scores["sky_still"] < 0.01


def test_upright_towers_that_rise_from_the_land_stay_and_clouds_do_not():
    """A 12 px red tower (on a 400 px short side: 1/33) that stands out from a blue sky by its hue alone (the same
    grey), beside a bright cloud band lying on the horizon, both read as sky by the coarse mask: the tower is taken
    out, the cloud is not."""
    h, w = 400, 600
    img = np.broadcast_to(np.array([0.25, 0.45, 0.8]), (h, w, 3)).copy()
    img[280:] = (0.3, 0.35, 0.2)  # the land
    img[220:280, 300:600] = (0.95, 0.95, 0.95)  # a cloud band lying on the horizon
    img[80:280, 120:132] = (0.62, 0.37, 0.47)  # the tower: the sky's grey, another hue
    photo = torch.from_numpy(img).permute(2, 0, 1)[None].float() * 2 - 1
    alpha = torch.ones(1, 1, h, w)
    alpha[..., 280:, :] = 0
    found = towers(alpha, photo, width=1 / 25)[0, 0]
    assert found[85:280, 122:130].all() and not found[:, 300:].any() and not found[:, :110].any()


def test_a_flat_photo_that_the_matting_cannot_solve_keeps_the_coarse_edge(capsys):
    flat = np.full((64, 96, 3), (0.35, 0.55, 0.8))  # one colour: the matting's system has no unique answer
    coarse = np.zeros((16, 24), bool)
    coarse[:8] = True
    alpha = matte(flat, coarse, band=1.5)
    assert alpha.shape == (64, 96) and np.isfinite(alpha).all()
    assert (alpha[:24] > 0.5).all() and (alpha[40:] < 0.5).all()


def test_region_scores_on_known_masks():
    truth = np.zeros((400, 400), bool)
    truth[:200] = True
    same = region_scores(truth, truth)
    assert same == {"iou": 1.0, "boundary_f": 1.0, "sky_still": 0.0, "structures_moving": 0.0}
    low = np.zeros_like(truth)
    low[:240] = True  # the edge 40 px too low: the land's top band (8 px past the 2 px margin) moves
    s = region_scores(low, truth)
    assert s["iou"] == pytest.approx(200 / 240) and s["sky_still"] == 0 and s["structures_moving"] == 1.0
    near = np.zeros_like(truth)
    near[:202] = True
    assert boundary_f(low, truth) == 0.0 and boundary_f(near, truth) == 1.0  # 2 px off: within the tolerance
    tower = np.zeros_like(truth)
    tower[80:240, 160:180] = True
    assert region_scores(truth, truth, structures=tower)["structures_moving"] == 0
    assert region_scores(truth | tower, truth, structures=tower)["structures_moving"] == 1.0


def test_the_photo_world_is_seeded_and_its_masks_agree():
    a, b = render_world(3, (48, 80)), render_world(3, (48, 80))
    assert a.image.shape == (48, 80, 3) and np.array_equal(a.image, b.image) and np.array_equal(a.moving, b.moving)
    assert not np.array_equal(a.image, render_world(4, (48, 80)).image)
    everything = render_world(5, 96, kinds=dict.fromkeys(KINDS, True), mode="sunset")
    assert not (everything.structures & everything.moving).any() and everything.structures.any()
    assert not (everything.dark_clouds & ~everything.moving).any()
    towers = render_world(6, 256, camera=False, kinds=dict.fromkeys(KINDS, False), tower_widths=(3, 12, 30))
    assert towers.moving[0].mean() > 0.9 and not towers.moving[-10:].any()  # sky above (spires reach in), land below
    widths = [int(towers.structures[:, c].any()) for c in range(256)]
    assert 0.6 * (3 + 12 + 30) / 4 < sum(widths) < 2 * (3 + 12 + 30) / 4  # three towers, at 256 px: a quarter


def test_the_hazy_world_mixes_distant_land_towards_the_sky_and_leaves_the_sky_alone():
    kinds = dict.fromkeys(KINDS, False) | {"hills": True}
    hazed, lines = 0, 0
    for seed in range(10):
        plain = render_world(seed, 96, supersample=1, camera=False, kinds=kinds, mode="day")
        hazy = render_world(seed, 96, supersample=1, camera=False, kinds=kinds, mode="day", haze=True)
        sky = plain.moving & hazy.moving
        assert np.array_equal(plain.image[sky], hazy.image[sky]) and not (hazy.moving & ~plain.moving).any()
        lines += int((plain.moving & ~hazy.moving).sum() > 20)  # a tree line standing on the land's top edge
        changed = ~plain.moving & ~hazy.moving & (np.abs(plain.image - hazy.image).sum(-1) > 0.02)
        if changed.sum() < 50:
            continue
        above = np.clip(np.argmax(~plain.moving, axis=0) - 1, 0, None)  # each column's lowest sky pixel
        horizon_sky = plain.image[above, np.arange(96)][None].repeat(96, 0)[changed]
        gaps = [np.abs(r.image[changed] - horizon_sky).sum(-1) for r in (plain, hazy)]
        assert (gaps[1] < gaps[0]).mean() > 0.9  # nearer the sky's colour at the horizon
        hazed += 1
    assert hazed >= 3 and lines >= 2


def test_a_segmenter_exports_to_safetensors_and_loads_the_same(segmenter_ckpt, tmp_path):
    ckpt = segmenter_ckpt[0]
    out = export_segmenter(ckpt, tmp_path / "seg.safetensors")
    a, b = load_segmenter(ckpt), load_segmenter(out)
    assert a.cfg == b.cfg and a.cfg.resolution == 32  # the side it was trained at, from its data
    x = torch.rand(2, 3, 40, 56) * 2 - 1
    torch.testing.assert_close(a.probability(x), b.probability(x))
    # several checkpoints: the mean of their weights (a copy with every weight doubled averages to 1.5x)
    doubled = torch.load(ckpt, weights_only=False)
    doubled["state_dict"] = {k: v * 2 if v.is_floating_point() else v for k, v in doubled["state_dict"].items()}
    torch.save(doubled, tmp_path / "doubled.ckpt")
    mean = load_segmenter(export_segmenter([ckpt, tmp_path / "doubled.ckpt"], tmp_path / "mean.safetensors"))
    w = next(k for k in mean.state_dict() if k.endswith("weight"))
    torch.testing.assert_close(mean.state_dict()[w], 1.5 * a.state_dict()[w])


@pytest.fixture(scope="module")
def shipped():
    return load_segmenter(DEFAULT_PHOTO_SEGMENTER)


def test_the_shipped_segmenter_loads_and_finds_the_sky_of_a_real_photo(shipped):
    assert shipped.cfg.resolution == 128
    photo = Image.open(REPO / "tests" / "data" / "hills.jpg").convert("RGB").resize((512, 512), Image.LANCZOS)
    truth = np.asarray(Image.open(REPO / "bench" / "photo_masks" / "hills.png").convert("L").resize((512, 512))) > 127
    region = moving_region(pil_to_tensor(photo)[None], shipped, RegionOptions(matte_side=512))
    assert region_scores(region.alpha[0, 0].numpy() > 0.5, truth)["iou"] > 0.95
    assert torch.equal(region.alpha[:, :, -100:], torch.zeros_like(region.alpha[:, :, -100:]))  # the land: exactly 0


def _case(shipped, name: str, size: int):
    r = hard_case(name, size)
    photo = pil_to_tensor(Image.fromarray((r.image * 255 + 0.5).astype(np.uint8)))[None]
    return r, moving_region(photo, shipped).alpha[0, 0].numpy() > 0.5


def test_towers_wider_than_two_segmenter_pixels_stay_still_at_256_px(shipped):
    """The overcast hard case at 256 px: every tower at least 5 px wide (two pixels of the segmenter's 128 px view)
    stays still. Narrower ones still move (docs/photos.md, "The moving region on real photos"), as do white towers
    against white clouds (the "towers" case)."""
    from scipy import ndimage

    r, moving = _case(shipped, "towers_overcast", 256)
    labels, n = ndimage.label(r.structures)
    wide = [k for k in range(1, n + 1) if (labels == k).any(0).sum() >= 5]
    assert len(wide) >= 3
    for k in wide:
        tower = labels == k
        assert (tower & moving).sum() <= 0.02 * tower.sum() + 1, f"a tower of {tower.sum()} px moves"


def test_an_enclosed_dark_cloud_moves(shipped):
    r, moving = _case(shipped, "dark_cells", 256)
    assert r.dark_clouds.sum() > 500 and (r.dark_clouds & ~moving).sum() <= 0.02 * r.dark_clouds.sum()


#: The hard cases that miss the bars today (docs/photos.md, "The moving region on real photos"): a white dome against
#: white clouds is read as sky.
MISSED = {"towers": "a white dome against white clouds moves (18% of the structures' pixels)"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=MISSED[n])) if n in MISSED else n
             for n in HARD_CASES]
)  # fmt: skip
def test_hard_cases_at_1024_px_meet_the_bars(shipped, name):
    from dl_lightning.metrics.region_scores import region_scores as scores

    r, moving = _case(shipped, name, 1024)
    s = scores(moving, r.moving, r.structures, margin=1)
    assert s["structures_moving"] <= 0.02 and s["sky_still"] <= 0.02, s
