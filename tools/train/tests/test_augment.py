"""Augmentation invariants: the label stays on the nails through every geometric step,
colour steps stay on their side of the mask, outputs have the documented shapes, dtypes
and ranges, and a seed fixes the result.

The sample photos (builders.nail_scene) have a red channel of 255 exactly on the training
target and 0 elsewhere, so after any geometric transform the red channel says where the
nails went, and the label must say the same."""
import numpy as np
import pytest
from scipy import ndimage

import builders
from nailtrain import augment, dataset


@pytest.fixture
def geometry_only(monkeypatch):
    """Switch off the colour steps (tested on their own below) so that only geometry
    moves pixels. The test's monkeypatch undoes it."""
    monkeypatch.setattr(augment, "polish", lambda rng, img, mask: img)
    monkeypatch.setattr(augment, "glare", lambda rng, img, mask: img)
    monkeypatch.setattr(augment, "photometric", lambda rng, img: np.clip(img, 0, 255).astype(np.uint8))


def all_samples(by_source):
    return [s for v in by_source.values() for s in v]


def test_transform_keeps_label_on_nails(samples, geometry_only):
    shapes = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        for s in all_samples(samples):
            scale = float(rng.uniform(0.3, 2.0))
            img, lab, alpha = augment.transform(rng, s, scale)
            assert img.dtype == lab.dtype == alpha.dtype == np.float32
            assert img.shape == lab.shape + (3,) and alpha.shape == lab.shape
            assert set(np.unique(lab)) <= {0.0, 1.0}
            assert 0 <= alpha.min() and alpha.max() <= 1
            # Image and label go through the same resize, flips and rotation: exactly.
            np.testing.assert_array_equal(img[..., 0] > 127, lab > 0.5)
            assert lab.sum() > 0
            shapes.add(img.shape[:2] == (max(8, round(s.image.shape[0] * scale)),
                                         max(8, round(s.image.shape[1] * scale))))
    assert shapes == {True, False}, "both rotated (expanded) and unrotated draws were seen"


def _marked_and_blank(by_source):
    """Two copies of the samples that differ only in the red channel of the nails."""
    blank = {}
    for src, v in by_source.items():
        for s in v:
            img = s.image.copy()
            img[..., 0] = 0
            blank.setdefault(src, []).append(dataset.Sample(s.id, s.source, s.split, img, s.mask, s.instances))
    return by_source, blank


def test_synth_keeps_label_on_nails(samples, geometry_only):
    # Same seed, photos that differ only on their nails: every random draw is the same, so
    # the difference of the two crops is the nails of every photo pasted, wherever the
    # backgrounds, placement, flips, rotations and mosaics put them.
    marked, blank = _marked_and_blank(samples)
    checked = 0
    for seed in range(60):
        img_m, lab_m = augment.synth(np.random.default_rng(seed), marked, 64, 96)
        img_b, lab_b = augment.synth(np.random.default_rng(seed), blank, 64, 96)
        np.testing.assert_array_equal(lab_m, lab_b)
        np.testing.assert_array_equal(img_m[..., 1:], img_b[..., 1:])
        nails = (img_m[..., 0].astype(int) - img_b[..., 0]) > 127
        wrong = nails != (lab_m > 0.5)
        # Where a photo's blended edge (alpha between 0 and 1) crosses a nail, the colour is
        # mixed and the label is the harder of the two: allow that within one pixel of a
        # label edge, nowhere else.
        edge = ndimage.binary_dilation(lab_m > 0.5) & ~ndimage.binary_erosion(lab_m > 0.5)
        assert not (wrong & ~edge).any(), f"seed {seed}: label off the nails at {np.argwhere(wrong & ~edge)[:5]}"
        assert wrong.sum() <= 0.02 * max(1, lab_m.sum()), f"seed {seed}"
        checked += int(lab_m.sum() > 0)
    assert checked >= 40, "most crops hold a nail"


def test_clean_view_is_the_photo_on_the_pad(samples, geometry_only):
    # clean=1: every non-negative crop is one photo, scaled and maybe mirrored, nothing
    # pasted around it but the letterbox colour: the red channel is 255 exactly on the
    # label (bilinear edges aside), and every pixel is either the photo's or the pad's.
    marked, blank = _marked_and_blank(samples)
    padded = 0
    for seed in range(40):
        img_m, lab_m = augment.synth(np.random.default_rng(seed), marked, 64, 96, clean=1.0)
        img_b, lab_b = augment.synth(np.random.default_rng(seed), blank, 64, 96, clean=1.0)
        np.testing.assert_array_equal(lab_m, lab_b)
        nails = (img_m[..., 0].astype(int) - img_b[..., 0]) > 127
        edge = ndimage.binary_dilation(lab_m > 0.5) & ~ndimage.binary_erosion(lab_m > 0.5)
        assert not ((nails != (lab_m > 0.5)) & ~edge).any(), f"seed {seed}"
        pad = (img_b == np.array(augment.PAD_RGB, np.uint8)).all(axis=2)
        padded += int(pad.any())
        # The builders' photos are green and blue off the nails, never the pad's grey.
        assert not (pad & (lab_m > 0.5)).any()
    assert padded > 0, "some crops reach past a photo's edge onto the pad"


def test_zoomed_out_mosaic_keeps_label_on_smaller_nails(samples, geometry_only):
    # zoom_out=1: every clean crop is four photos zoomed out into the canvas's quarters.
    # The label follows the nails exactly (the marked/blank difference, as above), nothing
    # crosses from one quarter into another, and the nails are smaller than clean_view's.
    marked, blank = _marked_and_blank(samples)
    mosaic_px, clean_px, quarters = [], [], set()
    for seed in range(30):
        img_m, lab_m = augment.synth(np.random.default_rng(seed), marked, 64, 96, clean=1.0, zoom_out=1.0)
        img_b, lab_b = augment.synth(np.random.default_rng(seed), blank, 64, 96, clean=1.0, zoom_out=1.0)
        np.testing.assert_array_equal(lab_m, lab_b)
        nails = (img_m[..., 0].astype(int) - img_b[..., 0]) > 127
        edge = ndimage.binary_dilation(lab_m > 0.5) & ~ndimage.binary_erosion(lab_m > 0.5)
        assert not ((nails != (lab_m > 0.5)) & ~edge).any(), f"seed {seed}"
        for q, (ys, xs) in enumerate([(slice(0, 32), slice(0, 32)), (slice(0, 32), slice(32, 64)),
                                      (slice(32, 64), slice(0, 32)), (slice(32, 64), slice(32, 64))]):
            if lab_m[ys, xs].any():
                quarters.add(q)
        comps, n = ndimage.label(lab_m > 0.5)
        mosaic_px += list(ndimage.sum(lab_m > 0.5, comps, range(1, n + 1)))
        _, lab_c = augment.synth(np.random.default_rng(seed), marked, 64, 96, clean=1.0)
        comps, n = ndimage.label(lab_c > 0.5)
        clean_px += list(ndimage.sum(lab_c > 0.5, comps, range(1, n + 1)))
    assert quarters == {0, 1, 2, 3}, "every quarter holds nails in some draw"
    assert np.median(mosaic_px) < 0.5 * np.median(clean_px), (np.median(mosaic_px), np.median(clean_px))


def test_zoom_out_zero_draws_as_before(samples):
    for seed in range(5):
        a = augment.synth(np.random.default_rng(seed), samples, 64, 96, clean=0.5)
        b = augment.synth(np.random.default_rng(seed), samples, 64, 96, clean=0.5, zoom_out=0.0)
        np.testing.assert_array_equal(a[0], b[0])


def test_clean_zero_draws_as_before(samples):
    for seed in range(5):
        a = augment.synth(np.random.default_rng(seed), samples, 64, 96)
        b = augment.synth(np.random.default_rng(seed), samples, 64, 96, clean=0.0)
        np.testing.assert_array_equal(a[0], b[0])


def test_polish_changes_only_nails(samples):
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for s in all_samples(samples):
            img = s.image.astype(np.float32)
            out = augment.polish(rng, img, s.mask)
            np.testing.assert_array_equal(out[~s.mask], img[~s.mask])
            assert out.shape == img.shape and 0 <= out.min() and out.max() <= 255 + 1e-3


def test_glare_changes_only_skin(samples):
    changed = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for s in all_samples(samples):
            img = s.image.astype(np.float32)
            out = augment.glare(rng, img, s.mask)
            np.testing.assert_array_equal(out[s.mask], img[s.mask])
            assert (out >= img - 1e-4).all() and out.max() <= 255 + 1e-4, "glare only brightens"
            changed += int((out != img).any())
    assert changed > 0


def test_photometric_output(samples):
    img = augment.background(np.random.default_rng(0), 48, samples, 96)[0]
    for seed in range(20):
        out = augment.photometric(np.random.default_rng(seed), img)
        assert out.dtype == np.uint8 and out.shape == (48, 48, 3)


def test_synth_shapes_ranges_and_seed(samples):
    for seed in range(10):
        img, lab = augment.synth(np.random.default_rng(seed), samples, 64, 96)
        assert img.dtype == np.uint8 and img.shape == (64, 64, 3)
        assert lab.dtype == np.float32 and lab.shape == (64, 64)
        assert set(np.unique(lab)) <= {0.0, 1.0}
        again = augment.synth(np.random.default_rng(seed), samples, 64, 96)
        np.testing.assert_array_equal(img, again[0])
        np.testing.assert_array_equal(lab, again[1])
    a = augment.synth(np.random.default_rng(1), samples, 64, 96)[0]
    b = augment.synth(np.random.default_rng(2), samples, 64, 96)[0]
    assert not np.array_equal(a, b)


def test_explicit_default_weights_draw_the_same(samples):
    a = augment.synth(np.random.default_rng(5), samples, 64, 96)
    b = augment.synth(np.random.default_rng(5), samples, 64, 96, dict(augment.SOURCE_WEIGHTS))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_pick_follows_weights(samples):
    rng = np.random.default_rng(0)
    assert {augment.pick(rng, samples, {"fingers": 1.0}).source for _ in range(50)} == {"fingers"}
    # Sources without photos are skipped, whatever their weight.
    assert augment.pick(rng, {"closeups": samples["closeups"]}).source == "closeups"
    draws = [augment.pick(rng, samples).source for _ in range(4000)]
    for src, share in augment.SOURCE_WEIGHTS.items():
        assert draws.count(src) / len(draws) == pytest.approx(share, abs=0.03), src


def test_pick_within_a_source_follows_sample_weights(samples):
    hands = samples["hands"]
    try:
        hands[0].weight, hands[1].weight = 3.0, 1.0
        rng = np.random.default_rng(0)
        draws = [augment.pick(rng, samples, {"hands": 1.0}).id for _ in range(4000)]
        assert draws.count(hands[0].id) / len(draws) == pytest.approx(0.75, abs=0.03)
        hands[0].weight = 0.0  # a weight of zero is never drawn
        assert {augment.pick(rng, samples, {"hands": 1.0}).id for _ in range(200)} == {hands[1].id}
    finally:
        hands[0].weight = hands[1].weight = 1.0


def test_module_constants_are_read_only():
    with pytest.raises(TypeError):
        augment.SOURCE_WEIGHTS["hands"] = 1.0
    for a in (augment.MEAN, augment.STD, augment.SKIN_TONES):
        with pytest.raises(ValueError):
            a[0] = 0


def test_letterbox_and_normalise():
    img, mask, _ = builders.nail_scene(40, 80)
    canvas, s, (dx, dy, nw, nh) = augment.letterbox(img, 100)
    assert canvas.shape == (100, 100, 3) and canvas.dtype == np.uint8
    assert (s, dx, dy, nw, nh) == (1.25, 0, 25, 100, 50)
    pad = np.ones((100, 100), bool)
    pad[dy:dy + nh, dx:dx + nw] = False
    assert (canvas[pad] == augment.PAD_RGB).all()
    # The nails land where the scale and offset say (bilinear: within a pixel).
    red = canvas[..., 0] > 127
    ys, xs = np.nonzero(red)
    ty, tx = np.nonzero(img[..., 0] > 127)
    assert abs(ys.min() - (dy + ty.min() * s)) <= 1 and abs(xs.max() - (dx + (tx.max() + 1) * s - 1)) <= 1
    x = augment.normalise(canvas)
    assert x.dtype == np.float32 and x.shape == (3, 100, 100) and x.flags.c_contiguous
    assert np.abs(x[:, pad]).max() < 0.01, "the letterbox fill is 0 after normalisation"


# The whole-photo versions polish and glare replaced (they did the same arithmetic over
# every pixel): the definitions the faster ones must match, draws included.
def _polish_whole_photo(rng, img, mask):
    if not mask.any():
        return img
    L = augment._luma(img)
    mean = max(8.0, float(L[mask].mean()))
    r = rng.random()
    if r < 0.15:
        color = rng.uniform(0, 40, 3)
    elif r < 0.3:
        color = augment.SKIN_TONES[rng.integers(len(augment.SKIN_TONES))] * rng.uniform(0.9, 1.15)
    elif r < 0.4:
        color = rng.uniform(215, 255, 3)
    else:
        h, s, v = rng.uniform(0, 1), rng.uniform(0.35, 1.0), rng.uniform(0.25, 1.0)
        color = np.array(augment._hsv_to_rgb(h, s, v)) * 255
    finish = rng.random()
    contrast = 1.6 if finish < 0.2 else 0.8
    shade = np.clip((L / mean), 0.3, 2.0) ** contrast
    new = color[None, None, :] * shade[..., None]
    if finish > 0.4:
        new = new + np.clip(L - np.percentile(L[mask], 90), 0, None)[..., None] * rng.uniform(0.8, 2.0)
    if 0.2 <= finish < 0.3:
        new = new + (rng.random(L.shape) < 0.05)[..., None] * rng.uniform(60, 160)
    soft = ndimage.gaussian_filter(mask.astype(np.float32), 0.6) * mask
    alpha = (soft * rng.uniform(0.75, 1.0))[..., None]
    return img * (1 - alpha) + np.clip(new, 0, 255) * alpha


def _glare_whole_photo(rng, img, mask):
    if not mask.any():
        return img
    scale = max(img.shape[:2]) / 384
    ring = ndimage.binary_dilation(mask, iterations=max(2, int(rng.uniform(3, 14) * scale))) & ~mask
    ys, xs = np.nonzero(ring)
    if len(ys) == 0:
        return img
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]].astype(np.float32)
    for _ in range(rng.integers(1, 5)):
        k = rng.integers(len(ys))
        rad = rng.uniform(1.5, 6.0) * scale
        spot = np.exp(-(((yy - ys[k]) ** 2 + (xx - xs[k]) ** 2) / (2 * rad * rad)))
        spot[mask] = 0
        img = img + (255 - img) * (spot * rng.uniform(0.4, 0.9))[..., None]
    return img


def _edge_masks(samples):
    """The samples' own masks, plus nails cut by each border of the photo."""
    for s in all_samples(samples):
        yield s.image, s.mask
        for cut in (np.s_[5:], np.s_[:-5], np.s_[:, 5:], np.s_[:, :-5]):
            m = s.mask.copy()
            m[cut] = False
            yield s.image, m


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fast, whole, atol", [
    (augment.polish, _polish_whole_photo, 0),   # bit for bit
    (augment.glare, _glare_whole_photo, 1e-9),  # the spots' tails past 10 radii, ~1e-21 of 255
], ids=["polish", "glare"])
def test_near_the_nails_is_the_whole_photo_arithmetic(samples, dtype, fast, whole, atol):
    for seed in range(40):
        for img, mask in _edge_masks(samples):
            a, b = np.random.default_rng(seed), np.random.default_rng(seed)
            img = img.astype(dtype)
            got, want = fast(a, img.copy(), mask), whole(b, img, mask)
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)
            assert a.random() == b.random(), "the same draws"


def test_small_nail_weights():
    lab = np.zeros((40, 40), np.float32)
    lab[1:3, 1:3] = 1  # 4 px: sqrt(400 / 4) = 10, capped at 4
    lab[10:20, 10:14] = 1  # 40 px: sqrt(10)
    lab[22:40, 20:40] = 1  # 360 px of another nail: sqrt(400 / 360)
    lab[0, 30:40] = 0.4  # soft label under 0.5: background
    w = augment.small_nail_weights(lab, 400)
    assert w.dtype == np.float32 and w.shape == lab.shape
    assert np.all(w[1:3, 1:3] == 4.0)
    np.testing.assert_allclose(w[10:20, 10:14], np.sqrt(10.0), rtol=1e-6)
    np.testing.assert_allclose(w[22:40, 20:40], np.sqrt(400 / 360), rtol=1e-6)
    assert w[0, 35] == 1.0 and w[5, 5] == 1.0, "background weighs 1"
    assert np.all(augment.small_nail_weights(lab, 40)[22:40, 20:40] == 1.0), "large nails weigh 1"
    assert np.all(augment.small_nail_weights(lab, 0) == 1.0)
    assert np.all(augment.small_nail_weights(np.zeros((8, 8), np.float32), 400) == 1.0)
