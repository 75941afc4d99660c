"""The golden fixture (tools/eval/testdata/golden, written by tools/fixtures/make_golden.py):
the Python metrics must reproduce expected.json exactly, as tools/eval's Go metrics must
(metrics_test.go, TestGoldenFixture). A failure on one side only means the two
implementations no longer agree on a definition."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from nailtrain.metrics import Accumulator

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "eval", "testdata", "golden")
COUNTS = {  # expected.json's names -> the Accumulator's
    "inter": "inter", "union": "union", "psum": "psum", "tsum": "tsum",
    "bp_hit": "bp_hit", "bp_all": "bp_all", "br_hit": "br_hit", "br_all": "br_all",
    "tp": "tp", "npred": "npred", "ntrue": "ntrue",
}


def read(name):
    return np.asarray(Image.open(os.path.join(GOLDEN, name)))


@pytest.fixture(scope="module")
def golden():
    with open(os.path.join(GOLDEN, "expected.json")) as f:
        expected = json.load(f)
    # Read as nailtrain.dataset.load reads masks and instance maps.
    pred = np.asarray(Image.open(os.path.join(GOLDEN, "pred.png")).convert("L")) > 127
    truth = np.asarray(Image.open(os.path.join(GOLDEN, "truth.png")).convert("L")) > 127
    inst = read("instances.png")
    assert pred.shape == truth.shape == inst.shape == tuple(expected["size"])
    return expected, pred, truth, inst


@pytest.mark.parametrize("scoring", ["instances", "components"])
def test_golden_fixture(golden, scoring):
    expected, pred, truth, inst = golden
    acc = Accumulator()
    acc.add(pred, truth, 0, inst if scoring == "instances" else None)
    want = expected[scoring]
    assert {k: getattr(acc, v) for k, v in COUNTS.items()} == want["counts"]
    got = acc.result()
    assert got["images"] == 1
    for k, v in want["metrics"].items():
        assert got[k] == pytest.approx(v, abs=1e-9), k
