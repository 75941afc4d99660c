"""Segmentation metrics used to pick and report the model (Python side).

The same definitions are implemented in Go (tools/eval over the nails pipeline); this copy
drives early stopping during training, where the Go runner is not in the loop.

- IoU and Dice over all pixels of a split (intersections and unions summed over images);
- boundary F-score: precision/recall of boundary pixels within a tolerance of
  max(1, 0.005 * image diagonal) pixels (a stricter cousin of the DAVIS measure);
- instances: predicted nails are the 8-connected components of the prediction; true
  nails are the nails of the photo's instance map where it has one (touching nails stay
  apart), else the 8-connected components of the mask; a prediction matches a true nail
  at IoU >= 0.5 (greedy, best IoU first); precision, recall, F1 over the split.

tools/eval/testdata/golden holds one scored example that tests on both sides check
(tests/test_golden.py here, metrics_test.go there).
"""
import math

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), dtype=bool)
EIGHT.flags.writeable = False


def boundary(mask):
    return mask & ~ndimage.binary_erosion(mask, structure=EIGHT, border_value=0)


def components(mask, min_area=0):
    lab, n = ndimage.label(mask, structure=EIGHT)
    out = []
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        comp = lab[sl] == i
        if comp.sum() >= min_area:
            out.append((sl, comp))
    return out


def instances_from_labels(labels):
    """One (slices, mask) per nail number of an instance map (0 = background), in number
    order: the form components() returns."""
    out = []
    for i, sl in enumerate(ndimage.find_objects(labels.astype(np.int32)), start=1):
        if sl is not None:
            out.append((sl, labels[sl] == i))
    return out


def _match(pred, true):
    """Greedy one-to-one matching at IoU >= 0.5 between two component lists."""
    pairs = []
    for i, (ps, pm) in enumerate(pred):
        for j, (ts, tm) in enumerate(true):
            y0, y1 = max(ps[0].start, ts[0].start), min(ps[0].stop, ts[0].stop)
            x0, x1 = max(ps[1].start, ts[1].start), min(ps[1].stop, ts[1].stop)
            if y1 <= y0 or x1 <= x0:
                continue
            a = pm[y0 - ps[0].start:y1 - ps[0].start, x0 - ps[1].start:x1 - ps[1].start]
            b = tm[y0 - ts[0].start:y1 - ts[0].start, x0 - ts[1].start:x1 - ts[1].start]
            inter = float((a & b).sum())
            iou = inter / (pm.sum() + tm.sum() - inter)
            if iou >= 0.5:
                pairs.append((iou, i, j))
    used_p, used_t, tp = set(), set(), 0
    for iou, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            tp += 1
    return tp


class Accumulator:
    def __init__(self):
        self.inter = self.union = self.psum = self.tsum = 0.0
        self.bp_hit = self.bp_all = self.br_hit = self.br_all = 0.0
        self.tp = self.npred = self.ntrue = 0
        self.images = 0

    def add(self, pred, true, min_area=0, instances=None):
        """Score one image: pred and true are HxW masks; min_area drops smaller predicted
        nails from the instance counts (not from the pixel metrics); instances is the
        photo's instance map (HxW, nail number per pixel) or None."""
        pred, true = pred.astype(bool), true.astype(bool)
        self.images += 1
        self.inter += float((pred & true).sum())
        self.union += float((pred | true).sum())
        self.psum += float(pred.sum())
        self.tsum += float(true.sum())
        tol = max(1, int(math.ceil(0.005 * math.hypot(*pred.shape))))
        pb, tb = boundary(pred), boundary(true)
        if pb.any() or tb.any():
            dt_true = ndimage.distance_transform_edt(~tb) if tb.any() else np.full(pb.shape, np.inf)
            dt_pred = ndimage.distance_transform_edt(~pb) if pb.any() else np.full(tb.shape, np.inf)
            self.bp_hit += float((dt_true[pb] <= tol).sum())
            self.bp_all += float(pb.sum())
            self.br_hit += float((dt_pred[tb] <= tol).sum())
            self.br_all += float(tb.sum())
        pc = components(pred, min_area)
        tc = components(true) if instances is None else instances_from_labels(instances)
        self.tp += _match(pc, tc)
        self.npred += len(pc)
        self.ntrue += len(tc)

    def result(self):
        def div(a, b):
            return a / b if b else 0.0
        bp, br = div(self.bp_hit, self.bp_all), div(self.br_hit, self.br_all)
        p, r = div(self.tp, self.npred), div(self.tp, self.ntrue)
        return {
            "images": self.images,
            "iou": round(div(self.inter, self.union), 4),
            "dice": round(div(2 * self.inter, self.psum + self.tsum), 4),
            "boundary_f": round(div(2 * bp * br, bp + br), 4),
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(div(2 * p * r, p + r), 4),
        }
