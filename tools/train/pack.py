#!/usr/bin/python3
"""Pack a compact copy of the nails dataset for a GPU machine (`make gpu-pack`).

    /usr/bin/python3 tools/train/pack.py --out build/gpu-data     # ~55 MiB, what travels

The device machine lent to some sessions takes at most 64 MiB per call, working tree
included; the dataset is ~116 MB. The copy keeps the dataset's layout (manifest.csv,
images/, masks/, instances/), so `train.py --dataset build/gpu-data` reads it as it reads
the original, with every row, split, source and origin unchanged:

- photos re-encoded as JPEG (quality --quality, default 70, 4:2:0, optimised
  progressive), PNG photos included: 89 MB -> ~48 MiB. Training already degrades JPEG
  quality to 30-95 (augment.photometric); evaluation on the copy is not the Go
  pipeline's on the original, so `make eval` here stays the judge;
- masks as 1-bit PNG (the reader thresholds at > 127, so they read back exactly);
- instance maps as 8-bit greyscale PNG, optimised (exact).

Stops with a message when the copy would be over --max-mib. The original is never
modified; the copy is a build output (never commit it: DEVELOPERS.md).
"""
import argparse
import csv
import os
import sys

from PIL import Image

from nailtrain import dataset


def pack_row(root, out, row, quality):
    """Write one row's files under out; returns the row with its new paths."""
    src = os.path.join(root, row["image"])
    row = dict(row)
    row["image"] = os.path.splitext(row["image"])[0] + ".jpg"
    for col in ("image", "mask", "instances"):
        if row.get(col):
            os.makedirs(os.path.join(out, os.path.dirname(row[col])), exist_ok=True)
    photo = Image.open(src).convert("RGB")
    photo.save(os.path.join(out, row["image"]), "JPEG", quality=quality, subsampling=2, optimize=True, progressive=True)
    mask = Image.open(os.path.join(root, row["mask"])).convert("L").point(lambda v: 255 if v > 127 else 0)
    mask.convert("1").save(os.path.join(out, row["mask"]), "PNG", optimize=True)
    if row.get("instances"):
        inst = Image.open(os.path.join(root, row["instances"]))
        if inst.mode != "L":
            raise SystemExit(f"{row['id']}: instance map is {inst.mode}, not 8-bit greyscale (L)")
        inst.save(os.path.join(out, row["instances"]), "PNG", optimize=True)
    return row


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def pack(root, out, quality=70, max_mib=56.0):
    """Pack every row of the dataset at root into out. Returns the copy's size in bytes."""
    root = dataset.dataset_root(root)
    if os.path.abspath(out) == root:
        raise SystemExit("pack: --out must not be the dataset itself")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        fields = csv.DictReader(f).fieldnames
    packed = [pack_row(root, out, row, quality) for row in dataset.rows(root, None, dataset.SOURCES)]
    with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(packed)
    size = folder_bytes(out)
    if size > max_mib * (1 << 20):
        raise SystemExit(f"pack: {out} is {size / (1 << 20):.1f} MiB, over --max-mib {max_mib:g}: "
                         "lower --quality, or carry it in two calls")
    return size


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=None,
                    help="dataset folder (default ../shared/datasets/nails or $NAILTRT_DATASET)")
    ap.add_argument("--out", default="build/gpu-data")
    ap.add_argument("--quality", type=int, default=70, help="JPEG quality of the packed photos")
    ap.add_argument("--max-mib", type=float, default=56.0,
                    help="largest copy allowed (the device takes 64 MiB per call, working tree included)")
    args = ap.parse_args()
    size = pack(args.dataset, args.out, args.quality, args.max_mib)
    print(f"packed {args.out}: {size / (1 << 20):.1f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
