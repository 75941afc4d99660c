package trt

// #include <stdlib.h>
// #include "nailtrt.h"
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

const maxDims = int(C.NT_MAX_DIMS)

// GraphOptimization is ONNX Runtime's graph optimisation level. The zero value is All.
type GraphOptimization int

const (
	GraphOptAll      GraphOptimization = 0
	GraphOptNone     GraphOptimization = 1
	GraphOptBasic    GraphOptimization = 2
	GraphOptExtended GraphOptimization = 3
)

func (g GraphOptimization) native() (C.int32_t, error) {
	switch g {
	case GraphOptAll:
		return 99, nil
	case GraphOptNone:
		return 0, nil
	case GraphOptBasic:
		return 1, nil
	case GraphOptExtended:
		return 2, nil
	}
	return 0, errorf("options", CodeInvalidArgument, "unknown graph optimisation level %d", int(g))
}

// Options configure Open. The zero value is usable: auto backend, one intra-op thread per
// core, all graph optimisations, device 0, FP16 where the GPU has it, batch up to 8.
type Options struct {
	Backend Backend
	// IntraOpThreads: ONNX Runtime threads per run; 0 = one per core.
	IntraOpThreads int
	// GraphOptimization: ONNX Runtime graph optimisation level.
	GraphOptimization GraphOptimization
	// Device: CUDA device ordinal for TensorRT.
	Device int
	// FP32 disables FP16 kernels when TensorRT builds a plan.
	FP32 bool
	// MaxBatch and OptBatch shape TensorRT's optimisation profile for a dynamic batch
	// dimension (defaults 8 and 1).
	MaxBatch, OptBatch int
	// CacheDir holds TensorRT plans and the timing cache; "" disables caching.
	CacheDir string
	// SpinWait lets ONNX Runtime's idle intra-op threads spin between runs: lower
	// latency on dedicated cores, erratic latency on shared ones (the default is off).
	SpinWait bool
}

func (o Options) native() (C.nt_engine_options, *C.char, error) {
	var n C.nt_engine_options
	C.nt_engine_options_init_sized(&n, C.sizeof_nt_engine_options)
	if o.Backend < Auto || o.Backend > TensorRT {
		return n, nil, errorf("options", CodeInvalidArgument, "unknown backend %d", int(o.Backend))
	}
	if o.IntraOpThreads < 0 {
		return n, nil, errorf("options", CodeInvalidArgument, "IntraOpThreads must be >= 0, got %d", o.IntraOpThreads)
	}
	level, err := o.GraphOptimization.native()
	if err != nil {
		return n, nil, err
	}
	n.backend = C.nt_backend(o.Backend)
	n.intra_op_threads = C.int32_t(o.IntraOpThreads)
	n.graph_optimization = level
	n.device_id = C.int32_t(o.Device)
	if o.FP32 {
		n.fp16 = 0
	}
	if o.MaxBatch > 0 {
		n.max_batch = C.int32_t(o.MaxBatch)
	}
	if o.OptBatch > 0 {
		n.opt_batch = C.int32_t(o.OptBatch)
	}
	if o.SpinWait {
		n.spin_wait = 1
	}
	var dir *C.char
	if o.CacheDir != "" {
		dir = C.CString(o.CacheDir)
		n.cache_dir = dir
	}
	return n, dir, nil
}

// Engine is a loaded model. It is safe for concurrent use; each goroutine that runs it
// needs its own Context (or a Pool slot). The caller must Close it after every Context.
type Engine struct {
	mu       sync.Mutex // guards contexts and closed: NewContext, a context closing, Close
	h        *C.nt_engine
	state    *handleState
	origin   string
	backend  Backend
	tensors  []TensorDesc
	contexts int // open contexts; Close refuses while > 0
}

// Open loads a model file: ONNX for either backend, or a serialized TensorRT plan.
func Open(path string, o Options) (*Engine, error) {
	op := "open " + path
	if err := checkABI(); err != nil {
		return nil, err
	}
	opts, dir, err := o.native()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(dir))
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var h *C.nt_engine
	if err := call(op, func() C.nt_status { return C.nt_engine_load_file(cpath, &opts, &h) }); err != nil {
		return nil, err
	}
	return newEngine(h, path)
}

// OpenBytes loads a model held in memory. The runner copies what it needs; model may be
// reused once OpenBytes returns.
func OpenBytes(model []byte, o Options) (*Engine, error) {
	const op = "open <memory>"
	if err := checkABI(); err != nil {
		return nil, err
	}
	if len(model) == 0 {
		return nil, errorf(op, CodeInvalidModel, "model is empty (0 bytes)")
	}
	opts, dir, err := o.native()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(dir))
	var h *C.nt_engine
	// model is Go memory holding no Go pointers, and C does not keep it past the call:
	// allowed by the cgo pointer rules.
	if err := call(op, func() C.nt_status {
		return C.nt_engine_load_memory(unsafe.Pointer(&model[0]), C.size_t(len(model)), &opts, &h)
	}); err != nil {
		return nil, err
	}
	return newEngine(h, "<memory>")
}

func newEngine(h *C.nt_engine, origin string) (*Engine, error) {
	e := &Engine{h: h, origin: origin}
	e.state = watch(e, "Engine")
	live.engines.Add(1)
	if err := e.describe(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) describe() error {
	var b C.nt_backend
	if err := call("engine backend", func() C.nt_status { return C.nt_engine_backend(e.h, &b) }); err != nil {
		return err
	}
	e.backend = Backend(b)
	var n C.size_t
	if err := call("engine tensors", func() C.nt_status { return C.nt_engine_tensor_count(e.h, &n) }); err != nil {
		return err
	}
	for i := 0; i < int(n); i++ {
		var d C.nt_tensor_desc
		if err := call("engine tensor", func() C.nt_status { return C.nt_engine_tensor(e.h, C.size_t(i), &d) }); err != nil {
			return err
		}
		shape := make(Shape, int(d.rank))
		for k := range shape {
			shape[k] = int64(d.dims[k])
		}
		e.tensors = append(e.tensors, TensorDesc{
			Index: i, Name: C.GoString(d.name), Mode: IOMode(d.mode), DType: DType(d.dtype), Shape: shape,
		})
	}
	return nil
}

// Backend is the runtime that executes this engine (never Auto).
func (e *Engine) Backend() Backend { return e.backend }

// Origin is the path the engine was loaded from, or "<memory>".
func (e *Engine) Origin() string { return e.origin }

// Tensors lists inputs then outputs, in model order. The slice must not be modified.
func (e *Engine) Tensors() []TensorDesc { return e.tensors }

// Inputs returns the input descriptors.
func (e *Engine) Inputs() []TensorDesc { return e.filter(Input) }

// Outputs returns the output descriptors.
func (e *Engine) Outputs() []TensorDesc { return e.filter(Output) }

func (e *Engine) filter(m IOMode) []TensorDesc {
	var out []TensorDesc
	for _, t := range e.tensors {
		if t.Mode == m {
			out = append(out, t)
		}
	}
	return out
}

// Tensor finds a tensor by name.
func (e *Engine) Tensor(name string) (TensorDesc, error) {
	for _, t := range e.tensors {
		if t.Name == name {
			return t, nil
		}
	}
	return TensorDesc{}, errorf("tensor "+name, CodeInvalidArgument, "engine %s has no tensor %q (it has %v)", e.origin, name, e.names())
}

func (e *Engine) names() []string {
	out := make([]string, len(e.tensors))
	for i, t := range e.tensors {
		out[i] = t.Name
	}
	return out
}

// NewContext creates an execution context that runs on s. The caller must Close it
// before closing e or s.
func (e *Engine) NewContext(s *Stream) (*Context, error) {
	const op = "new context"
	if s == nil {
		return nil, errorf(op, CodeInvalidArgument, "stream is nil")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return nil, closedError(op, "engine")
	}
	sh, err := s.acquire()
	if err != nil {
		return nil, err
	}
	var h *C.nt_context
	if err := call(op, func() C.nt_status { return C.nt_context_create(e.h, sh, &h) }); err != nil {
		s.release()
		return nil, err
	}
	e.contexts++
	return newContext(h, e, s), nil
}

func (e *Engine) contextClosed() {
	e.mu.Lock()
	e.contexts--
	e.mu.Unlock()
}

// Close frees the engine. It fails with ErrBusy while contexts made from it are open.
// Closing twice is a no-op.
func (e *Engine) Close() error {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return nil
	}
	if e.contexts > 0 {
		return errorf("close engine", CodeBusy, "%d contexts are still open; close them first", e.contexts)
	}
	C.nt_engine_destroy(e.h)
	e.h = nil
	e.state.closed.Store(true)
	live.engines.Add(-1)
	return nil
}

func (e *Engine) String() string {
	return fmt.Sprintf("Engine(%s, %s, %d tensors)", e.origin, e.backend, len(e.tensors))
}
