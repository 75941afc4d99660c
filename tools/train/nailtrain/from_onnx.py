"""Rebuild a trainable model from an exported ONNX file (the bundled engines/nailseg.onnx).

The export folds every BatchNorm into the convolution before it (W' = W*g/s, b' = beta -
mean*g/s), so the ONNX file holds one weight and one bias per convolution and no
normalisation statistics. This restores a model that computes exactly what the file does
in eval mode and trains like the original:

1. Each convolution takes W' and its BatchNorm becomes a pure bias: running mean 0,
   running variance 1-eps, scale 1, shift b'. The model now equals the ONNX graph.
2. Calibration: one pass in eval mode over training crops records each convolution's
   per-channel output mean m and variance v (the inputs every layer sees are the
   original's, because step 1 is exact).
3. Each BatchNorm gets running mean m, running variance v, scale sqrt(v+eps) and shift
   m+b'. Eval mode still computes y+b' exactly; train mode normalises by batch statistics
   close to m and v, so the first training steps start where the exported model is
   instead of from a scale the fold erased.

Convolutions are matched in call order (the exporter writes nodes in the order forward
runs them), and every shape is checked; make train's parity step then holds the export of
the result to the file within 1e-4.
"""
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper


def onnx_convs(path):
    """(node name, weight, bias) for every Conv node of the ONNX file, in graph order."""
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return [(n.output[0], inits[n.input[1]], inits[n.input[2]] if len(n.input) > 2 else None)
            for n in m.graph.node if n.op_type == "Conv"]


def convs_in_call_order(model, size=64):
    """(path, conv, bn or None) for every Conv2d in the order forward calls them (the order
    the exporter writes them), bn being the BatchNorm2d that follows it in its Sequential."""
    follows = {}
    for mod in model.modules():
        if isinstance(mod, nn.Sequential):
            kids = list(mod.children())
            for a, b in zip(kids, kids[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    follows[a] = b
    names = {mod: path for path, mod in model.named_modules()}
    order = []
    handles = [mod.register_forward_hook(lambda mod, _i, _o: order.append(mod))
               for mod in model.modules() if isinstance(mod, nn.Conv2d)]
    model.eval()
    model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return [(names[c], c, follows.get(c)) for c in order]


@torch.no_grad()
def set_folded(conv, bn, w, b):
    """Step 1 for one convolution: weight w, and its BatchNorm (if any) a pure bias b."""
    conv.weight.copy_(torch.from_numpy(w.copy()))
    if bn is None:
        conv.bias.copy_(torch.from_numpy(b.copy()))
        return
    bn.running_mean.zero_()
    bn.running_var.fill_(1 - bn.eps)
    bn.weight.fill_(1)
    bn.bias.copy_(torch.from_numpy(b.copy()))


@torch.no_grad()
def calibrate(model, pairs, calibration):
    """Steps 2 and 3 for the (path, conv, bn) pairs set by set_folded, over the calibration
    batches (an iterable of input tensors)."""
    stats = {}  # conv -> [n, sum, sum of squares] per channel

    def hook(mod, _inp, out):
        s = stats.setdefault(mod, [0, 0.0, 0.0])
        s[0] += out.numel() // out.shape[1]
        s[1] = s[1] + out.double().sum(dim=(0, 2, 3))
        s[2] = s[2] + (out.double() ** 2).sum(dim=(0, 2, 3))

    handles = [conv.register_forward_hook(hook) for _, conv, bn in pairs if bn is not None]
    model.eval()
    for x in calibration:
        model(x)
    for h in handles:
        h.remove()
    for _, conv, bn in pairs:
        if bn is None:
            continue
        n, s1, s2 = stats[conv]
        mean = s1 / n
        var = (s2 / n - mean ** 2).clamp(min=0)
        shift = bn.bias.double().clone()
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_((var + bn.eps).sqrt())
        bn.bias.copy_(mean + shift)


def load(model, path, calibration):
    """Load the ONNX file's weights into model (the same architecture and widths) and
    restore BatchNorm statistics from the calibration batches (an iterable of input
    tensors)."""
    convs = onnx_convs(path)
    pairs = convs_in_call_order(model)
    if len(pairs) != len(convs):
        raise ValueError(f"{path} has {len(convs)} convolutions, the model {len(pairs)}: another architecture?")
    for (name, conv, bn), (node, w, b) in zip(pairs, convs):
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{path}: {node} weight {w.shape}, model {name} {tuple(conv.weight.shape)}: other widths?")
        set_folded(conv, bn, w, b)
    calibrate(model, pairs, calibration)
    return model
