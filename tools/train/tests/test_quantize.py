"""onnxgraph runs exported graphs as PyTorch does; qdq writes the INT8 graph ONNX Runtime
fuses; quantize.py writes the model and its manifest from calibration photos."""
import hashlib
import json
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

import builders
import quantize
from nailtrain import onnxgraph, qdq


def _ranges(graph, batches):
    r = qdq.Ranges()
    for x in batches:
        graph.run({"image": x}, observe=r.observe)
    return r


# Both kinds of model nailtrt ships: NailNet (Relu) and MobileNetV2Seg (ReLU6 as Clip).
ARCHS = {"nailnet": builders.exported_nailnet, "mnv2": builders.exported_mnv2}


def _calibrated(tmp_path, arch="nailnet"):
    torch_model, path = ARCHS[arch](tmp_path)
    model = onnx.load(str(path))
    torch.manual_seed(2)
    batches = [torch.randn(2, 3, 64, 64) for _ in range(3)]
    return torch_model, model, _ranges(onnxgraph.Graph(model), batches), batches


@pytest.mark.parametrize("arch", ARCHS)
def test_graph_runs_the_export_as_pytorch_does(tmp_path, arch):
    torch_model, path = ARCHS[arch](tmp_path)
    x = torch.randn(2, 3, 48, 80)  # another size than exported: the Resize sizes come from Shape
    with torch.no_grad():
        want = torch_model(x).numpy()
    got = onnxgraph.load(str(path)).run({"image": x})["logits"].numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-4


def test_graph_refuses_operators_it_does_not_know():
    node = helper.make_node("Softmax", ["x"], ["y"], name="sm")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])])
    with pytest.raises(ValueError, match="Softmax"):
        onnxgraph.Graph(helper.make_model(g))


def test_quantize_and_dequantize_follow_onnx():
    x = torch.tensor([-1.0, 0.0, 0.25, 0.75, 1.25, 300.0])
    q = onnxgraph.OPS["QuantizeLinear"](x, torch.tensor(0.5), torch.tensor(10, dtype=torch.uint8))
    # x/0.5 = -2, 0, 0.5, 1.5, 2.5, 600: halves round to even, then +10, saturated at 255.
    assert q.tolist() == [8, 10, 10, 12, 12, 255]
    back = onnxgraph.OPS["DequantizeLinear"](q, torch.tensor(0.5), torch.tensor(10, dtype=torch.uint8))
    assert back.tolist() == [-1.0, 0.0, 0.0, 1.0, 1.0, 122.5]
    # Per axis: one scale per channel of axis 0.
    w = torch.tensor([[1.0, -1.0], [10.0, 5.0]])
    qw = onnxgraph.OPS["QuantizeLinear"](w, torch.tensor([0.5, 5.0]), torch.zeros(2, dtype=torch.int8), axis=0)
    assert qw.tolist() == [[2, -2], [2, 1]]


def test_activation_params_cover_the_range_and_zero():
    for lo, hi in [(0.0, 6.0), (-2.0, 3.0), (0.5, 4.0), (-3.0, -1.0), (0.0, 0.0)]:
        scale, zp = qdq.activation_params(lo, hi)
        assert scale > 0 and 0 <= zp <= 255
        # both ends are within half a step of the uint8 grid (zero is the code zp)
        assert (0 - int(zp)) * scale <= min(lo, 0) + scale / 2
        assert (255 - int(zp)) * scale >= max(hi, 0) - scale / 2
    assert qdq.activation_params(0.0, 6.0)[1] == 0  # a Relu output: zero point 0


def test_weight_params_are_per_channel_and_symmetric():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    w[1] *= 0.01  # a channel with small weights keeps its own resolution
    w[3] = 0      # an all-zero channel gets a usable scale
    q, scales = qdq.weight_params(w)
    assert q.dtype == np.int8 and scales.shape == (4,)
    back = q.astype(np.float32) * scales.reshape(-1, 1, 1, 1)
    for c in range(4):
        assert np.abs(back[c] - w[c]).max() <= scales[c] / 2 + 1e-9
    assert np.abs(q).max() == 127
    assert scales[1] < scales[0] / 50 and scales[3] == 1.0


@pytest.mark.parametrize("arch", ARCHS)
def test_quantised_graph_has_the_groups_onnx_runtime_fuses(tmp_path, arch):
    _, model, ranges, _ = _calibrated(tmp_path, arch)
    q = qdq.quantise(model, ranges)
    inits = {i.name: numpy_helper.to_array(i) for i in q.graph.initializer}
    producer = {o: n for n in q.graph.node for o in n.output}
    consumers = {}
    for n in q.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    head = qdq.head_nodes(q)
    convs = [n for n in q.graph.node if n.op_type == "Conv"]
    assert len(head) == 2 and sum(n.name in head for n in convs) == 1

    for n in convs:
        if n.name in head:  # the head keeps float weights
            assert n.input[1] in inits and inits[n.input[1]].dtype == np.float32
            continue
        x_dq, w_dq, b_dq = (producer[i] for i in n.input)
        assert {x_dq.op_type, w_dq.op_type, b_dq.op_type} == {"DequantizeLinear"}
        assert producer[x_dq.input[0]].op_type == "QuantizeLinear" and inits[x_dq.input[2]].dtype == np.uint8
        assert inits[w_dq.input[0]].dtype == np.int8 and inits[b_dq.input[0]].dtype == np.int32
        w_scale, b_scale = inits[w_dq.input[1]], inits[b_dq.input[1]]
        x_scale = inits[x_dq.input[1]]
        assert w_scale.shape == (inits[w_dq.input[0]].shape[0],)
        np.testing.assert_allclose(b_scale, x_scale * w_scale, rtol=1e-6)
        # the output is quantised, directly or after the Relu or Clip ONNX Runtime folds in
        out_users = consumers[n.output[0]]
        if all(u.op_type in ("Relu", "Clip") for u in out_users):
            out_users = [v for u in out_users for v in consumers[u.output[0]]]
        assert [u.op_type for u in out_users] == ["QuantizeLinear"]

    for n in q.graph.node:
        if n.op_type == "QuantizeLinear":  # read only by its DequantizeLinear (and Shapes)
            assert {u.op_type for u in consumers[n.output[0]]} <= {"DequantizeLinear", "Shape"}
            assert "DequantizeLinear" in {u.op_type for u in consumers[n.output[0]]}
        if n.op_type in ("Relu", "Clip") and n.output[0] in consumers:  # zero point 0: fused away
            (qn,) = consumers[n.output[0]]
            assert qn.op_type == "QuantizeLinear" and inits[qn.input[2]] == 0
            if n.op_type == "Clip":  # ReLU6: the uint8 range ends at or below 6, so the clip is implied
                assert 255 * inits[qn.input[1]] <= 6.0 + 1e-6
        if n.op_type == "Resize" and n.name not in head:  # same parameters in and out
            (qn,) = consumers[n.output[0]]
            assert qn.input[1:] == producer[n.input[0]].input[1:]


@pytest.mark.parametrize("arch", ARCHS)
def test_quantised_graph_stays_close_to_the_float_one(tmp_path, arch):
    _, model, ranges, batches = _calibrated(tmp_path, arch)
    q = onnxgraph.Graph(qdq.quantise(model, ranges))
    f = onnxgraph.Graph(model)
    for x in batches:
        want = f.run({"image": x})["logits"].numpy()
        got = q.run({"image": x})["logits"].numpy()
        # 8-bit steps through 40 layers: close, not equal
        assert np.abs(got - want).mean() < 0.05 * np.abs(want).mean()
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.98
        assert not np.array_equal(got, want)


def test_quantise_needs_every_range(tmp_path):
    _, model, ranges, _ = _calibrated(tmp_path)
    del ranges.lo["image"], ranges.hi["image"]
    with pytest.raises(KeyError, match="image"):
        qdq.quantise(model, ranges)


def test_quantize_writes_the_model_and_its_manifest(tmp_path, tiny_dataset, monkeypatch):
    root, _ = tiny_dataset
    _, path = builders.exported_nailnet(tmp_path, size=64)
    manifest = {"name": "nailseg", "version": "9.9.9", "file": path.name, "sha256": "x",
                "input": {"name": "image", "height": 64, "width": 64}, "threshold": 0.7,
                "metrics": {"val/hands": {"iou": 0.5}}}
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    out = tmp_path / "out" / "m-int8"
    out.parent.mkdir()
    monkeypatch.setattr(sys, "argv", ["quantize.py", "--model", str(tmp_path / "m.json"), "--out", str(out),
                                      "--dataset", root, "--photos", "4"])
    quantize.main()
    written = json.loads((tmp_path / "out" / "m-int8.json").read_text())
    data = (tmp_path / "out" / "m-int8.onnx").read_bytes()
    assert written["name"] == "nailseg-int8" and written["version"] == "9.9.9"
    assert written["file"] == "m-int8.onnx" and written["sha256"] == hashlib.sha256(data).hexdigest()
    assert "metrics" not in written and written["threshold"] == 0.7
    q = onnx.load_from_string(data)
    assert sum(n.op_type == "QuantizeLinear" for n in q.graph.node) > 10


def test_calibration_rows_come_from_train_by_source(tiny_dataset):
    root, truth = tiny_dataset
    rows = quantize.calibration_rows(root, 8, seed=0)
    # the tiny set's train photos: one hand, one finger (no train closeups or fingertips)
    assert sorted(r["id"] for r in rows) == ["fingers/c", "hands/a"]
    assert all(truth[r["id"]][0]["split"] == "train" for r in rows)
