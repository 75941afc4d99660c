"""Average the weights of checkpoints fine-tuned from one starting point (a "model soup",
Wortsman et al. 2022).

    /usr/bin/python3 tools/train/soup.py --out build/soup/best.pt build/z2/best.pt build/z3/best.pt

Cycles that start from the same weights and differ in their seed, their crops or their
targets end in nearby minima of one basin; the average of their weights usually sits
nearer its centre than any of them, at no cost at inference (one network, the same
arithmetic). Every floating-point tensor is averaged, BatchNorm's running statistics
included; integer counters are taken from the first checkpoint. The checkpoints must
describe the same network (train.py's arch fields) with the same tensors: averaging
networks trained from different starting points is meaningless, and this script cannot
tell, so pass only cycles of one lineage (tools/train/README.md says which).
"""

import argparse
import os

import torch

SPEC_FIELDS = ("arch", "alpha", "output_stride", "dec", "widths")


def soup(checkpoints):
    """The checkpoint whose floating-point tensors are the mean of the given ones'."""
    if not checkpoints:
        raise ValueError("soup: no checkpoints")
    first = checkpoints[0]
    spec = _spec(first)
    for i, ck in enumerate(checkpoints[1:], start=2):
        if _spec(ck) != spec:
            raise ValueError(f"soup: checkpoint {i} describes another network ({_spec(ck)} against {spec})")
        if ck["state"].keys() != first["state"].keys():
            raise ValueError(f"soup: checkpoint {i} holds other tensors than checkpoint 1")
        for name, t in ck["state"].items():
            if t.shape != first["state"][name].shape:
                raise ValueError(f"soup: {name} is {tuple(t.shape)} in checkpoint {i}, "
                                 f"{tuple(first['state'][name].shape)} in checkpoint 1")
    state = {}
    for name, t in first["state"].items():
        if t.is_floating_point():
            state[name] = torch.stack([ck["state"][name] for ck in checkpoints]).mean(dim=0)
        else:
            state[name] = t.clone()
    return {**first, "state": state}


def _spec(ckpt):
    # The network a checkpoint describes. Specs written by different runs may hold a tuple
    # or, after a JSON round trip, a list: both compare as tuples.
    spec = {k: ckpt.get(k) for k in SPEC_FIELDS}
    return {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in spec.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    ap.add_argument("checkpoints", nargs="+", help="train.py checkpoints of one lineage")
    args = ap.parse_args()
    try:
        out = soup([torch.load(p, map_location="cpu") for p in args.checkpoints])
    except ValueError as e:
        raise SystemExit(str(e)) from None
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out}: the mean of {len(args.checkpoints)} checkpoints", flush=True)


if __name__ == "__main__":
    main()
