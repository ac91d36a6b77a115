import torch
from torch import nn

from dl_lightning.training.crops import same_crop, shifted_crops
from dl_lightning.training.losses import d_logistic, g_nonsaturating, r1_penalty


class Linear(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(a)

    def forward(self, x):
        return (x * self.a).flatten(1).sum(1, keepdim=True)


def test_r1_on_a_linear_discriminator_is_its_squared_norm():
    a = torch.randn(3, 8, 8)
    r1 = r1_penalty(Linear(a), torch.randn(5, 3, 8, 8))
    torch.testing.assert_close(r1, a.square().sum())


def test_r1_of_quadratic_discriminator():
    class Quad(nn.Module):
        def forward(self, x):
            return 0.5 * x.square().flatten(1).sum(1, keepdim=True)  # grad = x

    x = torch.randn(4, 3, 4, 4)
    torch.testing.assert_close(r1_penalty(Quad(), x), x.square().flatten(1).sum(1).mean())


def test_logistic_losses_known_values():
    zero = torch.zeros(4, 1)
    ln2 = torch.log(torch.tensor(2.0))
    torch.testing.assert_close(d_logistic(zero, zero), 2 * ln2)
    torch.testing.assert_close(g_nonsaturating(zero), ln2)
    assert d_logistic(torch.full((2, 1), 10.0), torch.full((2, 1), -10.0)) < 1e-3


def test_same_crop_is_identical_on_both_frames():
    frame = torch.randn(6, 3, 32, 32)
    pairs = torch.stack([frame, frame], 1)
    out = same_crop(pairs, 0.75, size=16)
    assert out.shape == (6, 2, 3, 16, 16)
    torch.testing.assert_close(out[:, 0], out[:, 1])


def test_shifted_crops_are_displaced():
    ramp = torch.linspace(-1, 1, 64)
    frames = torch.stack([ramp[None, :].expand(64, 64), ramp[:, None].expand(64, 64), torch.zeros(64, 64)])[
        None
    ].repeat(32, 1, 1, 1)
    pairs = shifted_crops(frames, 0.75, min_shift=0.05)
    # mean of the x/y ramps = crop centre; displacement between crops >= 0.05 of the side (0.1 normalised)
    shift = (pairs[:, 1, :2].mean(dim=(2, 3)) - pairs[:, 0, :2].mean(dim=(2, 3))).norm(dim=1)
    assert (shift > 0.09).all(), shift.min()
    same = shifted_crops(frames, 0.75, min_shift=0.0)
    assert same.shape == (32, 2, 3, 64, 64)


def test_relativistic_pairing_loss():
    from dl_lightning.training.losses import relativistic

    a, b = torch.tensor([[3.0], [1.0]]), torch.tensor([[1.0], [-1.0]])
    torch.testing.assert_close(relativistic(a, b), torch.nn.functional.softplus(torch.tensor(-2.0)))
    assert relativistic(a + 5, b) < relativistic(a, b) < relativistic(b, a), "a wider margin costs less"
    torch.testing.assert_close(relativistic(a + 7, b + 7), relativistic(a, b))  # only differences count
