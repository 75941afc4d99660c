package trt

// #include "nailtrt.h"
import "C"

import (
	"sync"
	"unsafe"
)

// PinnedBuffer is host memory allocated by the native runner: page-locked when CUDA is
// present (so GPU copies are truly asynchronous), 64-byte aligned host memory otherwise.
// Go sees it through slices that alias the native memory, so filling an input or reading
// an output copies nothing. The slices are valid until Close; the caller must Close the
// buffer after every Context bound to it is closed.
type PinnedBuffer struct {
	mu     sync.Mutex
	h      *C.nt_buffer
	data   unsafe.Pointer
	size   int
	pinned bool
	binds  int // bindings held by contexts
	state  *handleState
}

// NewPinnedBuffer allocates size bytes, zeroed.
func NewPinnedBuffer(size int) (*PinnedBuffer, error) {
	const op = "new buffer"
	if err := checkABI(); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, errorf(op, CodeInvalidArgument, "size %d is negative", size)
	}
	var h *C.nt_buffer
	var pinned C.int32_t
	if err := call(op, func() C.nt_status { return C.nt_buffer_create(C.size_t(size), &h, &pinned) }); err != nil {
		return nil, err
	}
	var data unsafe.Pointer
	var n C.size_t
	if err := call(op, func() C.nt_status { return C.nt_buffer_data(h, &data, &n) }); err != nil {
		C.nt_buffer_destroy(h)
		return nil, err
	}
	b := &PinnedBuffer{h: h, data: data, size: int(n), pinned: pinned != 0}
	b.state = watch(b, "PinnedBuffer")
	live.buffers.Add(1)
	return b, nil
}

// Len is the size in bytes.
func (b *PinnedBuffer) Len() int { return b.size }

// Pinned reports whether the memory is page-locked (CUDA) rather than ordinary host memory.
func (b *PinnedBuffer) Pinned() bool { return b.pinned }

// Bytes views the whole buffer. nil after Close.
func (b *PinnedBuffer) Bytes() []byte {
	if b.data == nil {
		return nil
	}
	return unsafe.Slice((*byte)(b.data), b.size)
}

// Float32s views the buffer as float32s (its length rounded down). nil after Close.
func (b *PinnedBuffer) Float32s() []float32 {
	if b.data == nil {
		return nil
	}
	return unsafe.Slice((*float32)(b.data), b.size/4)
}

// Int64s views the buffer as int64s (its length rounded down). nil after Close.
func (b *PinnedBuffer) Int64s() []int64 {
	if b.data == nil {
		return nil
	}
	return unsafe.Slice((*int64)(b.data), b.size/8)
}

// Int32s views the buffer as int32s (its length rounded down). nil after Close.
func (b *PinnedBuffer) Int32s() []int32 {
	if b.data == nil {
		return nil
	}
	return unsafe.Slice((*int32)(b.data), b.size/4)
}

func (b *PinnedBuffer) bind() (*C.nt_buffer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h == nil {
		return nil, closedError("bind", "buffer")
	}
	b.binds++
	return b.h, nil
}

func (b *PinnedBuffer) unbind() {
	b.mu.Lock()
	b.binds--
	b.mu.Unlock()
}

// Close frees the memory; every slice obtained from the buffer becomes invalid. ErrBusy
// while a context binds it; closing twice is a no-op.
func (b *PinnedBuffer) Close() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h == nil {
		return nil
	}
	if b.binds > 0 {
		return errorf("close buffer", CodeBusy, "bound to %d tensors of open contexts", b.binds)
	}
	C.nt_buffer_destroy(b.h)
	b.h, b.data = nil, nil
	b.state.closed.Store(true)
	live.buffers.Add(-1)
	return nil
}
