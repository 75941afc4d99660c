package nails

import "github.com/nailtrt/nailtrt/trt"

// What callers of this package need of the native runner, named here so they need not
// import trt (the server does not): the backend a model runs on, the runner's "not
// available here" error and its library versions.

// Backend is the inference backend a Segmenter runs on (trt.Backend).
type Backend = trt.Backend

// ErrUnavailable wraps every failure that means "the inference backend cannot run
// here" (no GPU, no TensorRT, a missing library); errors.Is matches it.
var ErrUnavailable = trt.ErrUnavailable

// Versions describes the native libraries, e.g.
// "nailtrt abi 1; onnxruntime 1.30.0; tensorrt none; cuda none".
func Versions() string { return trt.Versions() }
