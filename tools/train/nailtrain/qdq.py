"""Static INT8 quantisation of an exported model (NailNet, MobileNetV2Seg) in ONNX's QDQ form.

ONNX Runtime's own quantiser (onnxruntime.quantization) is a pip package, and pip is not
reachable here, so this writes the same kind of graph with the onnx package alone. In QDQ
form the model stays a float graph with QuantizeLinear -> DequantizeLinear pairs marking
where values are 8-bit; ONNX Runtime's graph optimiser then fuses each
DequantizeLinear -> op -> QuantizeLinear group into an integer kernel (QLinearConv,
QLinearAdd, a uint8 Resize) at session creation. What is written:

- activations: uint8, one scale and zero point per tensor, from the ranges observed on
  calibration photos (observe()); uint8 activations with int8 weights is the pairing
  ONNX Runtime's x86 kernels (VNNI) run fastest;
- weights: int8, symmetric, one scale per output channel (axis 0), so a depthwise
  filter with small weights keeps its own resolution;
- biases: int32 at scale input_scale x weight_scale, as QLinearConv expects;
- every Conv, Add and Resize is quantised except the head: the last Conv and the
  upsampling after it stay float, so the logit map the threshold reads keeps full
  precision (one channel: the float cost is small);
- a Relu, or a Clip (ReLU6, MobileNetV2's activation), keeps its input float and its
  output quantised (zero point 0, and for ReLU6 a range inside [0, 6] since the output
  never leaves it): ONNX Runtime then drops it into the preceding integer kernel, whose
  uint8 output clamps at zero and, with that scale, at 6 too (its Relu/Clip-Quantize
  fusion removes an activation the quantisation range already implies);
- a Resize's output reuses its input's scale and zero point (bilinear output stays in
  the input's range): ONNX Runtime only runs Resize on uint8 when the two match.
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

# The quantised operators, and how many of their leading inputs are activations.
_DATA_INPUTS = {"Conv": 1, "Add": 2, "Resize": 1}
QUANTISED_OPS = tuple(_DATA_INPUTS)


class Ranges:
    """Running min and max of every float tensor a Graph.run produces (pass .observe)."""

    def __init__(self):
        self.lo, self.hi = {}, {}

    def observe(self, name, t):
        lo, hi = float(t.min()), float(t.max())
        self.lo[name] = min(lo, self.lo.get(name, lo))
        self.hi[name] = max(hi, self.hi.get(name, hi))

    def get(self, name):
        if name not in self.lo:
            raise KeyError(f"no calibration range for {name}: run the calibration photos first")
        return self.lo[name], self.hi[name]


def activation_params(lo, hi):
    """uint8 scale and zero point covering [lo, hi] and zero (ONNX's asymmetric scheme)."""
    lo, hi = min(0.0, lo), max(0.0, hi)
    scale = (hi - lo) / 255.0 or 1.0
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zp)


def weight_params(w):
    """int8 per-output-channel symmetric quantisation of w. Returns (q, scales)."""
    m = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scales = np.where(m > 0, m / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scales.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8)
    return q, scales


def head_nodes(model):
    """Names of the nodes kept float: each graph output's producer and, when that is a
    Resize, the node computing its data input (NailNet: the head Conv, then the x2
    upsampling to the input size)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    keep = set()
    for out in model.graph.output:
        n = producer[out.name]
        keep.add(n.name)
        if n.op_type == "Resize":
            keep.add(producer[n.input[0]].name)
    return keep


def quantised_tensors(model, keep_float):
    """The activations that become uint8, in graph order: the data inputs of every
    quantised op, and its output (or, where the output only feeds Relus, their outputs)."""
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out = []

    def add(t):
        if t not in out:
            out.append(t)

    for n in model.graph.node:
        if n.op_type not in QUANTISED_OPS or n.name in keep_float:
            continue
        for t in n.input[:_DATA_INPUTS[n.op_type]]:
            add(t)
        users = consumers.get(n.output[0], [])
        if users and all(u.op_type in ("Relu", "Clip") for u in users):
            for u in users:
                add(u.output[0])
        else:
            add(n.output[0])
    return out


def quantise(model, ranges):
    """A QDQ copy of model (an onnx ModelProto) from calibration ranges (a Ranges)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    keep_float = head_nodes(m)
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    new_inits = []
    params = {}  # quantised tensor -> (scale, scale name, zero point name)

    def const(name, array):
        new_inits.append(numpy_helper.from_array(array, name))
        return name

    for t in quantised_tensors(m, keep_float):
        src = producer.get(t)
        if src is not None and src.op_type == "Resize" and src.input[0] in params:
            params[t] = params[src.input[0]]  # same scale and zero point as the input
            continue
        scale, zp = activation_params(*ranges.get(t))
        params[t] = (float(scale), const(t + "_scale", np.array(scale)), const(t + "_zero_point", np.array(zp)))

    def qdq_pair(t):
        _, s, z = params[t]
        return [helper.make_node("QuantizeLinear", [t, s, z], [t + "_quantized"], name=t + "_QuantizeLinear"),
                helper.make_node("DequantizeLinear", [t + "_quantized", s, z], [t + "_dequantized"],
                                 name=t + "_DequantizeLinear")]

    inputs = {i.name for i in g.input}
    nodes = [node for t in params if t in inputs for node in qdq_pair(t)]
    for n in g.node:
        x = n.input[0] if n.input else None
        # Every consumer of a quantised tensor reads the dequantised copy; the Q node is
        # then the tensor's only reader, which is what lets ONNX Runtime fuse the Relu. A
        # Shape reads the uint8 copy: it only needs the shape, and a dequantisation made
        # just for it would cost a full pass over the tensor.
        for k, i in enumerate(n.input):
            if i in params:
                n.input[k] = i + ("_quantized" if n.op_type == "Shape" else "_dequantized")
        if n.op_type == "Conv" and n.name not in keep_float:
            _quantise_conv_weights(n, inits, params[x][0], const, nodes)
        nodes.append(n)
        nodes.extend(node for o in n.output if o in params for node in qdq_pair(o))

    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    onnx.checker.check_model(m)
    return m


def _quantise_conv_weights(n, inits, in_scale, const, nodes):
    """Replace Conv n's float weight and bias with int8 / int32 ones behind DequantizeLinear
    (one scale per output channel: the weight's, and input scale x weight scale for the bias)."""

    def dequantised(k, q, scales):
        name = n.input[k]
        const(name + "_quantized", q)
        const(name + "_scale", scales)
        const(name + "_zero_point", np.zeros(len(scales), q.dtype))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                      [name + "_dequantized"], name=name + "_DequantizeLinear", axis=0))
        n.input[k] = name + "_dequantized"

    q, w_scales = weight_params(numpy_helper.to_array(inits[n.input[1]]).astype(np.float32))
    dequantised(1, q, w_scales)
    if len(n.input) > 2 and n.input[2]:
        b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64)
        b_scales = (in_scale * w_scales.astype(np.float64)).astype(np.float32)
        dequantised(2, np.round(b / b_scales).astype(np.int32), b_scales)
