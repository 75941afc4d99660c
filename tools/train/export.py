#!/usr/bin/python3
"""Export a trained NailNet checkpoint to ONNX plus its nailtrt manifest.

    /usr/bin/python3 tools/train/export.py --checkpoint build/train/best.pt \
        --metrics build/train/metrics.json --out engines/nailseg

Writes <out>.onnx (opset 17, input "image" [N,3,H,W] float RGB, output "logits"
[N,1,H,W], dynamic batch), <out>.json (the manifest) and, for the parity check that
`make train` runs through the Go runner, build/train/parity/{input,output}.f32 with
meta.json: the PyTorch output for a fixed random input.
"""
import argparse
import hashlib
import json
import os

import numpy as np
import onnx
import torch

from nailtrain import augment
from nailtrain import model as models

NAME = "nailseg"
VERSION = "3.4.0"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="build/train/best.pt")
    ap.add_argument("--metrics", default="build/train/metrics.json")
    ap.add_argument("--out", default="engines/nailseg")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--name", default=NAME, help="the manifest's model name (nailseg-live for the live model)")
    ap.add_argument("--version", default=VERSION,
                    help="the manifest's version (make train-wide marks the wider encoder's builds -wide)")
    ap.add_argument("--parity-dir", default="build/train/parity")
    # Post-processing knobs, chosen on the val split with tools/eval (README: the sweep).
    ap.add_argument("--threshold", type=float, default=0.5, help="nail probability threshold")
    ap.add_argument("--min-area", type=int, default=200, help="smallest nail, in model-input pixels")
    ap.add_argument("--min-score", type=float, default=0.0,
                    help="drop a nail whose mean probability is under this (0: keep all)")
    ap.add_argument("--mask-threshold", type=float, default=0.0,
                    help="draw the kept nails' masks at this probability (0: --threshold)")
    ap.add_argument("--tta", default="hflip", help='test-time augmentation in the manifest: "" or hflip')
    args = ap.parse_args()
    for name in ("min_score", "mask_threshold"):
        if not 0 <= getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} {getattr(args, name)} must be in [0, 1)")

    ckpt = torch.load(args.checkpoint, map_location="cpu")
    if "state" not in ckpt:  # a bare state_dict from an early run
        ckpt = {"widths": (16, 32, 48, 96, 128), "state": ckpt}  # nailseg 1.x
    model = models.build(ckpt)
    model.load_state_dict(ckpt["state"])
    model.eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, args.size, args.size)).astype(np.float32))
    onnx_path = args.out + ".onnx"
    os.makedirs(os.path.dirname(onnx_path) or ".", exist_ok=True)
    torch.onnx.export(model, x, onnx_path, opset_version=17, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    m.producer_name = "nailtrt tools/train"
    m.doc_string = f"{args.name} {VERSION}: {type(model).__name__} nail segmentation (see tools/train/README.md)"
    onnx.save(m, onnx_path)
    size_mb = os.path.getsize(onnx_path) / 1e6
    if size_mb > 8:
        raise SystemExit(f"{onnx_path} is {size_mb:.1f} MB, over the 8 MB budget")

    with torch.no_grad():
        y = model(x).numpy()
    os.makedirs(args.parity_dir, exist_ok=True)
    x.numpy().tofile(os.path.join(args.parity_dir, "input.f32"))
    y.tofile(os.path.join(args.parity_dir, "output.f32"))
    with open(os.path.join(args.parity_dir, "meta.json"), "w") as f:
        json.dump({"model": os.path.abspath(onnx_path), "input_shape": list(x.shape), "output_shape": list(y.shape),
                   "max_abs_diff": 1e-4}, f)

    metrics = {}
    if os.path.exists(args.metrics):
        with open(args.metrics) as f:
            val = json.load(f)["val"]
        metrics = {f"val/{src}": {k: v for k, v in r.items() if k != "images"} for src, r in val.items()}
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    manifest = {
        "name": args.name,
        "version": args.version,
        "file": os.path.basename(onnx_path),
        "sha256": sha,
        "input": {"name": "image", "height": args.size, "width": args.size, "layout": "NCHW", "color": "RGB",
                  "scale": 1 / 255, "mean": [round(float(v), 6) for v in augment.MEAN],
                  "std": [round(float(v), 6) for v in augment.STD],
                  "resize": "letterbox", "pad": list(augment.PAD_RGB)},
        "output": {"format": "semantic", "logits": "logits", "min_area": args.min_area,
                   **({"min_score": args.min_score} if args.min_score > 0 else {}),
                   **({"mask_threshold": args.mask_threshold} if args.mask_threshold > 0 else {})},
        "threshold": args.threshold,
        "classes": ["nail"],
        "metrics": metrics,
    }
    if args.tta:
        manifest["tta"] = args.tta
    # These are PyTorch's numbers; `make train` then replaces them with the Go pipeline's
    # (tools/eval --write-manifest), which is what users get.
    manifest_path = args.out + ".json"
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({size_mb:.2f} MB, sha256 {sha[:12]}) and {manifest_path}")


if __name__ == "__main__":
    main()
