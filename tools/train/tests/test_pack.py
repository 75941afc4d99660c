"""pack.py: the compact copy that travels to a GPU machine reads back as the dataset does
(same rows, masks and instance maps exactly, photos close), and refuses what cannot travel."""
import csv
import os

import numpy as np
import pytest

import pack
from nailtrain import dataset


def test_packed_copy_reads_back_as_the_dataset(tiny_dataset, tmp_path):
    root, _ = tiny_dataset
    out = str(tmp_path / "packed")
    size = pack.pack(root, out, quality=95)
    assert size == pack.folder_bytes(out) > 0
    before, after = dataset.load(root), dataset.load(out)
    assert [s.id for s in after] == [s.id for s in before]
    for a, b in zip(before, after):
        assert (b.source, b.split, b.origin) == (a.source, a.split, a.origin)
        np.testing.assert_array_equal(b.mask, a.mask)  # 1-bit PNG: exact
        if a.instances is None:
            assert b.instances is None
        else:
            np.testing.assert_array_equal(b.instances, a.instances)
            np.testing.assert_array_equal(b.target, a.target)
        assert b.image.shape == a.image.shape
        # The test scenes are per-pixel noise, JPEG's worst case; real photos do far better.
        diff = np.abs(b.image.astype(int) - a.image.astype(int)).mean()
        assert diff < 25, f"{a.id}: mean abs diff {diff:.1f}"


def test_manifest_keeps_every_column_and_points_at_jpegs(tiny_dataset, tmp_path):
    root, truth = tiny_dataset
    out = str(tmp_path / "packed")
    pack.pack(root, out)
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        src = list(csv.DictReader(f))
    with open(os.path.join(out, "manifest.csv"), newline="") as f:
        reader = csv.DictReader(f)
        got = list(reader)
    assert reader.fieldnames == list(src[0].keys())
    for a, b in zip(src, got):
        assert b["image"] == os.path.splitext(a["image"])[0] + ".jpg"
        assert os.path.exists(os.path.join(out, b["image"]))
        assert {k: v for k, v in b.items() if k != "image"} == {k: v for k, v in a.items() if k != "image"}


def test_refuses_a_copy_over_the_limit(tiny_dataset, tmp_path):
    root, _ = tiny_dataset
    with pytest.raises(SystemExit, match="over --max-mib"):
        pack.pack(root, str(tmp_path / "packed"), max_mib=0.001)


def test_refuses_to_write_over_the_dataset(tiny_dataset):
    root, _ = tiny_dataset
    with pytest.raises(SystemExit, match="must not be the dataset"):
        pack.pack(root, root)
