package trt

// #include <stdlib.h>
// #include "nailtrt.h"
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Backend selects the inference runtime.
type Backend int

const (
	// Auto picks TensorRT when a usable GPU and TensorRT are present, else ONNX Runtime.
	Auto        Backend = 0
	ONNXRuntime Backend = 1
	TensorRT    Backend = 2
)

func (b Backend) String() string {
	switch b {
	case Auto:
		return "auto"
	case ONNXRuntime:
		return "onnxruntime"
	case TensorRT:
		return "tensorrt"
	}
	return fmt.Sprintf("backend(%d)", int(b))
}

// ParseBackend reads "auto", "onnxruntime" (or "ort", "cpu") and "tensorrt" (or "trt", "gpu").
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "onnxruntime", "ort", "cpu":
		return ONNXRuntime, nil
	case "tensorrt", "trt", "gpu":
		return TensorRT, nil
	}
	return Auto, errorf("parse backend", CodeInvalidArgument, "unknown backend %q (want auto, onnxruntime or tensorrt)", s)
}

// MarshalText lets backends appear by name in JSON and flags.
func (b Backend) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Probe reports whether b can run on this machine. For Auto it returns the backend auto
// would pick. A nil error means usable; otherwise the *Error (ErrUnavailable) says why:
// "not built: ...", "no GPU: ...", "no library: ...".
func Probe(b Backend) (Backend, error) {
	if err := checkABI(); err != nil {
		return b, err
	}
	var resolved C.nt_backend
	err := call("probe "+b.String(), func() C.nt_status {
		return C.nt_backend_probe(C.nt_backend(b), &resolved)
	})
	if err != nil {
		return b, err
	}
	return Backend(resolved), nil
}

// Versions describes the native libraries, e.g.
// "nailtrt abi 1; onnxruntime 1.30.0; tensorrt none; cuda none".
func Versions() string {
	if err := checkABI(); err != nil {
		return err.Error()
	}
	buf := (*C.char)(C.malloc(512))
	defer C.free(unsafe.Pointer(buf))
	if C.nt_versions(buf, 512) != C.NT_OK {
		return "unknown"
	}
	return C.GoString(buf)
}
