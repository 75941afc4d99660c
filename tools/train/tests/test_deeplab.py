"""DeepLabV3's MobileNetV2 as MobileNetV2Seg's encoder (nailtrain.pretrained, model.MobileNetV2Seg).

The proof that the loaded encoder computes what the TFLite file computes: with the file's
own DeepLab head on top, it must segment Coral's bird test image as Coral's expected
mask says (pretrained/README.md: the image and mask come from google-coral/test_data).
"""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from nailtrain import augment, from_onnx, model as models, pretrained

HERE = os.path.join(os.path.dirname(__file__), "..", "pretrained")
# Both DeepLabV3 MobileNetV2 files of Coral's test data: (file, width, encoder widths).
FILES = [
    pytest.param(os.path.join(HERE, "deeplabv3_mnv2_dm05_pascal_quant.tflite"), 0.5, (8, 12, 16, 48, 160), id="dm05"),
    pytest.param(os.path.join(HERE, "deeplabv3_mnv2_pascal_quant.tflite"), 1.0, (16, 24, 32, 96, 320), id="dm10"),
]


def loaded(path, alpha, output_stride):
    m = models.MobileNetV2Seg(alpha, output_stride)
    pairs = from_onnx.convs_in_call_order(m)
    for (_, conv, bn), (_, w, b) in zip(pairs, pretrained.mobilenet_v2_convs(path)):
        from_onnx.set_folded(conv, bn, w, b)
    return m.eval()


@pytest.mark.parametrize("path, alpha, widths", FILES)
def test_reads_every_encoder_convolution(path, alpha, widths):
    convs = pretrained.mobilenet_v2_convs(path)
    # conv0, block 0 (depthwise + project), 16 blocks of expand + depthwise + project
    assert len(convs) == 1 + 2 + 16 * 3
    m = models.MobileNetV2Seg(alpha)
    shapes = [tuple(c.weight.shape) for _, c, _ in from_onnx.convs_in_call_order(m)][:len(convs)]
    assert shapes == [w.shape for _, w, _ in convs]
    assert m.enc_widths == widths


@pytest.mark.parametrize("path, alpha, widths", FILES)
def test_reproduces_corals_bird_segmentation(path, alpha, widths):
    img = np.asarray(Image.open(os.path.join(HERE, "coral_bird_513.png")).convert("RGB"))
    want = np.asarray(Image.open(os.path.join(HERE, "coral_bird_513_expected.png")))
    x = torch.from_numpy(augment.normalise(img))[None]
    got = pretrained.deeplab_logits(loaded(path, alpha, 16), pretrained.deeplab_head(path), x).argmax(1)[0].numpy()
    # Float weights against Coral's uint8 arithmetic: 97.1% (width 0.5) and 97.7% (width
    # 1.0) of pixels get the same class (the bird's outline moves by a pixel or two); a
    # wrong layout, fold or order gives well under 90% (a random decoder: the bird vanishes).
    assert (got == want).mean() > 0.96
    bird = want == 3
    assert (got[bird] == 3).mean() > 0.85  # 0.891 and 0.975: the outline, again


def test_strided_and_dilated_encoders_share_weights_and_sizes():
    a, b = models.MobileNetV2Seg(0.5, 32), models.MobileNetV2Seg(0.5, 16)
    assert [k for k in a.state_dict()] == [k for k in b.state_dict()]
    x = torch.zeros(1, 3, 64, 64)
    assert [f.shape[-1] for f in a.features(x)] == [32, 16, 8, 4, 2]
    assert [f.shape[-1] for f in b.features(x)] == [32, 16, 8, 4, 4]
    assert a(x).shape == b(x).shape == (1, 1, 64, 64)


def test_checkpoint_spec_rebuilds_the_model():
    m = models.MobileNetV2Seg(0.5, 32, (8, 16, 24, 32))
    spec = {"arch": "mnv2", "alpha": 0.5, "output_stride": 32, "dec": (8, 16, 24, 32), "state": m.state_dict()}
    r = models.build(spec)
    r.load_state_dict(spec["state"])
    x = torch.randn(1, 3, 64, 64)
    m.eval(), r.eval()
    assert torch.equal(m(x), r(x))


def test_refuses_a_bad_output_stride_and_the_wrong_file():
    with pytest.raises(ValueError, match="output_stride"):
        models.MobileNetV2Seg(0.5, 8)
    v1 = os.path.join(HERE, "mobilenet_v1_0.25_128_quant.tflite")
    with pytest.raises(ValueError, match="MobilenetV2/Conv"):
        pretrained.mobilenet_v2_convs(v1)
