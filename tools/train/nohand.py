#!/usr/bin/python3
"""Write the no-hand validation photos to a folder, for tools/eval --nohand.

    /usr/bin/python3 tools/train/nohand.py --out build/nohand      # make eval does this

The same photos train.py scores as "nohand" while it trains (train.nohand_photos): the val
wallpapers of nailtrain/negatives.py (Debian's wallpaper packages, never trained on; the
long side at most 640 px) and 24 generated scenes from a fixed seed, as PNG (lossless,
so the Go pipeline sees exactly the pixels training scored).
"""
import argparse
import os

from PIL import Image

from train import nohand_photos


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/nohand")
    args = ap.parse_args()
    photos = nohand_photos()
    if not photos:
        raise SystemExit("no no-hand photos: install the wallpaper packages (make train-deps)")
    os.makedirs(args.out, exist_ok=True)
    for i, p in enumerate(photos):
        Image.fromarray(p).save(os.path.join(args.out, f"nohand-{i:03d}.png"))
    print(f"wrote {len(photos)} no-hand photos to {args.out}")


if __name__ == "__main__":
    main()
