"""nailtrain.metrics on hand-made masks whose answers are worked out in the comments."""
import numpy as np
import pytest

from nailtrain.metrics import Accumulator, boundary, components, instances_from_labels


def grid(*rows):
    return np.array([[c == "#" for c in r] for r in rows])


def score(pred, true, min_area=0, instances=None):
    acc = Accumulator()
    acc.add(pred, true, min_area, instances)
    return acc, acc.result()


def square(n, y0, x0, side=10):
    m = np.zeros((n, n), bool)
    m[y0:y0 + side, x0:x0 + side] = True
    return m


def test_perfect_prediction():
    true = grid("##......", "##....##", "......##")
    _, r = score(true, true)
    assert r == {"images": 1, "iou": 1.0, "dice": 1.0, "boundary_f": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_empty_prediction_and_empty_image():
    true = grid("##......", "##....##", "......##")
    _, r = score(np.zeros_like(true), true)
    assert r == {"images": 1, "iou": 0.0, "dice": 0.0, "boundary_f": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    # Nothing predicted and nothing there: every ratio is 0/0, reported as 0 (as tools/eval does).
    acc, r = score(np.zeros((4, 4)), np.zeros((4, 4)))
    assert (acc.union, acc.npred, acc.ntrue, r["iou"], r["f1"]) == (0, 0, 0, 0.0, 0.0)


def test_half_nail_and_a_false_one():
    true = grid("####....", "####....", "........")
    pred = grid("##......", "##.....#", ".......#")
    acc, r = score(pred, true)
    # |pred & true| = 4, |pred | true| = 8 + 2; the half nail matches at IoU exactly 0.5.
    assert (acc.inter, acc.union, acc.tp, acc.npred, acc.ntrue) == (4, 10, 1, 2, 1)
    assert r["iou"] == 0.4 and r["dice"] == round(8 / 14, 4)
    assert (r["precision"], r["recall"], r["f1"]) == (0.5, 1.0, round(2 / 3, 4))


def test_boundary_f_shifted_square():
    # 10x10 squares, the prediction 3 px right, in a 40x40 image: tolerance
    # max(1, ceil(0.005 * hypot(40, 40))) = 1. Each boundary has 36 pixels; within 1 px of
    # the other's: 8 on the top row, 8 on the bottom, 2 on the near side next to the
    # corners, 0 on the far side = 18 -> precision = recall = 0.5.
    true, pred = square(40, 10, 10), square(40, 10, 13)
    acc, r = score(pred, true)
    assert (acc.bp_hit, acc.bp_all, acc.br_hit, acc.br_all) == (18, 36, 18, 36)
    assert r["boundary_f"] == 0.5
    assert (acc.inter, acc.union) == (70, 130)
    assert r["iou"] == round(7 / 13, 4) and r["dice"] == 0.7
    assert r["f1"] == 1.0, "IoU 0.54 >= 0.5: the nail is found"


def test_boundary_tolerance_grows_with_the_image():
    # The same squares in a 400x400 image: tolerance ceil(0.005 * 565.7) = 3 px, so every
    # boundary pixel is within reach of the other boundary.
    acc, r = score(square(400, 10, 13), square(400, 10, 10))
    assert (acc.bp_hit, acc.br_hit) == (36, 36) and r["boundary_f"] == 1.0


def test_boundary_includes_image_edge_and_holes():
    m = np.ones((5, 5), bool)
    m[2, 2] = False
    b = boundary(m)
    # Outer ring (touches the image edge) and the hole's 8 neighbours: all 24 set pixels.
    assert b.sum() == 24
    m[2, 2] = True
    assert boundary(m).sum() == 16 and not boundary(m)[2, 2]


def test_components_are_8_connected():
    m = grid("##....", "##....", "..##..", "..##..", ".....#")
    comps = components(m)
    assert [int(c.sum()) for _, c in comps] == [8, 1]
    assert [int(c.sum()) for _, c in components(m, min_area=2)] == [8]


def test_min_area_drops_small_predictions_from_instances_only():
    true = grid("###.....", "###.....", "........")
    pred = grid("###.....", "###....#", ".......#")
    acc, r = score(pred, true, min_area=3)
    assert (acc.npred, r["precision"]) == (1, 1.0), "the 2-pixel speck is not a nail"
    assert acc.psum == 8 and r["iou"] == 0.75, "but its pixels still count"


def test_instance_map_keeps_touching_nails_apart():
    # Three touching nails: one component of the mask, three nails of the instance map.
    labels = np.array([[1, 1, 2, 2, 3, 3, 0, 0]] * 2, np.uint8)
    true = labels > 0
    assert [int(c.sum()) for _, c in instances_from_labels(labels)] == [4, 4, 4]
    acc, r = score(true, true, instances=labels)
    assert (acc.tp, acc.npred, acc.ntrue, r["recall"]) == (0, 1, 3, 0.0), "one blob over three nails finds none"
    acc, r = score(true, true)
    assert (acc.tp, acc.npred, acc.ntrue, r["f1"]) == (1, 1, 1, 1.0), "without the map the blob is the nail"
    split = labels.copy()
    split[:, [1, 3]] = 0  # predict the three nails with gaps between them
    acc, r = score(split > 0, true, instances=labels)
    assert (acc.tp, acc.npred, acc.ntrue) == (3, 3, 3)


def test_instance_numbers_may_skip():
    labels = np.array([[0, 2, 2, 0, 5]], np.uint8)
    assert [(int(c.sum()), sl) for sl, c in instances_from_labels(labels)] == [
        (2, (slice(0, 1), slice(1, 3))), (1, (slice(0, 1), slice(4, 5)))]


def test_counts_add_up_over_images():
    # IoU over a split sums intersections and unions: (4 + 0) / (4 + 12), not the mean
    # of the per-image IoUs (1 and 0).
    acc = Accumulator()
    a = square(8, 0, 0, 2)
    acc.add(a, a)
    b = np.zeros((8, 8), bool)
    b[0:3, 0:4] = True
    acc.add(np.zeros((8, 8), bool), b)
    r = acc.result()
    assert r["images"] == 2 and r["iou"] == 0.25
    assert (r["precision"], r["recall"]) == (1.0, 0.5)


def test_result_is_rounded_to_4_places():
    _, r = score(square(40, 10, 13), square(40, 10, 10))
    assert r["iou"] == 0.5385 and r["iou"] != pytest.approx(7 / 13, abs=1e-6)
