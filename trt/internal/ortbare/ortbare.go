package ortbare

/*
#cgo CFLAGS: -I${SRCDIR}/../../../build/native/ort/include
#cgo LDFLAGS: -L${SRCDIR}/../../../build/native/lib -l:libonnxruntime.so.1 -Wl,-rpath,${SRCDIR}/../../../build/native/lib
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxruntime_c_api.h"

typedef struct bare {
	const OrtApi* api;
	OrtEnv* env;
	OrtSession* session;
	OrtValue* in;
	OrtValue* out;
	float* x;
	float* y;
	char* in_name;
	char* out_name;
} bare;

// One model with one float input and one float output of the same fixed shape.
static const char* bare_open(bare* b, const char* path, const int64_t* dims, size_t rank, int threads) {
	memset(b, 0, sizeof *b);
	b->api = OrtGetApiBase()->GetApi(ORT_API_VERSION);
	if (!b->api) return "api version not served";
	const OrtApi* a = b->api;
	OrtStatus* st = a->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "bare", &b->env);
	OrtSessionOptions* so = NULL;
	if (!st) st = a->CreateSessionOptions(&so);
	if (!st) st = a->SetIntraOpNumThreads(so, threads);
	if (!st) st = a->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL);
	if (!st) st = a->CreateSession(b->env, path, so, &b->session);
	if (so) a->ReleaseSessionOptions(so);
	OrtAllocator* alloc = NULL;
	if (!st) st = a->GetAllocatorWithDefaultOptions(&alloc);
	char* name = NULL;
	if (!st) st = a->SessionGetInputName(b->session, 0, alloc, &name);
	if (!st) { b->in_name = strdup(name); st = a->AllocatorFree(alloc, name); }
	if (!st) st = a->SessionGetOutputName(b->session, 0, alloc, &name);
	if (!st) { b->out_name = strdup(name); st = a->AllocatorFree(alloc, name); }
	size_t n = 1;
	for (size_t i = 0; i < rank; i++) n *= (size_t)dims[i];
	b->x = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
	b->y = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
	memset(b->x, 0, n * 4);
	OrtMemoryInfo* mi = NULL;
	if (!st) st = a->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &mi);
	if (!st) st = a->CreateTensorWithDataAsOrtValue(mi, b->x, n * 4, dims, rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &b->in);
	if (!st) st = a->CreateTensorWithDataAsOrtValue(mi, b->y, n * 4, dims, rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &b->out);
	if (mi) a->ReleaseMemoryInfo(mi);
	if (st) {
		static __thread char msg[512];
		snprintf(msg, sizeof msg, "%s", a->GetErrorMessage(st));
		a->ReleaseStatus(st);
		return msg;
	}
	return NULL;
}

static int bare_run(bare* b) {
	const char* in_names[1] = {b->in_name};
	const char* out_names[1] = {b->out_name};
	OrtStatus* st = b->api->Run(b->session, NULL, in_names, (const OrtValue* const*)&b->in, 1, out_names, 1, &b->out);
	if (st) { b->api->ReleaseStatus(st); return 1; }
	return 0;
}

static void bare_close(bare* b) {
	const OrtApi* a = b->api;
	if (!a) return;
	if (b->in) a->ReleaseValue(b->in);
	if (b->out) a->ReleaseValue(b->out);
	if (b->session) a->ReleaseSession(b->session);
	if (b->env) a->ReleaseEnv(b->env);
	free(b->x); free(b->y); free(b->in_name); free(b->out_name);
	memset(b, 0, sizeof *b);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Session is a bare ONNX Runtime session with pre-bound input and output.
type Session struct {
	b C.bare
	n int
}

// Open loads path with a fixed input shape (the output must have the same shape).
func Open(path string, shape []int64, threads int) (*Session, error) {
	s := &Session{n: 1}
	for _, d := range shape {
		s.n *= int(d)
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	dims := C.malloc(C.size_t(8 * len(shape)))
	defer C.free(dims)
	copy(unsafe.Slice((*int64)(dims), len(shape)), shape)
	if msg := C.bare_open(&s.b, cp, (*C.int64_t)(dims), C.size_t(len(shape)), C.int(threads)); msg != nil {
		err := errors.New("ortbare: " + C.GoString(msg))
		C.bare_close(&s.b)
		return nil, err
	}
	return s, nil
}

// Input views the input tensor.
func (s *Session) Input() []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(s.b.x)), s.n) }

// Output views the output tensor.
func (s *Session) Output() []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(s.b.y)), s.n) }

// Run runs the model once.
func (s *Session) Run() error {
	if C.bare_run(&s.b) != 0 {
		return errors.New("ortbare: run failed")
	}
	return nil
}

// Close frees everything.
func (s *Session) Close() { C.bare_close(&s.b) }
