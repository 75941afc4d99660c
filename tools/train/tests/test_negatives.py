"""Photos with no hand (nailtrain.negatives) and the honest test split (split_test, dataset)."""
import os

import numpy as np
from PIL import Image

import split_test
from nailtrain import augment, dataset, negatives


def wallpapers(root):
    """A fake wallpaper tree: Plasma-style folders at two sizes, GNOME light/dark pairs, a
    screenshot and the two excluded packages."""
    files = ["wallpapers/Meadow/contents/images/1920x1080.jpg", "wallpapers/Meadow/contents/images/640x480.jpg",
             "wallpapers/Meadow/contents/screenshot.png", "backgrounds/gnome/sky-l.jpg",
             "backgrounds/gnome/sky-d.jpg", "backgrounds/mate/x.jpg", "wallpapers/ukui/y.jpg"]
    for i in range(30):
        files.append(f"backgrounds/gen/w{i}.png")
    for f in files:
        p = os.path.join(root, f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        size = (64, 48) if "1920" not in f else (96, 54)
        Image.new("RGB", size, (10 * len(f) % 255, 90, 200)).save(p)
    return [os.path.join(root, "backgrounds"), os.path.join(root, "wallpapers")]


def test_groups_keep_variants_together():
    assert negatives.group_of("/usr/share/backgrounds/gnome/sky-l.jpg") == "sky"
    assert negatives.group_of("/usr/share/backgrounds/gnome/sky-d.jpg") == "sky"
    assert negatives.group_of("/usr/share/backgrounds/sway/Sway_Wallpaper_Blue_768x1024.png") == "Sway_Wallpaper_Blue"
    assert negatives.group_of("/usr/share/wallpapers/Path/contents/images_dark/1.png") == "Path"


def test_find_splits_by_group_skips_excluded_and_repeats(tmp_path):
    dirs = wallpapers(str(tmp_path))
    train, val = negatives.find("train", dirs), negatives.find("val", dirs)
    assert not set(train) & set(val) and train and val
    both = train + val
    assert not any("mate" in p or "ukui" in p or "screenshot" in p for p in both)
    meadow = [p for p in both if "Meadow" in p]
    assert len(meadow) == 1  # one file per wallpaper folder
    for split in (train, val):
        groups = {negatives.group_of(p) for p in split}
        assert all(negatives.split_of(g) == ("val" if split is val else "train") for g in groups)
    photos = negatives.load("train", 32, dirs)
    assert all(p.dtype == np.uint8 and max(p.shape[:2]) <= 32 for p in photos)


def test_synth_negative_share_gives_empty_labels(samples):
    rng = np.random.default_rng(3)
    photo = np.full((50, 80, 3), 120, np.uint8)
    labels = [augment.synth(rng, samples, 64, 96, negatives=[photo], neg_share=1.0)[1] for _ in range(6)]
    assert all(lab.shape == (64, 64) and not lab.any() for lab in labels)
    # No share: the same draws as before negatives existed.
    a = augment.synth(np.random.default_rng(5), samples, 64, 96)
    b = augment.synth(np.random.default_rng(5), samples, 64, 96, negatives=[photo], neg_share=0.0)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_scene_is_a_photo():
    img = negatives.scene(np.random.default_rng(0), 48)
    assert img.shape == (48, 48, 3) and img.min() >= 0 and img.max() <= 255


def test_group_of_dataset_ids():
    g = dataset.group_of
    assert g("hands/rf-12_png-" + "a" * 32) == g("hands/rf-12_png-" + "b" * 32) == "hands/rf-12_png"
    assert g("hands/rf-frames_13_frame0006_jpg-" + "c" * 32) == g("hands/rf-frames_13_frame0100_jpg-" + "d" * 32)
    assert g("hands/4c48acb6-e402-11e8-97db-0242ac1c0002") == g("hands/4c49b502-e402-11e8-97db-0242ac1c0002")
    assert g("fingers/170517_10_R_1") == g("fingers/170517_10_L_2") != g("fingers/170517_11_L_1")
    assert g("fingertips/nail12") == g("fingertips/nail19") != g("fingertips/nail20")


def test_test_split_takes_whole_groups():
    rows = [{"id": f"hands/rf-{i // 3}_png-{i:032x}", "source": "hands", "split": "train"} for i in range(60)]
    rows += [{"id": "hands/rf-v_png-" + "e" * 32, "source": "hands", "split": "val"}]
    ids = split_test.choose(rows, 0.2)
    groups = {dataset.group_of(i) for i in ids}
    assert len(ids) == 3 * len(groups) and 12 <= len(ids) <= 15
    assert not any("rf-v_" in i for i in ids)


def test_test_ids_relabel_rows_and_refuse_val(tiny_dataset, tmp_path):
    root, rows = tiny_dataset
    train_id = next(i for i, (r, *_) in rows.items() if r["split"] == "train")
    got = {r["id"]: r["split"] for r in dataset.rows(root, test_ids=frozenset([train_id]))}
    assert got[train_id] == "test"
    assert train_id not in {s.id for s in dataset.load(root, "train", test_ids=frozenset([train_id]))}
    val_id = next(i for i, (r, *_) in rows.items() if r["split"] == "val")
    try:
        list(dataset.rows(root, test_ids=frozenset([val_id])))
        raise AssertionError("a val id in the test list must be refused")
    except SystemExit as e:
        assert "not train" in str(e)


def test_committed_test_list_is_disjoint_from_val():
    ids = dataset.read_test_ids()
    assert len(ids) > 300
    assert all("/" in i for i in ids)
