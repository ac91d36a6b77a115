"""The moving region of a photo at its own resolution: sky, clouds and water move; land, towers and trees stay.

:func:`moving_region` runs five steps on the photo (``bench/real_photos.py`` measures each on real photos with
hand masks and on synthetic hard cases):

1. **coarse**: the photo segmenter's probability on the whole photo, at the short side it was trained at
   (``SegmenterConfig.resolution``), resampled to the short side the next steps work at (``rules_side``, 128 px);
2. **the photo's own colours**: where the segmenter is unsure (probability between :data:`SURE` and
   1 - :data:`SURE`), a pixel whose nearest sure pixels in colour, texture and height (:func:`colour_vote`) are
   mostly still is made still: boards, boats and shingle that the segmenter half takes for water. The vote only
   lowers the probability: a dark cloud or a blue distant hill is not pulled either way by its colour alone;
3. **topology** on the coarse mask: a still island that touches no border and lies above the horizon (a dark
   cloud inside the sky) is sky; below the horizon (a rock in a lake), or touching only the top border, it is sky
   only where the segmenter doubted (mean probability above :data:`DOUBT`); a water region coloured like the land
   is land (:func:`drop_land_coloured`); still water that mirrors a coloured sky, upside down about the horizon,
   moves (:func:`mirrored_sky`): the segmenter may miss all of a mirror-calm lake; a lake or sea (a moving region
   apart from the sky) takes in the still pixels
   it continues into without an edge of the photo (:func:`calm_water`): the segmenter finds the middle of a calm,
   sky-coloured lake and leaves its rest still. Whatever is still and joined to the land stays still, whatever its
   width;
4. **refinement**: closed-form matting (pymatting; Levin, Lischinski and Weiss 2008) at up to ``matte_side`` px,
   in a trimap whose unknown band is ``band`` coarse pixels either side of the coarse edge, so a minaret, a
   branch or a roof line is cut where the photo's colours cut it;
5. **thin and upright structures** at full resolution: masts, wires and twigs up to 1/200 of the short side wide
   (:func:`thin_structures`), and towers, minarets and trunks up to 1/50 wide that stand out from the sky on either
   side and are three times taller than wide (:func:`towers`), and upright things up to 1/25 wide that show only
   by their two straight sides, such as a white tower against white clouds (:func:`paired_edges`), that rise from
   the land, stay still: the segmenter at 128 px hardly sees what is narrower than two of its pixels
   (:mod:`dl_lightning.photo.upright`); so does a hazy distant hill or tree line that the sky took in, the band
   under a ridge (an edge darker below) just above the land (:func:`ridge_bands`).

:class:`Region` also says where the answer is doubtful: the pixels whose coarse probability lies between
:data:`UNSURE` and 1 - :data:`UNSURE`, the places a user may want to paint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from dl_lightning.photo.upright import cielab, paired_edges, ridge_bands, thin_structures, towers
from dl_lightning.photo.water import calm_water, drop_land_coloured, mirrored_sky

#: A still island below the horizon (or on the top border) becomes sky when the segmenter's mean probability on
#: it is above this.
DOUBT = 0.3
#: Pixels whose coarse probability lies in [UNSURE, 1 - UNSURE] are reported as uncertain.
UNSURE = 0.2
#: Pixels whose coarse probability is below SURE or above 1 - SURE are the colour vote's examples.
SURE = 0.1
#: The matting's regulariser, tried in turn until its solver converges (pymatting's default first).
MATTE_EPSILONS = (1e-7, 1e-4)


@dataclass
class RegionOptions:
    """How :func:`moving_region` finds the moving region.

    Attributes:
        side: short side at which the segmenter sees the photo; None: the side it was trained at.
        rules_side: short side at which steps 2-4 read the segmenter's probability (resampled to it), since their
            sizes and thresholds are in its pixels; None: the side the segmenter saw. The shipped segmenter sees 128
            px; a SegFormer (:mod:`dl_lightning.models.segformer`) 512.
        flip: average the segmenter's probability over the photo and its mirror image.
        colour_vote: apply step 2 (:func:`colour_vote`).
        neighbours: how many sure pixels vote for each unsure one.
        islands: apply step 3's islands rule.
        land_coloured: apply step 3's land-coloured water rule.
        mirror: step 3's mirrored sky (:func:`mirrored_sky`): still water that reflects a coloured sky moves.
        water_reach: step 3's calm water (:func:`calm_water`): how much colour change (CIELAB units summed along the
            path, beyond :data:`WATER_FLOOR` per coarse pixel) separates a still pixel from the water that takes it in;
            0: off.
        refine: apply step 4 (matting). Off: the coarse mask upsampled (bilinear) is the alpha.
        keep_thin: apply step 5 (thin and upright structures stay still).
        thin_width: the widest thin structure, as a fraction of the short side.
        tower_width: the widest upright structure that stays still (:func:`towers`), as a fraction of the short side;
            0: off.
        pair_width: the widest upright structure found by its two sides (:func:`paired_edges`), as a fraction of
            the short side; 0: off.
        ridge_depth: how far above the land a distant hill or tree line that the sky took in is looked for
            (:func:`ridge_bands`), as a fraction of the height; 0: off.
        matte_side: the largest side the matting works at (the photo is downsampled to it; the alpha upsampled).
        band: half-width of the matting's unknown band, in coarse pixels.
    """

    side: int | None = None
    rules_side: int | None = 128
    flip: bool = False
    colour_vote: bool = True
    neighbours: int = 16
    islands: bool = True
    land_coloured: bool = True
    mirror: bool = True
    water_reach: float = 6.0
    refine: bool = True
    keep_thin: bool = True
    thin_width: float = 1 / 200
    tower_width: float = 1 / 50
    pair_width: float = 1 / 25
    ridge_depth: float = 0.05
    matte_side: int = 1024
    band: float = 1.5


@dataclass
class Region:
    """``alpha`` (1, 1, H, W) in [0, 1] at the photo's size, exactly 0 where the photo stays; ``uncertain``
    (1, 1, H, W) bool; ``probability`` (1, 1, h, w), the coarse answer (the segmenter's, after the colour vote);
    ``changes``: pixels (at the coarse side) that the colour vote and each topology rule flipped."""

    alpha: torch.Tensor
    uncertain: torch.Tensor
    probability: torch.Tensor
    changes: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict:
        """What the job report and the page show: the shares of moving and uncertain pixels, and the rules' flips."""
        return {
            "moving_share": round(float((self.alpha > 0.5).float().mean()), 4),
            "uncertain_share": round(float(self.uncertain.float().mean()), 4),
            "topology_changes": self.changes,
        }


def at_short_side(x: torch.Tensor, side: int) -> torch.Tensor:
    """(B, C, H, W) resized to a short side of ``side`` (each side at least 8), keeping the aspect: area-averaged
    when shrinking, bilinear when growing; as it is when already that size."""
    h, w = x.shape[-2:]
    s = side / min(h, w)
    size = (max(8, round(h * s)), max(8, round(w * s)))
    if size == (h, w):
        return x
    return F.interpolate(x, size=size, mode="area" if s < 1 else "bilinear", align_corners=None)


def coarse_probability(
    segmenter: torch.nn.Module, photo: torch.Tensor, side: int | None = None, flip: bool = False
) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1] -> (1, 1, h, w): the segmenter's probability of motion at short side ``side``
    (default: the side it was trained at); with ``flip``, the mean of the photo's and its mirror image's."""
    small = at_short_side(photo.float(), side or segmenter.cfg.resolution)
    net = segmenter.to(photo.device).eval()
    prob = net.probability(small.clamp(-1, 1))[:, None]
    return (prob + net.probability(small.clamp(-1, 1).flip(-1))[:, None].flip(-1)) / 2 if flip else prob


def colour_vote(
    probability: torch.Tensor, photo: torch.Tensor, neighbours: int = 16, height: float = 30.0
) -> torch.Tensor:
    """Lower the coarse ``probability`` (1, 1, h, w) of ``photo`` (1, 3, H, W) in [-1, 1] where the photo's own sure
    pixels say still (step 2 of the module docstring).

    Each pixel is described by its CIELAB colour, the standard deviation of its lightness over 3 x 3 pixels and its
    height in the frame (0 at the top, ``height`` at the bottom, in Lab units). An unsure pixel's probability
    becomes the share of moving pixels among its ``neighbours`` nearest sure pixels, where that is lower.
    """
    h, w = probability.shape[-2:]
    p = probability.float().reshape(-1)
    sure_moving, sure_still = p > 1 - SURE, p < SURE
    unsure = torch.nonzero(~(sure_moving | sure_still))[:, 0]
    if len(unsure) == 0 or int(sure_moving.sum()) < neighbours or int(sure_still.sum()) < neighbours:
        return probability
    small = F.interpolate(photo.float().cpu(), size=(h, w), mode="area")
    lab = cielab(small)
    mean = F.avg_pool2d(lab[:, :1], 3, 1, 1, count_include_pad=False)
    spread = (F.avg_pool2d(lab[:, :1] ** 2, 3, 1, 1, count_include_pad=False) - mean**2).clamp_min(0).sqrt()
    rows = torch.linspace(0, height, h)[:, None].expand(h, w)[None, None]
    features = torch.cat([lab, spread, rows], 1).reshape(5, -1).T  # (h * w, 5)
    examples = sure_moving | sure_still
    reference, votes = features[examples], sure_moving[examples].float()
    out = p.clone()
    for chunk in unsure.split(2048):
        nearest = torch.cdist(features[chunk], reference).topk(neighbours, largest=False).indices
        out[chunk] = torch.minimum(votes[nearest].mean(1), p[chunk])
    return out.reshape(probability.shape).to(probability.dtype)


def horizon_row(moving: np.ndarray) -> int:
    """The first row (from the top) in which less than half the pixels move; the height if there is none."""
    rows = np.nonzero(moving.mean(1) < 0.5)[0]
    return int(rows[0]) if len(rows) else moving.shape[0]


def sky_islands(moving: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """(h, w) bool: the still islands of a coarse mask that are sky (step 2 of the module docstring)."""
    labels, n = ndimage.label(~moving)
    if n == 0:
        return np.zeros_like(moving)
    ids = np.arange(n + 1)
    edge = lambda line: np.isin(ids, line)  # noqa: E731
    side_or_bottom = edge(labels[-1]) | edge(labels[:, 0]) | edge(labels[:, -1])
    top = edge(labels[0]) & ~side_or_bottom
    rows = np.broadcast_to(np.arange(moving.shape[0])[:, None], moving.shape)
    lowest = np.zeros(n + 1)
    lowest[1:] = ndimage.maximum(rows, labels, ids[1:])
    doubt = np.zeros(n + 1)
    doubt[1:] = ndimage.mean(probability, labels, ids[1:])
    enclosed = ~side_or_bottom & ~top
    above = lowest < horizon_row(moving)
    sky = (enclosed & above) | ((enclosed | top) & (doubt > DOUBT))
    sky[0] = False
    return sky[labels]


def matte(image: np.ndarray, moving: np.ndarray, band: float) -> np.ndarray:
    """Closed-form matting of ``image`` (H, W, 3) float in [0, 1] with the trimap of a coarse mask ``moving``
    (h, w) bool: sure where farther than ``band`` coarse pixels from its edge, unknown in between. (H, W) float."""
    from pymatting import estimate_alpha_cf  # numba compiles it on first use (about a minute, once)

    big = F.interpolate(torch.from_numpy(moving.astype(np.float32))[None, None], size=image.shape[:2], mode="bilinear")
    big = big[0, 0].numpy() > 0.5
    r = band * image.shape[0] / moving.shape[0]
    sure_moving = ndimage.distance_transform_edt(big) > r
    sure_still = ndimage.distance_transform_edt(~big) > r
    if not sure_moving.any() or not sure_still.any():
        return big.astype(np.float64)
    trimap = np.full(big.shape, 0.5)
    trimap[sure_moving], trimap[sure_still] = 1.0, 0.0
    for epsilon in MATTE_EPSILONS:  # flat colours make the system ill-conditioned: a larger epsilon regularises it
        try:
            alpha = estimate_alpha_cf(
                image.astype(np.float64), trimap, laplacian_kwargs={"epsilon": epsilon}, cg_kwargs={"maxiter": 2000}
            )
            return np.clip(alpha, 0, 1)
        except ValueError:  # pymatting's conjugate gradients did not converge
            continue
    print("note: the matting did not converge on this photo (flat colours?): the moving region keeps its coarse edge")
    return big.astype(np.float64)


@torch.no_grad()
def moving_region(photo: torch.Tensor, segmenter: torch.nn.Module, options: RegionOptions | None = None) -> Region:
    """The moving region of ``photo`` (1, 3, H, W) in [-1, 1], any size (see the module docstring)."""
    opts = options or RegionOptions()
    probability = coarse_probability(segmenter, photo, opts.side, opts.flip).cpu()
    return refine_region(at_short_side(probability, opts.rules_side) if opts.rules_side else probability, photo, opts)


@torch.no_grad()
def refine_region(probability: torch.Tensor, photo: torch.Tensor, options: RegionOptions | None = None) -> Region:
    """Steps 2-5 of the module docstring on a coarse ``probability`` (1, 1, h, w) of motion for ``photo``
    (1, 3, H, W) in [-1, 1]."""
    opts = options or RegionOptions()
    h, w = photo.shape[-2:]
    prob = probability.float().cpu()
    changes = {}
    if opts.colour_vote:
        voted = colour_vote(prob, photo, opts.neighbours)
        changes["colour_vote"] = int(((prob > 0.5) & (voted <= 0.5)).sum())
        prob = voted
    moving = prob[0, 0].numpy() > 0.5
    small = F.interpolate(photo.float().cpu(), size=moving.shape, mode="area")  # the photo at the coarse size
    if opts.islands:
        islands = sky_islands(moving, prob[0, 0].numpy())
        changes["sky_islands"] = int(islands.sum())
        moving = moving | islands
    if opts.land_coloured:
        kept, dropped = drop_land_coloured(torch.from_numpy(moving).float()[None, None], small)
        moving, changes["land_coloured_water"] = kept[0, 0].numpy() > 0.5, dropped
    lab = cielab(small)[0].numpy()
    if opts.mirror:
        mirrored = mirrored_sky(moving, lab)
        moving, changes["mirrored_sky"] = moving | mirrored, int(mirrored.sum())
    if opts.water_reach > 0:
        water = calm_water(moving, lab, opts.water_reach)
        moving, changes["calm_water"] = moving | water, int(water.sum())
    if opts.refine:
        s = min(1.0, opts.matte_side / max(h, w))
        size = (max(1, round(h * s)), max(1, round(w * s)))
        image = (F.interpolate(photo.float().cpu(), size=size, mode="area")[0].permute(1, 2, 0).numpy() + 1) / 2
        alpha = torch.from_numpy(matte(image.clip(0, 1), moving, opts.band)).float()[None, None]
    else:
        alpha = torch.from_numpy(moving).float()[None, None]
    alpha = F.interpolate(alpha, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
    if opts.keep_thin:
        alpha = alpha.masked_fill(thin_structures(alpha, photo.cpu(), opts.thin_width), 0.0)
        if opts.tower_width > 0:
            alpha = alpha.masked_fill(towers(alpha, photo.cpu(), opts.tower_width), 0.0)
        if opts.pair_width > 0:
            alpha = alpha.masked_fill(paired_edges(alpha, photo.cpu(), opts.pair_width), 0.0)
        if opts.ridge_depth > 0:
            alpha = alpha.masked_fill(ridge_bands(alpha, photo.cpu(), opts.ridge_depth), 0.0)
    alpha = torch.where(alpha < 0.01, torch.zeros_like(alpha), torch.where(alpha > 0.99, torch.ones_like(alpha), alpha))
    p = F.interpolate(prob, size=(h, w), mode="bilinear", align_corners=False)
    return Region(alpha, (p >= UNSURE) & (p <= 1 - UNSURE), prob, changes)
