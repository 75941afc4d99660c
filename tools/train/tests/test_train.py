"""train.py's pieces that run without the dataset: the crop stream and the evaluation."""
import argparse
import ctypes
import os

import numpy as np
import pytest
import torch

import train
from nailtrain import augment
from nailtrain.model import NailNet


def test_synth_stream_uses_its_own_weights(samples):
    before = dict(augment.SOURCE_WEIGHTS)
    weights = {"fingers": 0.5, "hands": 0.5}
    it = iter(train.Synth(samples, 48, 64, seed=3, weights=weights))
    rng = np.random.default_rng([3, 0])  # the stream's generator outside a DataLoader worker
    for _ in range(3):
        x, y, w = next(it)
        img, lab = augment.synth(rng, samples, 48, 64, weights)
        np.testing.assert_array_equal(x.numpy(), augment.normalise(img))
        np.testing.assert_array_equal(y.numpy(), lab[None])
        assert torch.equal(w, torch.ones_like(y)), "no --small: every pixel weighs 1"
    assert dict(augment.SOURCE_WEIGHTS) == before, "nothing global changed"


def test_synth_stream_defaults_to_the_module_weights(samples):
    a = next(iter(train.Synth(samples, 48, 64, seed=1)))[0]
    b = next(iter(train.Synth(samples, 48, 64, seed=1, weights=augment.SOURCE_WEIGHTS)))[0]
    assert torch.equal(a, b)


def test_loss_with_unit_weights_is_the_unweighted_loss():
    torch.manual_seed(0)
    logits, y = torch.randn(2, 1, 16, 16), (torch.rand(2, 1, 16, 16) > 0.7).float()
    torch.testing.assert_close(train.loss_fn(logits, y, torch.ones_like(y)), train.loss_fn(logits, y))


def test_loss_weights_make_a_missed_small_nail_cost_more():
    y = torch.zeros(1, 1, 32, 32)
    y[0, 0, 2:6, 2:6] = 1  # a 16-pixel nail, missed below
    y[0, 0, 10:30, 10:30] = 1  # a 400-pixel nail, found
    logits = torch.where(y > 0, torch.tensor(4.0), torch.tensor(-4.0))
    logits[0, 0, 2:6, 2:6] = -4.0
    w = torch.from_numpy(augment.small_nail_weights(y[0, 0].numpy(), 400))[None, None]
    assert train.loss_fn(logits, y, w) > train.loss_fn(logits, y)


def test_distilled_target_mixes_the_label_with_the_teachers_probability():
    y = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    teacher = torch.tensor([[[[0.0, 0.0, 20.0, -20.0]]]])  # probabilities 0.5, 0.5, ~1, ~0
    torch.testing.assert_close(train.distilled_target(y, teacher, 0.5),
                               torch.tensor([[[[0.75, 0.25, 1.0, 0.0]]]]))
    assert train.distilled_target(y, teacher, 0.0) is y  # no teacher share: the label itself
    soft = train.distilled_target(y, teacher, 1.0)  # all teacher: where the label is hard, it is not
    assert soft[0, 0, 0, 0] == 0.5 and soft[0, 0, 0, 1] == 0.5


def test_load_teacher_restores_the_checkpoints_network_in_eval_mode(tmp_path):
    torch.manual_seed(2)
    net = NailNet((4, 8, 8, 8, 8))
    net.eval()
    path = tmp_path / "teacher.pt"
    torch.save({"arch": "nailnet", "widths": (4, 8, 8, 8, 8), "state": train.cpu_state(net)}, path)
    teacher = train.load_teacher(str(path), torch.device("cpu"))
    assert not teacher.training
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(teacher(x), net(x))


def test_lovasz_hinge_is_the_jaccard_loss_at_a_hard_prediction():
    # Pixels with logit 0 have hinge error 1, pixels with the right sign and margin 1 have
    # error 0: the hinge is then the Lovasz extension at the indicator of the wrong
    # pixels, which is the Jaccard loss of the prediction that gets them wrong.
    torch.manual_seed(1)
    y = (torch.rand(2, 1, 12, 12) > 0.6).float()
    wrong = torch.rand(2, 1, 12, 12) > 0.8
    logits = torch.where(wrong, torch.tensor(0.0), 2 * y - 1)
    pred = torch.where(wrong, 1 - y, y).bool()
    truth = y.bool()
    jaccard = [1 - (p & t).sum().item() / (p | t).sum().item() for p, t in zip(pred, truth)]
    torch.testing.assert_close(train.lovasz_hinge(logits, y), torch.tensor(sum(jaccard) / 2), rtol=1e-5, atol=1e-6)


def test_lovasz_hinge_is_zero_with_a_margin_and_adds_to_the_loss():
    y = torch.zeros(1, 1, 8, 8)
    y[0, 0, 2:5, 2:6] = 1
    right = 3 * (2 * y - 1)
    assert train.lovasz_hinge(right, y).item() == 0.0
    assert train.loss_fn(right, y, lovasz=1.0) == train.loss_fn(right, y)
    grey = torch.zeros_like(y)
    assert train.loss_fn(grey, y, lovasz=1.0) > train.loss_fn(grey, y)
    empty = torch.zeros_like(y)
    assert train.lovasz_hinge(grey, empty).item() == 1.0, "no nail: the most confident false pixel's hinge"


def test_evaluate_reports_every_source_and_overall(samples):
    torch.manual_seed(0)
    model = NailNet((4, 4, 4, 8, 8))
    flat = [s for v in samples.values() for s in v]
    res = train.evaluate(model, flat, 64)
    assert set(res) == set(samples) | {"overall"}
    assert res["overall"]["images"] == len(flat)
    assert sum(res[k]["images"] for k in samples) == len(flat)
    for r in res.values():
        assert 0 <= r["iou"] <= 1 and 0 <= r["f1"] <= 1
    assert train.selection_score({"hands": {"iou": 0.5}, "fingers": {"iou": 1.0}}) == 0.6 * 0.5 + 0.1 * 1.0


def test_weigh_hard_weights_photos_by_their_error(samples):
    flat = [s for v in samples.values() for s in v]
    # A model that marks nothing: IoU 0 wherever a photo has nails, so every such photo
    # gets 1 + strength.
    ious, _ = train.weigh_hard(_Constant(-50.0), flat, 64, strength=2.0)
    assert len(ious) == len(flat)
    for s, iou in zip(flat, ious):
        assert iou == (1.0 if not s.mask.any() else 0.0)
        assert s.weight == pytest.approx(1.0 + 2.0 * (1.0 - iou))
    # A model that marks everything scores each photo its nail share: weights fall in between.
    ious, missed = train.weigh_hard(_Constant(50.0), flat, 64, strength=1.0, per_missed=3.0)
    assert not missed.any(), "a model that marks everything misses no nail"
    for s, iou in zip(flat, ious):
        assert iou == pytest.approx(s.mask.mean())
        assert s.weight == pytest.approx(2.0 - s.mask.mean())
    for s in flat:
        s.weight = 1.0


def test_weigh_hard_adds_weight_per_missed_nail(samples):
    flat = [s for v in samples.values() for s in v]
    ious, missed = train.weigh_hard(_Constant(-50.0), flat, 64, strength=2.0, per_missed=0.5)
    for s, iou, m in zip(flat, ious, missed):
        assert m == train.missed_nails(np.zeros_like(s.mask), s) and (m > 0) == s.mask.any()
        assert s.weight == pytest.approx(1.0 + 2.0 * (1.0 - iou) + 0.5 * m)
    for s in flat:
        s.weight = 1.0


def test_missed_nails_counts_nails_under_half_found():
    from nailtrain.dataset import Sample
    mask = np.zeros((20, 20), bool)
    mask[2:6, 2:6] = mask[2:6, 6:10] = mask[12:16, 12:16] = True  # two touching nails and one apart
    inst = np.zeros((20, 20), np.uint8)
    inst[2:6, 2:6], inst[2:6, 6:10], inst[12:16, 12:16] = 1, 2, 3
    pred = np.zeros_like(mask)
    pred[2:6, 2:6] = True   # nail 1 whole
    pred[2:4, 6:10] = True  # nail 2 half: found
    pred[12:13, 12:16] = True  # nail 3 a quarter: missed
    img = np.zeros((20, 20, 3), np.uint8)
    assert train.missed_nails(pred, Sample("a", "hands", "train", img, mask, inst)) == 1
    # Without instances the touching nails are one part, found; the lone one still missed.
    assert train.missed_nails(pred, Sample("a", "hands", "train", img, mask)) == 1
    assert train.missed_nails(np.zeros_like(mask), Sample("a", "hands", "train", img, mask, inst)) == 3
    assert train.missed_nails(pred, Sample("a", "hands", "train", img, np.zeros_like(mask))) == 0


class _Constant(torch.nn.Module):
    """A model whose logit map is one value everywhere."""

    def __init__(self, logit):
        super().__init__()
        self.logit = logit

    def forward(self, x):
        return torch.full((x.shape[0], 1, x.shape[2], x.shape[3]), self.logit)


def test_resolve_device():
    assert train.resolve_device("cpu") == torch.device("cpu")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert train.resolve_device("auto").type == want
    with pytest.raises(SystemExit, match="expected auto, cpu, cuda"):
        train.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="sees no CUDA GPU"):
            train.resolve_device("cuda")


def test_checkpoint_state_is_on_the_cpu():
    model = NailNet((8, 8, 16, 16, 16))
    state = train.cpu_state(model)
    assert set(state) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert state[k].device.type == "cpu"
        assert torch.equal(state[k], v)


def test_ema_averages_floats_and_copies_counters():
    torch.manual_seed(0)
    model = NailNet((4, 4, 4, 8, 8))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    ema = train.EMA(model, 0.75)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.mul_(3.0)
                m.num_batches_tracked.add_(5)
    ema.update(model)
    now = model.state_dict()
    for k, v in ema.state.items():
        if v.dtype.is_floating_point:
            torch.testing.assert_close(v, 0.75 * start[k] + 0.25 * now[k])
        else:
            assert torch.equal(v, now[k]), k
    moved = [k for k in now if now[k].dtype.is_floating_point and not torch.equal(now[k], start[k])]
    assert moved, "the test changed some weights"
    target = NailNet((4, 4, 4, 8, 8))
    ema.copy_to(target)
    for k, v in target.state_dict().items():
        assert torch.equal(v, ema.state[k])


def test_channels_last_computes_what_nchw_does():
    """--channels-last changes only the memory layout: the same outputs and gradients to
    float32 rounding, and a checkpoint of the NHWC model loads into a plain one exactly
    (export.py builds a plain one)."""
    torch.manual_seed(0)
    ref, fast = NailNet((4, 8, 8, 16, 16)), NailNet((4, 8, 8, 16, 16))
    fast.load_state_dict(ref.state_dict())
    x, y = torch.randn(2, 3, 64, 64), (torch.rand(2, 1, 64, 64) > 0.8).float()
    fast.to(memory_format=torch.channels_last)
    out_ref, out_fast = ref(x), fast(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-3, atol=1e-4)
    train.loss_fn(out_ref, y).backward()
    train.loss_fn(out_fast, y).backward()
    for (name, a), b in zip(ref.named_parameters(), fast.parameters()):
        # Summed in another order: each gradient within 1e-3 of its own size.
        assert (b.grad - a.grad).norm() <= 1e-3 * a.grad.norm() + 1e-9, name
    plain = NailNet((4, 8, 8, 16, 16))
    saved = train.cpu_state(fast)
    plain.load_state_dict(saved)
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(v, saved[k], rtol=0, atol=0, msg=k)


def test_all_cores_restores_the_training_threads():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with train.all_cores(1):
            assert torch.get_num_threads() == max(1, os.cpu_count() or 1)
        assert torch.get_num_threads() == 1
        with pytest.raises(RuntimeError):
            with train.all_cores(1):
                raise RuntimeError("evaluation failed")
        assert torch.get_num_threads() == 1, "restored on an error too"
    finally:
        torch.set_num_threads(before)


class RecordingLibc:
    """Stands in for libc: records mallopt calls and accepts them."""

    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


def test_keep_freed_memory_raises_both_thresholds(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    libc = RecordingLibc()
    assert train.keep_freed_memory(libc)
    calls = dict(libc.calls)
    # Over any activation of a CPU run (the largest measured: ~53 MB at batch 32), and
    # over the 32 MiB glibc's own adjustment stops at.
    assert calls[train.M_MMAP_THRESHOLD] >= 256 << 20
    assert calls[train.M_TRIM_THRESHOLD] >= calls[train.M_MMAP_THRESHOLD]


def test_keep_freed_memory_defers_to_glibc_variables(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    libc = RecordingLibc()
    assert not train.keep_freed_memory(libc)
    assert libc.calls == []


def test_keep_freed_memory_applies_on_this_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    try:
        ctypes.CDLL("libc.so.6")
    except OSError:
        pytest.skip("not glibc")
    assert train.keep_freed_memory(), "glibc refused a threshold over 32 MiB"


def test_stop_reason_ends_where_asked_and_not_before():
    args = argparse.Namespace(steps=1000, stop_at=0, max_seconds=0)
    assert train.stop_reason(999, args, 1e6) == ""
    assert train.stop_reason(1000, args, 0).startswith("finished")
    args.stop_at = 500  # the schedule stays 1,000 steps long; the run ends halfway
    assert train.stop_reason(499, args, 0) == ""
    assert "--stop-at" in train.stop_reason(500, args, 0)
    args.max_seconds = 60
    assert train.stop_reason(10, args, 59.9) == ""
    assert "--max-seconds" in train.stop_reason(10, args, 60)
    args.stop_at = 1000  # at the schedule's end it is simply finished
    assert train.stop_reason(1000, args, 0).startswith("finished")


def test_zoom_range_parses_and_refuses_nonsense():
    assert train.zoom_range("0.35,0.65") == (0.35, 0.65)
    assert train.zoom_range("0.5,0.5") == (0.5, 0.5)
    for bad in ("0.5", "a,b", "0.6,0.3", "0,0.5", "0.5,1.5", "0.2,0.3,0.4"):
        with pytest.raises(SystemExit, match="--zoom-range"):
            train.zoom_range(bad)


def _rate_args(**kw):
    base = {"encoder_lr": None, "pretrained": None, "arch": "mnv2"}
    return argparse.Namespace(**{**base, **kw})


def test_encoder_rate_defaults_by_start_and_takes_an_explicit_value():
    assert train.encoder_rate(_rate_args(pretrained="deeplab.tflite")) == 0.5
    assert train.encoder_rate(_rate_args()) == 1.0  # --init or from scratch: as every continuation cycle ran
    assert train.encoder_rate(_rate_args(encoder_lr=0.2)) == 0.2  # applies with --init too
    with pytest.raises(SystemExit, match="fraction"):
        train.encoder_rate(_rate_args(encoder_lr=-1))
    with pytest.raises(SystemExit, match="nailnet"):
        train.encoder_rate(_rate_args(arch="nailnet", encoder_lr=0.5))


def test_param_groups_split_the_encoder_from_the_decoder():
    from nailtrain.model import MobileNetV2Seg
    m = MobileNetV2Seg(0.5)
    every = {id(p) for p in m.parameters()}
    one = train.param_groups(m, 4e-4, 1.0)
    assert len(one) == 1 and one[0]["lr"] == 4e-4 and {id(p) for p in one[0]["params"]} == every
    dec, enc = train.param_groups(m, 4e-4, 0.2)
    assert dec["lr"] == 4e-4 and enc["lr"] == pytest.approx(8e-5)
    assert {id(p) for p in enc["params"]} == {id(p) for p in list(m.conv0.parameters()) + list(m.blocks.parameters())}
    assert {id(p) for p in dec["params"]} | {id(p) for p in enc["params"]} == every
    assert not {id(p) for p in dec["params"]} & {id(p) for p in enc["params"]}
