"""Start an encoder from pretrained weights in a quantised TFLite file: MobileNetV1Seg from
an ImageNet MobileNetV1, MobileNetV2Seg from DeepLabV3's PASCAL VOC MobileNetV2.

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
import torch
import torch.nn.functional as F

from . import augment, from_onnx, tflite
from .model import MobileNetV1Seg, MobileNetV2Seg


def _weights(tensors, sub):
    names = [k for k, t in tensors.items() if sub in k and t.data.size]
    if len(names) != 1:
        raise ValueError(f"expected one tensor matching {sub!r}, found {len(names)}")
    return tensors[names[0]].dequantised()


def _bias(tensors, name):
    if name not in tensors:
        raise ValueError(f"no tensor {name!r}: not a TFLite MobileNetV1?")
    return tensors[name].dequantised()


def _fold_input(w0, b0):
    """conv0's weight and bias for nailtrt's (x/255 - mean)/std input instead of the
    x/127.5 - 1 MobileNets were trained on (module docstring)."""
    std = np.asarray(augment.STD, np.float32).reshape(1, 3, 1, 1)
    mean = np.asarray(augment.MEAN, np.float32).reshape(1, 3, 1, 1)
    b0 = b0 + (w0 * (2 * mean - 1)).sum(axis=(1, 2, 3))
    return (w0 * 2 * std).astype(np.float32), b0.astype(np.float32)


def _bias_ending(tensors, suffix):
    """A bias tensor named (possibly among ;-joined fused names) ...suffix, unique."""
    names = [k for k in tensors if k.split(";")[-1] == suffix and tensors[k].data.size]
    if len(names) != 1:
        raise ValueError(f"expected one bias named {suffix!r}, found {len(names)}: not a DeepLabV3 MobileNetV2?")
    return tensors[names[0]].dequantised()


def mobilenet_v1_convs(path):
    """(name, OIHW weight, bias) for conv0 and blocks 1..13 of a TFLite MobileNetV1, with
    the input normalisation folded into conv0 (module docstring)."""
    ts = tflite.read(path)
    pre = "MobilenetV1/MobilenetV1/"
    w0 = _weights(ts, "Conv2d_0/weights_quant").transpose(0, 3, 1, 2)
    b0 = _bias(ts, pre + "Conv2d_0/BatchNorm_Fold/bias")
    w0, b0 = _fold_input(w0, b0)
    out = [("Conv2d_0", w0, b0)]
    for i in range(1, 14):
        for kind, layout in (("depthwise", (3, 0, 1, 2)), ("pointwise", (0, 3, 1, 2))):
            w = _weights(ts, f"Conv2d_{i}_{kind}/weights_quant").transpose(layout)
            b = _bias(ts, f"{pre}Conv2d_{i}_{kind}/BatchNorm_Fold/bias")
            out.append((f"Conv2d_{i}_{kind}", np.ascontiguousarray(w, np.float32), b.astype(np.float32)))
    return out


def mobilenet_v2_convs(path):
    """(name, OIHW weight, bias) for conv0 and the 17 inverted-residual blocks (expand,
    depthwise, project) of a DeepLabV3 MobileNetV2 TFLite file (google-coral/test_data's
    deeplabv3_mnv2_*_pascal_quant.tflite), input normalisation folded into conv0."""
    ts = tflite.read(path)
    layouts = {"expand": (0, 3, 1, 2), "depthwise": (3, 0, 1, 2), "project": (0, 3, 1, 2)}
    w0 = _weights(ts, "MobilenetV2/Conv/weights_quant").transpose(0, 3, 1, 2)
    w0, b0 = _fold_input(w0, _bias_ending(ts, "MobilenetV2/Conv/BatchNorm_Fold/bias"))
    out = [("Conv", w0, b0)]
    for i in range(17):
        block = "expanded_conv" + (f"_{i}" if i else "")
        for kind in ("expand", "depthwise", "project"):
            if i == 0 and kind == "expand":
                continue  # the first block has expansion 1
            w = _weights(ts, f"MobilenetV2/{block}/{kind}/weights_quant").transpose(layouts[kind])
            b = _bias_ending(ts, f"MobilenetV2/{block}/{kind}/BatchNorm_Fold/bias")
            out.append((f"{block}/{kind}", np.ascontiguousarray(w, np.float32), b.astype(np.float32)))
    return out


def deeplab_head(path):
    """DeepLabV3's head in the file (ASPP's 1x1 branch, image pooling, projection, the
    21-class logits) as OIHW weights and biases, for checking the encoder reproduces the
    file's segmentation (tests/test_pretrained.py); training does not use it."""
    ts = tflite.read(path)
    out = {}
    for name in ("aspp0", "image_pooling", "concat_projection"):
        out[name] = (_weights(ts, f"{name}/weights_quant").transpose(0, 3, 1, 2),
                     _bias_ending(ts, f"{name}/BatchNorm_Fold/bias"))
    out["logits"] = (_weights(ts, "logits/semantic/weights_quant").transpose(0, 3, 1, 2),
                     _bias_ending(ts, "logits/semantic/biases"))
    return out


@torch.no_grad()
def deeplab_logits(encoder, head, x):
    """The PASCAL VOC logits DeepLabV3 computes from x with the encoder (a MobileNetV2Seg
    at output_stride 16 in eval mode, loaded from the same file) and its head, at the
    input's size: what the TFLite graph computes before its ArgMax."""
    f = encoder.features(x)[-1]
    t = {k: (torch.from_numpy(np.ascontiguousarray(w)), torch.from_numpy(b)) for k, (w, b) in head.items()}
    a = F.relu(F.conv2d(f, *t["aspp0"]))
    p = F.relu(F.conv2d(f.mean(dim=(2, 3), keepdim=True), *t["image_pooling"])).expand_as(a)
    y = F.relu(F.conv2d(torch.cat([p, a], 1), *t["concat_projection"]))
    y = F.conv2d(y, *t["logits"])
    return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=True)


def load(model, path, calibration):
    """Put the TFLite file's weights into model's encoder (a MobileNetV1Seg or
    MobileNetV2Seg of the file's width) and calibrate its BatchNorms on the calibration
    batches."""
    if isinstance(model, MobileNetV1Seg):
        convs = mobilenet_v1_convs(path)
    elif isinstance(model, MobileNetV2Seg):
        convs = mobilenet_v2_convs(path)
    else:
        raise ValueError(f"{path}: pretrained weights need --arch mnv1 or mnv2, not {type(model).__name__}")
    pairs = from_onnx.convs_in_call_order(model)[:len(convs)]
    for (name, conv, bn), (src, w, b) in zip(pairs, convs):
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{path}: {src} weight {w.shape}, model {name} {tuple(conv.weight.shape)}: "
                             f"another width than --alpha {model.alpha}?")
        from_onnx.set_folded(conv, bn, w, b)
    from_onnx.calibrate(model, pairs, calibration)
    return model


def encoder_parameters(model):
    """The parameters load() sets: conv0 and the blocks (not the decoder)."""
    return list(model.conv0.parameters()) + list(model.blocks.parameters())
