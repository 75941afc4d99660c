"""Start MobileNetV1Seg's encoder from ImageNet weights in a quantised TFLite MobileNetV1.

Source: google-coral/test_data (Apache-2.0), mobilenet_v1_<alpha>_<res>_quant.tflite;
tools/train/pretrained/README.md records the file, its checksum and its licence.

The TFLite file holds each convolution with its BatchNorm already folded in, as uint8
weights and int32 biases; dequantised they are a float MobileNetV1 (the ImageNet
classifier on them still names the test images). Loading maps them onto the model's
convolutions in call order (conv0, then depthwise and pointwise of blocks 1..13), with
two conversions:

- layouts: TFLite convolutions are OHWI and depthwise ones 1HWC; torch wants OIHW.
- input normalisation: MobileNet expects x/127.5 - 1; nailtrt feeds every model
  (x/255 - mean)/std with ImageNet's mean and std (the manifest's input block). The
  first convolution absorbs the difference: u = 2*std*x + (2*mean - 1), so its weights
  scale by 2*std per input channel and its bias gains the weights' sum times 2*mean - 1.
  That is exact away from the border (zero padding now pads the ImageNet-normalised
  value), so one manifest and one preprocessing serve every architecture.

Then from_onnx's calibration restores BatchNorm statistics for the encoder, so training
starts from the pretrained function; the decoder keeps its random initialisation.
"""
import numpy as np

from . import augment, from_onnx, tflite
from .model import MobileNetV1Seg


def _weights(tensors, sub):
    names = [k for k, t in tensors.items() if sub in k and t.data.size]
    if len(names) != 1:
        raise ValueError(f"expected one tensor matching {sub!r}, found {len(names)}")
    return tensors[names[0]].dequantised()


def _bias(tensors, name):
    if name not in tensors:
        raise ValueError(f"no tensor {name!r}: not a TFLite MobileNetV1?")
    return tensors[name].dequantised()


def mobilenet_v1_convs(path):
    """(name, OIHW weight, bias) for conv0 and blocks 1..13 of a TFLite MobileNetV1, with
    the input normalisation folded into conv0 (module docstring)."""
    ts = tflite.read(path)
    pre = "MobilenetV1/MobilenetV1/"
    w0 = _weights(ts, "Conv2d_0/weights_quant").transpose(0, 3, 1, 2)
    b0 = _bias(ts, pre + "Conv2d_0/BatchNorm_Fold/bias")
    std = np.asarray(augment.STD, np.float32).reshape(1, 3, 1, 1)
    mean = np.asarray(augment.MEAN, np.float32).reshape(1, 3, 1, 1)
    b0 = b0 + (w0 * (2 * mean - 1)).sum(axis=(1, 2, 3))
    w0 = w0 * 2 * std
    out = [("Conv2d_0", w0.astype(np.float32), b0.astype(np.float32))]
    for i in range(1, 14):
        for kind, layout in (("depthwise", (3, 0, 1, 2)), ("pointwise", (0, 3, 1, 2))):
            w = _weights(ts, f"Conv2d_{i}_{kind}/weights_quant").transpose(layout)
            b = _bias(ts, f"{pre}Conv2d_{i}_{kind}/BatchNorm_Fold/bias")
            out.append((f"Conv2d_{i}_{kind}", np.ascontiguousarray(w, np.float32), b.astype(np.float32)))
    return out


def load(model, path, calibration):
    """Put the TFLite file's weights into model's encoder (a MobileNetV1Seg of the file's
    width) and calibrate its BatchNorms on the calibration batches."""
    if not isinstance(model, MobileNetV1Seg):
        raise ValueError(f"{path}: pretrained MobileNetV1 weights need --arch mnv1, not {type(model).__name__}")
    convs = mobilenet_v1_convs(path)
    pairs = from_onnx.convs_in_call_order(model)[:len(convs)]
    for (name, conv, bn), (src, w, b) in zip(pairs, convs):
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{path}: {src} weight {w.shape}, model {name} {tuple(conv.weight.shape)}: "
                             f"another width than --alpha {model.alpha}?")
        from_onnx.set_folded(conv, bn, w, b)
    from_onnx.calibrate(model, pairs, calibration)
    return model


def encoder_parameters(model):
    """The parameters load() sets: conv0 and the 13 blocks (not the decoder)."""
    return list(model.conv0.parameters()) + list(model.blocks.parameters())
