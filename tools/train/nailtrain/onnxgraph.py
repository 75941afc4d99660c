"""Run an ONNX graph with PyTorch operators, seeing every intermediate tensor.

There is no ONNX Runtime for Python on the build machines (no pip), and onnx 1.12 has no
reference evaluator, so the quantiser (quantize.py) needs its own way to see what each
activation of engines/nailseg.onnx holds on real photos. This runs the graph node by node
with torch functions, for the operators the NailNet export writes (Conv, Relu, Add, Resize
and the Shape/Gather/Unsqueeze/Concat/Slice/Cast chain that computes Resize's sizes) plus
QuantizeLinear/DequantizeLinear, so the quantised graph can be simulated too. Anything
else is an error naming the operator, never a guess.

The numbers are ONNX's definitions (half-pixel bilinear Resize, round-half-to-even
quantisation, per-axis scales), so run(fp32 model) matches PyTorch's NailNet and the
Go runner's output within float rounding (tests/test_quantize.py holds both).
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

_DTYPES = {
    onnx.TensorProto.FLOAT: torch.float32, onnx.TensorProto.INT64: torch.int64,
    onnx.TensorProto.INT32: torch.int32, onnx.TensorProto.INT8: torch.int8, onnx.TensorProto.UINT8: torch.uint8,
}
_QRANGE = {torch.uint8: (0, 255), torch.int8: (-128, 127), torch.int32: (-(1 << 31), (1 << 31) - 1)}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _axis_view(t, x, axis):
    """t (a per-axis scale or zero point, 1-D) shaped to broadcast along x's axis."""
    if t.dim() == 0:
        return t
    shape = [1] * x.dim()
    shape[axis] = -1
    return t.reshape(shape)


def _conv(x, w, b=None, dilations=(1, 1), group=1, pads=(0, 0, 0, 0), strides=(1, 1), **_):
    if tuple(pads[:2]) != tuple(pads[2:]):
        raise ValueError(f"Conv: asymmetric pads {pads} are not supported")
    return F.conv2d(x, w, b, tuple(strides), tuple(pads[:2]), tuple(dilations), group)


def _resize(x, roi=None, scales=None, sizes=None, mode=b"nearest", coordinate_transformation_mode=b"half_pixel",
            **_):
    if mode != b"linear" or coordinate_transformation_mode not in (b"half_pixel", b"pytorch_half_pixel"):
        raise ValueError(f"Resize: mode {mode} with {coordinate_transformation_mode} is not supported")
    if sizes is None or sizes.numel() == 0:
        size = [int(round(d * float(s))) for d, s in zip(x.shape[2:], scales[2:])]
    else:
        size = [int(v) for v in sizes[2:]]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _quantize(x, scale, zp=None, axis=1, **_):
    dtype = torch.uint8 if zp is None else zp.dtype
    lo, hi = _QRANGE[dtype]
    z = 0 if zp is None else _axis_view(zp, x, axis).to(torch.float32)
    q = torch.round(x / _axis_view(scale, x, axis)) + z  # torch.round: half to even, as ONNX
    return q.clamp(lo, hi).to(dtype)


def _dequantize(x, scale, zp=None, axis=1, **_):
    z = 0 if zp is None else _axis_view(zp, x, axis).to(torch.float64)
    return ((x.to(torch.float64) - z) * _axis_view(scale, x, axis).to(torch.float64)).to(torch.float32)


def _gather(x, idx, axis=0, **_):
    flat = torch.index_select(x, axis, idx.reshape(-1) % x.shape[axis])
    return flat.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def _unsqueeze(x, axes, **_):
    for a in sorted(int(v) for v in axes):
        x = x.unsqueeze(a)
    return x


def _slice(x, starts, ends, axes=None, steps=None, **_):
    axes = range(len(starts)) if axes is None else [int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    index = [slice(None)] * x.dim()
    for a, s, e, st in zip(axes, starts, ends, steps):
        n = x.shape[a]
        index[a] = slice(max(-n, min(int(s), n)), max(-n - 1, min(int(e), n)), st)
    return x[tuple(index)]


OPS = {
    "Conv": _conv,
    "Relu": lambda x, **_: F.relu(x),
    "Clip": lambda x, lo=None, hi=None, **_: x.clamp(*(None if v is None else float(v) for v in (lo, hi))),
    "Add": lambda a, b, **_: a + b,
    "Resize": _resize,
    "Shape": lambda x, **_: torch.tensor(x.shape, dtype=torch.int64),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Concat": lambda *xs, axis, **_: torch.cat(xs, axis),
    "Slice": _slice,
    "Cast": lambda x, to, **_: x.to(_DTYPES[to]),
    "QuantizeLinear": _quantize,
    "DequantizeLinear": _dequantize,
}
# Positional input names of the operators whose optional inputs may be left empty ("").
_INPUTS = {"Resize": ("x", "roi", "scales", "sizes"), "Clip": ("x", "lo", "hi"),
           "Slice": ("x", "starts", "ends", "axes", "steps"),
           "Conv": ("x", "w", "b"), "QuantizeLinear": ("x", "scale", "zp"), "DequantizeLinear": ("x", "scale", "zp")}


class Graph:
    """An ONNX model ready to run: graph = Graph(onnx.load(path)); graph.run({"image": x})."""

    def __init__(self, model):
        self.model = model
        self.consts = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
        for n in model.graph.node:
            if n.op_type not in OPS and n.op_type != "Constant":
                raise ValueError(f"node {n.name}: operator {n.op_type} is not supported by onnxgraph")

    @torch.no_grad()
    def run(self, feeds, observe=None):
        """Run the graph on feeds ({input name: float tensor}). Returns {output name: tensor}.
        observe(name, tensor), when given, sees every feed and every float tensor a node
        produces."""
        values = dict(self.consts)
        values.update(feeds)
        if observe is not None:
            for name, t in feeds.items():
                observe(name, t)
        for n in self.model.graph.node:
            a = _attrs(n)
            if n.op_type == "Constant":
                out = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            else:
                names = _INPUTS.get(n.op_type)
                if names:
                    kw = {k: values[v] for k, v in zip(names[1:], n.input[1:]) if v}
                    out = OPS[n.op_type](values[n.input[0]], **kw, **a)
                else:
                    out = OPS[n.op_type](*(values[v] for v in n.input), **a)
            values[n.output[0]] = out
            if observe is not None and out.dtype == torch.float32:
                observe(n.output[0], out)
        return {o.name: values[o.name] for o in self.model.graph.output}


def load(path):
    return Graph(onnx.load(path))


def as_input(batch):
    """NCHW float32 numpy -> tensor."""
    return torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
