import numpy as np

from dl_lightning.data.synthetic.landscape import lighting, render_scene


def test_render_is_deterministic_per_seed():
    a, ma = render_scene(7, 32, np.array([0.5]), np.array([0.0]))
    b, mb = render_scene(7, 32, np.array([0.5]), np.array([0.0]))
    c, _ = render_scene(8, 32, np.array([0.5]), np.array([0.0]))
    assert a.shape == (1, 32, 32, 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert np.abs(a - c).mean() > 0.02


def test_static_pixels_fixed_while_sky_moves():
    taus = np.full(5, 0.45)  # fixed time of day
    frames, dyn = render_scene(3, 48, taus, np.arange(5) * 3.0)
    assert 0.1 < dyn.mean() < 0.9, "scene should have both sky/water and land"
    land = ~dyn
    diff = np.abs(frames[1:] - frames[:1])  # change w.r.t. frame 0
    assert diff[:, land].max() == 0.0, "land must not move"
    assert diff[:, dyn].mean() > 1e-3, "clouds/water must move"


def test_lighting_changes_across_a_video():
    taus = np.linspace(0.45, 0.8, 4)  # noon -> night
    frames, dyn = render_scene(5, 32, taus, np.zeros(4))
    land_brightness = [f[~dyn].mean() for f in frames]
    assert land_brightness[0] > land_brightness[-1] * 2, land_brightness
    assert lighting(0.5).daylight > 0.9 and lighting(0.0).daylight < 0.05
