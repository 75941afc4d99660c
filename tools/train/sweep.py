#!/usr/bin/python3
"""Chooses the manifest's post-processing on the val split, through the Go pipeline.

    /usr/bin/python3 tools/train/sweep.py --model engines/nailseg.json --sources hands

For every combination of threshold, min_area, min_score and TTA it writes a temporary
manifest next to the model (same ONNX file), runs tools/eval on it and prints one line
per setting, best first by IoU + F1 on the given sources. It only reports: the chosen
values are passed to export.py (--threshold, --min-area, --min-score, --tta), which the
README records.
"""
import argparse
import itertools
import json
import os
import subprocess
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="engines/nailseg.json")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--sources", default="hands")
    ap.add_argument("--thresholds", default="0.4,0.5,0.6")
    ap.add_argument("--min-areas", default="50,150,300")
    ap.add_argument("--min-scores", default=None,
                    help="a nail's least mean probability (0: keep all; default: the model's own)")
    ap.add_argument("--tta", default="hflip,none")
    args = ap.parse_args()
    with open(args.model) as f:
        base = json.load(f)
    min_scores = args.min_scores or str(base["output"].get("min_score", 0))
    results = []
    for thr, area, score, tta in itertools.product([float(v) for v in args.thresholds.split(",")],
                                                   [int(v) for v in args.min_areas.split(",")],
                                                   [float(v) for v in min_scores.split(",")], args.tta.split(",")):
        m = dict(base, threshold=thr, output=dict(base["output"], min_area=area, min_score=score))
        m.pop("tta", None)
        if tta != "none":
            m["tta"] = tta
        m["file"] = os.path.abspath(os.path.join(os.path.dirname(args.model), base["file"]))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp, \
                tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            json.dump(m, tmp)
        cmd = ["go", "run", "./tools/eval", "--model", tmp.name, "--split", "val", "--sources", args.sources,
               "--json", out.name]
        if args.dataset:
            cmd += ["--dataset", args.dataset]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out.name) as f:
            table = json.load(f)
        os.unlink(tmp.name)
        os.unlink(out.name)
        row = {k: v for k, v in table.items() if not k.endswith("/overall") and "origin:" not in k}
        results.append((sum(r["iou"] + r["f1"] for r in row.values()) / max(1, len(row)), thr, area, score, tta, row))
        print(f"threshold {thr} min_area {area} min_score {score} tta {tta}: " +
              " ".join(f"{k.split('/')[-1]} IoU {r['iou']:.3f} F1 {r['f1']:.3f} bF {r['boundary_f']:.3f}"
                       for k, r in row.items()),
              flush=True)
    results.sort(key=lambda r: -r[0])
    print("\nbest: threshold {} min_area {} min_score {} tta {}".format(*results[0][1:5]))


if __name__ == "__main__":
    main()
