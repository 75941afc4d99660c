// Package trt runs ONNX models and TensorRT plans through nailtrt's native runner
// (native/, C ABI in native/include/nailtrt.h): TensorRT on NVIDIA GPUs, ONNX Runtime on
// the CPU, one API for both.
//
// It is the lowest Go layer and knows nothing of photos or nails: it imports no other
// nailtrt package. The model runtime (nails/segment) builds on it; the domain (nails)
// and the HTTP layer (server) must not import it (make test-layers).
//
// The pieces map one-to-one onto native handles, and each Go value owns exactly one:
//
//   - Engine: a loaded model (Open, OpenBytes). Safe for concurrent use.
//   - Stream: a CUDA stream, or a synchronous host stream on the CPU.
//   - PinnedBuffer: host memory the runner allocated (page-locked when CUDA is present),
//     seen from Go as a []byte or []float32 without copying.
//   - Context: per-stream execution state: bind buffers, set input shapes, Run.
//     One goroutine at a time.
//   - Pool: a fixed set of ready Slots (context + stream + buffers sized for the largest
//     shape), for servers where many goroutines run one engine.
//
// Whoever creates a value calls Close on it, children before parents: contexts before
// their engine and stream, then buffers. Close is idempotent and returns an error instead
// of freeing memory that is still in use. Values that are garbage collected without Close
// are reported through slog as leaks (the memory is not freed behind the caller's back).
//
// Errors are *Error values carrying the operation, a Code and the native message; test
// them with errors.Is against the sentinels (ErrShape, ErrUnavailable, ...).
//
// The package links libnailtrt.so from build/native/lib (run `make native` first); the
// binary finds it through an RPATH, so LD_LIBRARY_PATH is not needed.
package trt
