"""Reads ../shared/datasets/nails (manifest.csv) into memory.

The whole set is ~730 small photos, so it is loaded once as uint8 arrays; augmentation then
costs no disk reads.
"""
import csv
import os

import numpy as np
from PIL import Image

DEFAULT_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets", "nails")
SOURCES = ("hands", "fingers", "fingertips")


class Sample:
    __slots__ = ("id", "source", "split", "image", "mask")

    def __init__(self, id, source, split, image, mask):
        self.id, self.source, self.split = id, source, split
        self.image = image  # HxWx3 uint8 RGB
        self.mask = mask    # HxW bool


def dataset_root(root=None):
    root = root or os.environ.get("NAILTRT_DATASET") or DEFAULT_ROOT
    root = os.path.abspath(root)
    if not os.path.exists(os.path.join(root, "manifest.csv")):
        raise SystemExit(f"dataset not found: {root}/manifest.csv is missing "
                         "(set NAILTRT_DATASET to the folder holding the nails dataset)")
    return root


def load(root=None, split=None, sources=SOURCES):
    root = dataset_root(root)
    out = []
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if split and row["split"] != split:
                continue
            if row["source"] not in sources:
                continue
            img = Image.open(os.path.join(root, row["image"]))
            img = np.asarray(img.convert("RGB"), dtype=np.uint8)
            mask = np.asarray(Image.open(os.path.join(root, row["mask"])).convert("L")) > 127
            if mask.shape != img.shape[:2]:
                raise SystemExit(f"{row['id']}: mask {mask.shape} does not match image {img.shape}")
            out.append(Sample(row["id"], row["source"], row["split"], img, mask))
    return out
