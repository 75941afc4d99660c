"""Builders for the tests: nail scenes, tiny samples, a tiny dataset on disk, a small
exported NailNet."""
import csv
import os

import numpy as np
import torch
from PIL import Image

from nailtrain import dataset
from nailtrain.model import MobileNetV2Seg, NailNet

NAILNET_WIDTHS = (8, 8, 16, 16, 16)
HEADER = ["id", "source", "split", "image", "mask", "width", "height", "nails", "instances", "origin"]


def nail_scene(h, w, seed=0):
    """An image, its mask and its instance map: three nails (two touching, all asymmetric
    so that a flip or a rotation shows), on a noisy green/blue background. The image's red
    channel is 255 exactly on the training target (mask less the gap between touching
    nails) and 0 elsewhere, so where the nails went can be read back from the image."""
    rng = np.random.default_rng(seed)
    inst = np.zeros((h, w), np.uint8)
    inst[h // 5:h // 2, w // 6:w // 3] = 1                      # a tall nail ...
    inst[h // 5:h // 3, w // 3:w // 3 + w // 10] = 2            # ... and a shorter one touching it
    yy, xx = np.mgrid[0:h, 0:w]
    inst[((yy - 0.7 * h) / (h / 8)) ** 2 + ((xx - 0.65 * w) / (w / 6)) ** 2 <= 1] = 3
    inst[int(0.7 * h):int(0.7 * h) + 3, int(0.65 * w):int(0.8 * w)] = 3  # a spur: not symmetric
    mask = inst > 0
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 1] = rng.integers(60, 200, (h, w))
    img[..., 2] = rng.integers(60, 200, (h, w))
    img[..., 0] = dataset.separate(mask, inst) * 255
    return img, mask, inst


def make_samples():
    """by_source for augment: one or two small samples per source."""
    out = {}
    for k, (src, (h, w)) in enumerate([("hands", (60, 60)), ("hands", (48, 72)), ("closeups", (64, 64)),
                                       ("fingers", (40, 52)), ("fingertips", (50, 50))]):
        img, mask, inst = nail_scene(h, w, seed=k)
        if k % 2:  # no instance map: the target is the whole mask, so paint all of it red
            inst = None
            img[..., 0] = mask * 255
        out.setdefault(src, []).append(dataset.Sample(f"{src}/{k}", src, "train", img, mask, inst))
    return out


def write_png(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode).save(path)


def write_manifest(root, rows, header=HEADER):
    with open(os.path.join(root, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def tiny_dataset(root):
    """A four-photo dataset in root laid out as ../shared/datasets/nails (its README):
    manifest.csv, images/<source>/<id>.{png,jpg}, masks/<source>/<id>.png,
    instances/<source>/<id>.png. Returns (root, {id: (row dict, image, mask, instances)})."""
    rows, truth = [], {}
    specs = [  # id, source, split, image extension, has instances, origin
        ("hands/a", "hands", "train", "png", True, "roboflow-nails"),
        ("closeups/b", "closeups", "val", "jpg", False, "roboflow-nails"),
        ("fingers/c", "fingers", "train", "png", False, "spatial-rnn"),
        ("fingertips/d", "fingertips", "val", "png", True, ""),
    ]
    for k, (id_, src, split, ext, has_inst, origin) in enumerate(specs):
        h, w = 30 + 4 * k, 40 - 2 * k
        img, mask, inst = nail_scene(h, w, seed=k)
        image_path = f"images/{id_}.{ext}"
        write_png(os.path.join(root, image_path), img)
        if ext == "jpg":  # JPEG is lossy: what the reader must return is the decoded file
            img = np.asarray(Image.open(os.path.join(root, image_path)).convert("RGB"))
        # Grey levels around the threshold: the reader keeps > 127.
        m8 = np.where(mask, 200, 0).astype(np.uint8)
        m8[0, 0], m8[0, 1] = 127, 128
        mask = m8 > 127
        write_png(os.path.join(root, f"masks/{id_}.png"), m8, "L")
        inst_path = ""
        if has_inst:
            inst_path = f"instances/{id_}.png"
            write_png(os.path.join(root, inst_path), inst, "L")
        row = [id_, src, split, image_path, f"masks/{id_}.png", w, h, 3, inst_path, origin]
        rows.append(row)
        truth[id_] = (dict(zip(HEADER, map(str, row))), img, mask, inst if has_inst else None)
    write_manifest(root, rows)
    return root, truth


def exported_nailnet(tmp_path, size=64):
    """(model, path): a seeded NailNet of NAILNET_WIDTHS in eval mode and its ONNX export
    (opset 17, dynamic batch, BatchNorms folded as export.py writes them)."""
    torch.manual_seed(0)
    return _exported(tmp_path, NailNet(NAILNET_WIDTHS), size)


def exported_mnv2(tmp_path, size=64):
    """exported_nailnet for a small seeded MobileNetV2Seg: ReLU6 (Clip in ONNX)
    activations and inverted residuals, the bundled model's kind."""
    torch.manual_seed(0)
    return _exported(tmp_path, MobileNetV2Seg(0.35, 32, (8, 8, 8, 8)), size)


def _exported(tmp_path, m, size):
    # Train-mode passes give the BatchNorms statistics other than the initial 0/1, so
    # the fold is not the identity.
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(4, 3, size, size) * 2 + 0.5)
    m.eval()
    path = tmp_path / "m.onnx"
    torch.onnx.export(m, torch.zeros(1, 3, size, size), str(path), opset_version=17, input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)
    return m, path
