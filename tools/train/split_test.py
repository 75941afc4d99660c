#!/usr/bin/python3
"""Carve the honest `test` split out of `train` and write its ids to splits/test.txt.

    /usr/bin/python3 tools/train/split_test.py          # rewrites tools/train/splits/test.txt

Why: `val` has chosen many checkpoints and post-processing settings, so it flatters the
model. `test` is never used to choose anything; every results table reports it beside val.

Grouping (the dataset README: augmented copies share a base name, near-identical photos
stay on one side). A photo's group is `nailtrain.dataset.group_of(id)`; whole groups go to
test, about FRACTION of each source's training photos, picked by the SHA-256 of the group
name (no RNG: the list is reproducible and stable when the dataset grows). The list is
committed; `nailtrain.dataset` and `tools/eval` both read it, so train never sees a test
photo and `make eval SPLIT=test` scores exactly these.
"""
import argparse
import hashlib
import os

from nailtrain import dataset

FRACTION = 0.10


def choose(rows, fraction=FRACTION):
    """The ids of whole groups making up about fraction of each source's train rows."""
    by_source = {}
    for r in rows:
        if r["split"] == "train":
            by_source.setdefault(r["source"], {}).setdefault(dataset.group_of(r["id"]), []).append(r["id"])
    out = []
    for source, groups in sorted(by_source.items()):
        total = sum(len(v) for v in groups.values())
        taken = 0
        for g in sorted(groups, key=lambda g: hashlib.sha256(g.encode()).hexdigest()):
            if taken >= fraction * total:
                break
            out.extend(sorted(groups[g]))
            taken += len(groups[g])
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--out", default=dataset.TEST_IDS)
    args = ap.parse_args()
    rows = list(dataset.rows(args.dataset, split=None, sources=dataset.SOURCES, test_ids=frozenset()))
    ids = choose(rows)
    with open(args.out, "w") as f:
        f.write("# The test split: carved out of train by tools/train/split_test.py (grouped; never tune on it).\n")
        for i in ids:
            f.write(i + "\n")
    print(f"wrote {len(ids)} ids to {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
