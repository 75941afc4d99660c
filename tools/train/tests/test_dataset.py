"""nailtrain.dataset reads the dataset's layout (manifest.csv, images, masks, instance
maps) as described in ../shared/datasets/nails/README.md, on a tiny copy built in tmp_path."""
import os

import numpy as np
import pytest
from PIL import Image

from builders import HEADER, write_manifest, write_png
from nailtrain import dataset


def test_load_reads_every_row(tiny_dataset):
    root, truth = tiny_dataset
    samples = dataset.load(root)
    assert [s.id for s in samples] == list(truth)  # manifest order
    for s in samples:
        row, img, mask, inst = truth[s.id]
        assert (s.source, s.split, s.origin) == (row["source"], row["split"], row["origin"])
        assert s.image.dtype == np.uint8 and s.image.shape == (int(row["height"]), int(row["width"]), 3)
        np.testing.assert_array_equal(s.image, img)
        assert s.mask.dtype == bool
        np.testing.assert_array_equal(s.mask, mask)
        assert not s.mask[0, 0] and s.mask[0, 1], "mask threshold is > 127"
        if inst is None:
            assert s.instances is None
            assert s.target is s.mask
        else:
            np.testing.assert_array_equal(s.instances, inst)
            np.testing.assert_array_equal(s.target, dataset.separate(s.mask, inst))


def test_load_filters_split_and_sources(tiny_dataset):
    root, _ = tiny_dataset
    assert [s.id for s in dataset.load(root, "train")] == ["hands/a", "fingers/c"]
    assert [s.id for s in dataset.load(root, "val")] == ["closeups/b", "fingertips/d"]
    assert [s.id for s in dataset.load(root, "val", ("fingertips",))] == ["fingertips/d"]
    assert [s.id for s in dataset.load(root, None, ("hands", "fingers"))] == ["hands/a", "fingers/c"]
    assert [r["id"] for r in dataset.rows(root, "train", ("closeups",))] == []


def test_dataset_root_from_environment(tiny_dataset, monkeypatch, tmp_path):
    root, _ = tiny_dataset
    monkeypatch.setenv("NAILTRT_DATASET", root)
    assert dataset.dataset_root() == os.path.abspath(root)
    assert dataset.dataset_root(root) == os.path.abspath(root)
    with pytest.raises(SystemExit, match="manifest.csv is missing"):
        dataset.dataset_root(str(tmp_path / "nowhere"))


def test_separate_cuts_touching_nails_apart():
    inst = np.zeros((4, 8), np.uint8)
    inst[:, 1:4] = 1
    inst[:, 4:7] = 2
    target = dataset.separate(inst > 0, inst)
    # Columns 3 and 4 touch the other nail (8-neighbourhood): cut; the rest stays.
    np.testing.assert_array_equal(target[0], [0, 1, 1, 0, 0, 1, 1, 0])
    assert (target == target[0]).all()
    # A lone nail loses nothing, even at the image border.
    lone = np.ones((3, 3), np.uint8)
    np.testing.assert_array_equal(dataset.separate(lone > 0, lone), lone > 0)


def _row(root, k=0):
    with open(os.path.join(root, "manifest.csv")) as f:
        return f.read().splitlines()[1 + k]


@pytest.mark.parametrize("edit, message", [
    (lambda line: line.replace("roboflow-nails", "roboflow,nails"), r"10 columns expected, row has 11"),
    (lambda line: line.rsplit(",", 2)[0], r"10 columns expected, row has 8"),
    (lambda line: line.replace("masks/hands/a.png", ""), r"empty mask"),
])
def test_malformed_row_is_an_error(tiny_dataset, edit, message):
    root, _ = tiny_dataset
    path = os.path.join(root, "manifest.csv")
    with open(path) as f:
        lines = f.read().splitlines()
    lines[1] = edit(lines[1])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(SystemExit, match=r"manifest.csv:2: " + message):
        dataset.load(root)


def test_missing_column_is_an_error(tiny_dataset):
    root, _ = tiny_dataset
    write_manifest(root, [], header=[h for h in HEADER if h != "mask"])
    with pytest.raises(SystemExit, match="no mask column"):
        list(dataset.rows(root))


def test_optional_columns_may_be_absent(tiny_dataset):
    root, truth = tiny_dataset
    header = ["id", "source", "split", "image", "mask"]
    write_manifest(root, [[truth["hands/a"][0][h] for h in header]], header=header)
    (s,) = dataset.load(root)
    assert s.instances is None and s.origin == ""


def test_size_mismatch_is_an_error(tiny_dataset):
    root, truth = tiny_dataset
    write_png(os.path.join(root, "masks/hands/a.png"), np.zeros((5, 5), np.uint8), "L")
    with pytest.raises(SystemExit, match="hands/a: mask"):
        dataset.load(root, "train")
    write_png(os.path.join(root, "masks/hands/a.png"), truth["hands/a"][2].astype(np.uint8) * 255, "L")
    write_png(os.path.join(root, "instances/hands/a.png"), np.zeros((5, 5), np.uint8), "L")
    with pytest.raises(SystemExit, match="hands/a: instance map"):
        dataset.load(root, "train")


@pytest.mark.parametrize("mode", ["RGB", "P"])
def test_instance_map_must_be_grey(tiny_dataset, mode):
    # tools/eval reads instance maps as grey levels; a palette or RGB file would give other
    # nail numbers there than here, so the reader refuses it.
    root, truth = tiny_dataset
    inst = truth["hands/a"][3]
    Image.fromarray(inst, "L").convert(mode).save(os.path.join(root, "instances/hands/a.png"))
    with pytest.raises(SystemExit, match="not 8-bit greyscale"):
        dataset.load(root, "train")
