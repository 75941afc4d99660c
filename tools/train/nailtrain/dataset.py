"""Reads ../shared/datasets/nails (manifest.csv) into memory.

The whole set is ~3,700 photos of at most 432x432 (plus a few larger originals), about
1.5 GB as uint8 arrays, so it is loaded once; augmentation then costs no disk reads.

Where a row has a per-nail instance map (`instances` column), the training target is the
nail mask with a thin gap cut wherever two different nails touch (`Sample.target`): the
model then learns to leave background between neighbours, so connected components split
them at inference. The unmodified mask stays in `Sample.mask` for evaluation.
"""
import csv
import os
import re

import numpy as np
from PIL import Image
from scipy import ndimage

# tools/train/nailtrain -> the repository's parent folder -> shared/datasets/nails
DEFAULT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..",
                            "shared", "datasets", "nails")
SOURCES = ("hands", "closeups", "fingers", "fingertips")
# Columns every manifest row must fill; `instances` and `origin` may be empty or absent.
REQUIRED = ("id", "source", "split", "image", "mask")
# The honest test split: ids carved out of train by split_test.py (tools/eval reads the
# same file). A row listed there has split "test", whatever manifest.csv says.
TEST_IDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "splits", "test.txt")


def read_test_ids(path=TEST_IDS):
    """The ids in the test list (comment lines start with #); empty when the file is absent."""
    if not os.path.exists(path):
        return frozenset()
    with open(path) as f:
        return frozenset(line.strip() for line in f if line.strip() and not line.startswith("#"))


def group_of(id):
    """The group a photo belongs to for splitting: copies and near-identical photos share
    one. Roboflow exports are `rf-<base>_<ext>-<hash>` (augmented copies share the base)
    and video frames `..._frameNNNN`; spatial-rnn photos are time-based UUIDs whose tail
    (after the first group) is shared by one session's shots; fingers are
    `<date>_<subject>_<hand>_<n>` (split by subject); fingertips `nailN` come in runs of
    one hand, taken ten at a time."""
    source, _, name = id.partition("/")
    if name.startswith("rf-"):
        base = re.sub(r"-[0-9a-f]{32}$", "", name)
        return source + "/" + re.sub(r"_frame\d+", "", base)
    if re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", name):
        return source + "/" + name[9:].lower()
    if source == "fingers":
        return source + "/" + "_".join(name.split("_")[:2])
    m = re.fullmatch(r"nail(\d+)", name)
    if m:
        return f"{source}/nail{int(m.group(1)) // 10}x"
    return id


class Sample:
    __slots__ = ("id", "source", "split", "origin", "image", "mask", "instances", "target", "weight")

    def __init__(self, id, source, split, image, mask, instances=None, origin=""):
        self.id, self.source, self.split, self.origin = id, source, split, origin
        self.image = image          # HxWx3 uint8 RGB
        self.mask = mask            # HxW bool, as published
        self.instances = instances  # HxW uint8 nail numbers (0 = background), or None
        self.target = mask if instances is None else separate(mask, instances)
        self.weight = 1.0           # how often augment.pick draws it within its source


def separate(mask, instances):
    """The mask less every pixel that touches (8-neighbourhood) a different nail."""
    inst = instances.astype(np.int32)
    hi = ndimage.maximum_filter(inst, size=3)
    lo = ndimage.minimum_filter(np.where(inst == 0, 1 << 20, inst), size=3)
    touching = (inst > 0) & ((hi > inst) | (lo < inst))
    return mask & ~touching


def dataset_root(root=None):
    root = root or os.environ.get("NAILTRT_DATASET") or DEFAULT_ROOT
    root = os.path.abspath(root)
    if not os.path.exists(os.path.join(root, "manifest.csv")):
        raise SystemExit(f"dataset not found: {root}/manifest.csv is missing "
                         "(set NAILTRT_DATASET to the folder holding the nails dataset)")
    return root


def rows(root=None, split=None, sources=SOURCES, test_ids=None):
    """The manifest rows of one split (None: all) and the given sources; rows whose id is
    in test_ids (default: the committed test list) have split "test"."""
    root = dataset_root(root)
    if test_ids is None:
        test_ids = read_test_ids()
    path = os.path.join(root, "manifest.csv")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise SystemExit(f"{path}: no {', '.join(missing)} column(s) in the header")
        for row in reader:
            # DictReader pads a short row with None and files a long row's extra fields
            # under None: either way the columns are shifted, so stop rather than misread.
            if None in row or None in row.values():
                got = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None, ()))
                raise SystemExit(f"{path}:{reader.line_num}: {len(reader.fieldnames)} columns expected, "
                                 f"row has {got} (an unquoted comma?)")
            empty = [c for c in REQUIRED if not row[c]]
            if empty:
                raise SystemExit(f"{path}:{reader.line_num}: empty {', '.join(empty)}")
            if row["id"] in test_ids:
                if row["split"] != "train":
                    raise SystemExit(f"{TEST_IDS}: {row['id']} is in {row['split']}, not train")
                row["split"] = "test"
            if split and row["split"] != split:
                continue
            if row["source"] not in sources:
                continue
            yield row


def load(root=None, split=None, sources=SOURCES, test_ids=None):
    root = dataset_root(root)
    out = []
    for row in rows(root, split, sources, test_ids):
        img = np.asarray(Image.open(os.path.join(root, row["image"])).convert("RGB"), dtype=np.uint8)
        mask = np.asarray(Image.open(os.path.join(root, row["mask"])).convert("L")) > 127
        if mask.shape != img.shape[:2]:
            raise SystemExit(f"{row['id']}: mask {mask.shape} does not match image {img.shape}")
        inst = None
        if row.get("instances"):
            im = Image.open(os.path.join(root, row["instances"]))
            if im.mode != "L":
                # A palette or RGB map would be read as palette indices or 3 channels here and
                # as grey levels by tools/eval: the two would count different nails.
                raise SystemExit(f"{row['id']}: instance map is {im.mode}, not 8-bit greyscale (L)")
            inst = np.asarray(im)
            if inst.shape != mask.shape:
                raise SystemExit(f"{row['id']}: instance map {inst.shape} does not match mask {mask.shape}")
        out.append(Sample(row["id"], row["source"], row["split"], img, mask, inst, row.get("origin", "")))
    return out
