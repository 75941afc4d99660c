"""Read the weight tensors of a TensorFlow Lite file, dequantised, with no TensorFlow.

Why: the pretrained encoders that can be had here (the Apache-2.0 ImageNet MobileNets in
the public google-coral/test_data repository) ship only as quantised .tflite files, and
neither TensorFlow nor the flatbuffers package is installable on this machine. A .tflite
file is a FlatBuffer (schema: tensorflow/lite/schema/schema.fbs); reading the few tables
that hold tensors takes a small walker over its vtables, which is all this module is.

Only what weight import needs is read: each tensor's name, shape, type, data and its
quantisation (scale and zero point, per tensor or per channel). Operators are ignored; the
caller knows the architecture and matches tensors by name.
"""
import struct

import numpy as np

# TensorType enum values in schema.fbs and the NumPy type of their data.
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}


class _Table:
    """One FlatBuffer table: fields are looked up through its vtable by index."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        vt_len = struct.unpack_from("<H", buf, vt)[0]
        self.fields = struct.unpack_from(f"<{(vt_len - 4) // 2}H", buf, vt + 4)

    def _at(self, i):
        return self.fields[i] if i < len(self.fields) else 0

    def scalar(self, i, fmt, default=0):
        off = self._at(i)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _target(self, i):
        off = self._at(i)
        if not off:
            return None
        p = self.pos + off
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, i):
        t = self._target(i)
        return None if t is None else _Table(self.buf, t)

    def vector(self, i, fmt):
        """A vector of scalars (fmt: struct code) as a NumPy array; empty when absent."""
        t = self._target(i)
        if t is None:
            return np.zeros(0, dtype=np.dtype("<" + fmt))
        n = struct.unpack_from("<I", self.buf, t)[0]
        return np.frombuffer(self.buf, dtype=np.dtype("<" + fmt), count=n, offset=t + 4)

    def tables(self, i):
        t = self._target(i)
        if t is None:
            return []
        n = struct.unpack_from("<I", self.buf, t)[0]
        out = []
        for k in range(n):
            p = t + 4 + 4 * k
            out.append(_Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0]))
        return out

    def string(self, i):
        t = self._target(i)
        if t is None:
            return ""
        n = struct.unpack_from("<I", self.buf, t)[0]
        return bytes(self.buf[t + 4:t + 4 + n]).decode()


class Tensor:
    """A tensor of the first subgraph: raw data plus quantisation."""

    def __init__(self, name, shape, dtype, data, scale, zero_point, axis):
        self.name, self.shape, self.dtype = name, shape, dtype
        self.data, self.scale, self.zero_point, self.axis = data, scale, zero_point, axis

    def dequantised(self):
        """Float32 values: (q - zero_point) * scale, per channel along the quantised axis
        when the file says so."""
        q = self.data.reshape(self.shape).astype(np.float32)
        if self.dtype == np.float32 or self.scale.size == 0:
            return q
        bshape = [1] * q.ndim
        if self.scale.size > 1:
            bshape[self.axis] = -1
        scale = self.scale.reshape(bshape).astype(np.float32)
        zp = (self.zero_point.reshape(bshape).astype(np.float32) if self.zero_point.size else 0.0)
        return (q - zp) * scale


def read(path):
    """The tensors of a .tflite file's first subgraph, keyed by name."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError(f"{path}: not a TensorFlow Lite file (no TFL3 identifier)")
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    # Model: 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers.
    buffers = [b.vector(0, "B") for b in model.tables(4)]
    subgraphs = model.tables(2)
    if not subgraphs:
        raise ValueError(f"{path}: no subgraph")
    out = {}
    # SubGraph: 0 tensors. Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization.
    for t in subgraphs[0].tables(0):
        code = t.scalar(1, "b")
        if code not in _DTYPES:
            continue
        shape = tuple(int(d) for d in t.vector(0, "i"))
        data = buffers[t.scalar(2, "I")]
        dtype = _DTYPES[code]
        data = np.frombuffer(data.tobytes(), dtype=dtype) if data.size else np.zeros(0, dtype)
        # QuantizationParameters: 0 min, 1 max, 2 scale, 3 zero_point, ..., 6 quantized_dimension.
        q = t.table(4)
        scale = q.vector(2, "f") if q else np.zeros(0, np.float32)
        zp = q.vector(3, "q") if q else np.zeros(0, np.int64)
        axis = q.scalar(6, "i") if q else 0
        out[t.string(3)] = Tensor(t.string(3), shape, dtype, data, scale, zp, axis)
    return out
