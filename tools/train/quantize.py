#!/usr/bin/python3
"""Write the INT8 build of an exported model: engines/nailseg-int8.{onnx,json}.

    /usr/bin/python3 tools/train/quantize.py --model engines/nailseg.json \
        --out engines/nailseg-int8                  # what `make quantize` runs

Static quantisation in ONNX's QDQ form (nailtrain/qdq.py says what is quantised and why):
activation ranges are the min and max each tensor takes on calibration photos from the
`train` split (never val, which judges the result), drawn per source with the training
weights, letterboxed and normalised exactly as nailtrt feeds the model, each with its
mirror (the hflip test-time augmentation runs both). The manifest is the float model's
with the file, its SHA-256 and the name changed; its metrics are emptied, because they
must be measured again: `make quantize` runs tools/eval --write-manifest on the result,
through the Go pipeline, as `make train` does for the float model.
"""
import argparse
import hashlib
import json
import os

import numpy as np
import onnx
from PIL import Image

from nailtrain import augment, dataset, onnxgraph, qdq


def calibration_rows(root, n, seed):
    """n train rows, drawn per source in proportion to the training weights (seeded)."""
    rng = np.random.default_rng(seed)
    out = []
    for src, w in augment.SOURCE_WEIGHTS.items():
        rows = list(dataset.rows(root, "train", (src,)))
        k = min(len(rows), max(1, round(n * w)))
        out.extend(rows[i] for i in sorted(rng.choice(len(rows), k, replace=False)))
    return out


def calibrate(graph, root, rows, size):
    ranges = qdq.Ranges()
    for row in rows:
        img = np.asarray(Image.open(os.path.join(root, row["image"])).convert("RGB"), dtype=np.uint8)
        canvas, _, _ = augment.letterbox(img, size)
        x = augment.normalise(canvas)
        batch = np.stack([x, x[:, :, ::-1]])  # the photo and its mirror, as TTA runs them
        graph.run({graph.model.graph.input[0].name: onnxgraph.as_input(batch)}, observe=ranges.observe)
    return ranges


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="engines/nailseg.json", help="the float model's manifest")
    ap.add_argument("--out", default="engines/nailseg-int8", help="writes <out>.onnx and <out>.json")
    ap.add_argument("--dataset", default=None, help="dataset folder (default ../shared/datasets/nails)")
    ap.add_argument("--photos", type=int, default=64, help="calibration photos from the train split")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    with open(args.model) as f:
        manifest = json.load(f)
    src = os.path.join(os.path.dirname(args.model), manifest["file"])
    model = onnx.load(src)
    root = dataset.dataset_root(args.dataset)
    rows = calibration_rows(root, args.photos, args.seed)
    size = manifest["input"]["height"]
    if manifest["input"]["width"] != size:
        raise SystemExit(f"{args.model}: input {manifest['input']['width']}x{size} is not square")
    ranges = calibrate(onnxgraph.Graph(model), root, rows, size)
    q = qdq.quantise(model, ranges)
    q.doc_string = f"{model.doc_string} INT8 (QDQ), calibrated on {len(rows)} train photos"
    onnx_path = args.out + ".onnx"
    onnx.save(q, onnx_path)

    manifest["name"] = manifest["name"] + "-int8"
    manifest["file"] = os.path.basename(onnx_path)
    manifest["sha256"] = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    manifest.pop("metrics", None)
    with open(args.out + ".json", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB) and {args.out}.json: "
          f"{sum(n.op_type == 'QuantizeLinear' for n in q.graph.node)} activations quantised, "
          f"calibrated on {len(rows)} train photos")


if __name__ == "__main__":
    main()
