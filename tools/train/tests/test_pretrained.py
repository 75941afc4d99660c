"""The TFLite reader and the MobileNetV1 encoder start (nailtrain.tflite, nailtrain.pretrained)."""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nailtrain import augment, model as models, pretrained, tflite

TFLITE = os.path.join(os.path.dirname(__file__), "..", "pretrained", "mobilenet_v1_0.25_128_quant.tflite")


def test_reads_every_weight_of_the_bundled_file():
    ts = tflite.read(TFLITE)
    weights = [t for t in ts.values() if t.data.size and "weights_quant" in t.name]
    assert len(weights) == 1 + 13 * 2 + 1  # conv0, 13 separable blocks, the classifier
    w0 = next(t for t in weights if "Conv2d_0/" in t.name)
    assert w0.shape == (8, 3, 3, 3) and w0.dtype == np.uint8
    deq = w0.dequantised()
    assert deq.dtype == np.float32
    assert np.allclose(deq, (w0.data.reshape(w0.shape).astype(np.float32) - w0.zero_point[0]) * w0.scale[0])


def test_rejects_a_file_that_is_not_tflite(tmp_path):
    p = tmp_path / "x.tflite"
    p.write_bytes(b"\x08\x00\x00\x00ONNX" + bytes(32))
    with pytest.raises(ValueError, match="not a TensorFlow Lite file"):
        tflite.read(str(p))


def test_conv0_absorbs_the_input_normalisation():
    # Away from the border, the folded conv0 on ImageNet-normalised input computes what
    # the original conv0 computes on MobileNet's x/127.5 - 1.
    ts = tflite.read(TFLITE)
    w = torch.from_numpy(next(t for k, t in ts.items() if "Conv2d_0/weights_quant" in k)
                         .dequantised().transpose(0, 3, 1, 2).copy())
    b = torch.from_numpy(ts["MobilenetV1/MobilenetV1/Conv2d_0/BatchNorm_Fold/bias"].dequantised())
    _, wf, bf = pretrained.mobilenet_v1_convs(TFLITE)[0]
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mobilenet_in = torch.from_numpy(img.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    ours_in = torch.from_numpy(augment.normalise(img))[None]
    want = F.conv2d(mobilenet_in, w, b, stride=2)
    got = F.conv2d(ours_in, torch.from_numpy(wf), torch.from_numpy(bf), stride=2)
    assert (want - got).abs().max() < 1e-4


def test_loaded_encoder_computes_the_dequantised_mobilenet():
    model = models.MobileNetV1Seg(0.25)
    calib = [torch.randn(2, 3, 64, 64) for _ in range(2)]
    pretrained.load(model, TFLITE, calib)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    ref = x
    convs = pretrained.mobilenet_v1_convs(TFLITE)
    strides = [2] + [s for _, s in models.MOBILENET_V1_BLOCKS for _ in (0, 1)]
    for (name, w, b), s in zip(convs, strides):
        w = torch.from_numpy(w)
        dw = "depthwise" in name or name == "Conv2d_0"
        ref = F.relu(F.conv2d(ref, w, torch.from_numpy(b), stride=s if dw else 1, padding=1 if dw else 0,
                              groups=w.shape[0] if "depthwise" in name else 1))
    with torch.no_grad():
        f = model.conv0(x)
        for block in model.blocks:
            f = block(f)
    assert f.shape == ref.shape
    assert (f - ref).abs().max() < 1e-3 * max(1.0, ref.abs().max().item())


def test_encoder_parameters_are_the_pretrained_ones():
    model = models.MobileNetV1Seg(0.25)
    enc = pretrained.encoder_parameters(model)
    assert len(enc) == 3 * (1 + 26)  # conv weight, BatchNorm weight and bias per convolution
    assert all(p is not q for p in enc for q in model.head.parameters())


def test_refuses_another_architecture_or_width():
    with pytest.raises(ValueError, match="--arch mnv1"):
        pretrained.load(models.NailNet((8, 8, 8, 8, 8)), TFLITE, [])
    with pytest.raises(ValueError, match="another width"):
        pretrained.load(models.MobileNetV1Seg(0.5), TFLITE, [])


def test_checkpoints_name_their_architecture():
    assert isinstance(models.build({"arch": "mnv1", "alpha": 0.25}), models.MobileNetV1Seg)
    assert isinstance(models.build({"widths": (8, 16, 16, 32, 32)}), models.NailNet)  # before the arch field
    with pytest.raises(ValueError, match="unknown architecture"):
        models.build({"arch": "resnet"})
