package trt

// #include "nailtrt.h"
import "C"

import (
	"context"
	"sync"
)

// Context is the execution state of one Engine on one Stream: bound buffers and input
// shapes. One goroutine uses it at a time (its methods lock, so misuse is safe but
// serialised). The caller must Close it before its engine, stream and buffers.
type Context struct {
	mu     sync.Mutex
	h      *C.nt_context
	engine *Engine
	stream *Stream
	bound  []*PinnedBuffer // per tensor: the buffer each binding holds
	shapes []Shape         // per input: the shape last given to the runner
	dims   [maxDims]C.int64_t
	state  *handleState
	// pending holds the buffers Preprocess read from open (bound) until the run after it
	// has finished: on a GPU their copy is queued, not done.
	pending []*PinnedBuffer

	// cancelMu guards cancelH, the handle a context.AfterFunc may still be cancelling
	// after Run returned; Close clears it before destroying the native context.
	cancelMu sync.Mutex
	cancelH  *C.nt_context
}

func newContext(h *C.nt_context, e *Engine, s *Stream) *Context {
	c := &Context{h: h, engine: e, stream: s, cancelH: h,
		bound: make([]*PinnedBuffer, len(e.tensors)), shapes: make([]Shape, len(e.tensors))}
	c.state = watch(c, "Context")
	live.contexts.Add(1)
	return c
}

// Engine returns the engine this context runs.
func (c *Context) Engine() *Engine { return c.engine }

// Stream returns the stream this context runs on.
func (c *Context) Stream() *Stream { return c.stream }

func (c *Context) tensor(op string, index int) (TensorDesc, error) {
	if index < 0 || index >= len(c.engine.tensors) {
		return TensorDesc{}, errorf(op, CodeInvalidArgument, "tensor index %d out of range [0,%d)", index, len(c.engine.tensors))
	}
	return c.engine.tensors[index], nil
}

// Bind makes tensor index read from (input) or write to (output) the whole of b.
func (c *Context) Bind(index int, b *PinnedBuffer) error {
	if b == nil {
		return errorf("bind", CodeInvalidArgument, "buffer is nil")
	}
	return c.BindRange(index, b, 0, b.Len())
}

// BindRange binds tensor index to size bytes of b starting at offset.
func (c *Context) BindRange(index int, b *PinnedBuffer, offset, size int) error {
	const op = "bind"
	t, err := c.tensor(op, index)
	if err != nil {
		return err
	}
	if b == nil {
		return errorf(op, CodeInvalidArgument, "buffer is nil")
	}
	if offset < 0 || size < 0 || offset > b.Len() || size > b.Len()-offset {
		return errorf(op, CodeInvalidArgument, "range [%d,+%d) is outside the %d-byte buffer", offset, size, b.Len())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError(op, "context")
	}
	bh, err := b.bind()
	if err != nil {
		return err
	}
	h := c.h
	if err := call(op+" "+t.Name, func() C.nt_status {
		return C.nt_context_bind(h, C.size_t(index), bh, C.size_t(offset), C.size_t(size))
	}); err != nil {
		b.unbind()
		return err
	}
	if old := c.bound[index]; old != nil {
		old.unbind()
	}
	c.bound[index] = b
	return nil
}

// SetInputShape sets the shape of input index for the following runs. The shape is
// checked against the model here, before anything crosses into C; setting the shape it
// already has costs no native call.
func (c *Context) SetInputShape(index int, s Shape) error {
	const op = "set input shape"
	t, err := c.tensor(op, index)
	if err != nil {
		return err
	}
	if t.Mode != Input {
		return errorf(op, CodeInvalidArgument, "%s is an output", t.Name)
	}
	if err := s.Validate(t.Shape); err != nil {
		e := err.(*Error)
		e.Op = op + " " + t.Name
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError(op, "context")
	}
	if equalShape(c.shapes[index], s) {
		return nil
	}
	for i, d := range s {
		c.dims[i] = C.int64_t(d)
	}
	h := c.h
	if err := call(op+" "+t.Name, func() C.nt_status {
		return C.nt_context_set_input_shape(h, C.size_t(index), C.int32_t(len(s)), &c.dims[0])
	}); err != nil {
		return err
	}
	c.shapes[index] = append(c.shapes[index][:0], s...)
	return nil
}

func equalShape(a, b Shape) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Shape returns the current shape of tensor index: for inputs the one set, for outputs
// the one the last run produced. It appends to dst[:0] so callers can avoid allocating.
func (c *Context) Shape(index int, dst Shape) (Shape, error) {
	const op = "tensor shape"
	if _, err := c.tensor(op, index); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return nil, closedError(op, "context")
	}
	var rank C.int32_t
	h := c.h
	if err := call(op, func() C.nt_status {
		return C.nt_context_tensor_shape(h, C.size_t(index), &rank, &c.dims[0])
	}); err != nil {
		return nil, err
	}
	dst = dst[:0]
	for i := 0; i < int(rank); i++ {
		dst = append(dst, int64(c.dims[i]))
	}
	return dst, nil
}

// Run executes the engine with the bound buffers and waits for the results. If ctx is
// cancelled while the run is in progress the runner is asked to stop, and Run returns
// an error matching both ErrCancelled and ctx.Err().
func (c *Context) Run(ctx context.Context) error {
	const op = "run"
	if err := ctx.Err(); err != nil {
		return &Error{Op: op, Code: CodeCancelled, Msg: err.Error(), Err: err}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError(op, "context")
	}
	var stop func() bool
	var cancelled chan struct{}
	if ctx.Done() != nil {
		cancelled = make(chan struct{})
		stop = context.AfterFunc(ctx, func() { defer close(cancelled); c.cancel() })
	}
	h := c.h
	err := call(op, func() C.nt_status { return C.nt_context_enqueue(h) })
	if err == nil || len(c.pending) > 0 {
		// Also after a failed enqueue when Preprocess queued copies: they must land
		// before their buffers may be closed.
		if serr := c.stream.Synchronize(); err == nil {
			err = serr
		}
	}
	c.releasePending()
	if stop != nil && !stop() {
		// The cancel has started: let it land on this run before returning, or it could
		// reach the runner during the next run on this context and stop that one.
		<-cancelled
	}
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodeCancelled && ctx.Err() != nil {
			e.Err = ctx.Err()
		}
		return err
	}
	return nil
}

// Enqueue starts a run without waiting: on a CUDA stream the results are ready after
// Stream().Synchronize(); on a host stream the run has completed when Enqueue returns.
func (c *Context) Enqueue() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError("enqueue", "context")
	}
	h := c.h
	return call("enqueue", func() C.nt_status { return C.nt_context_enqueue(h) })
}

func (c *Context) cancel() {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.cancelH != nil {
		C.nt_context_cancel(c.cancelH)
	}
}

// Close frees the context and releases its bindings and stream. Idempotent.
func (c *Context) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return nil
	}
	c.cancelMu.Lock()
	c.cancelH = nil
	c.cancelMu.Unlock()
	C.nt_context_destroy(c.h) // waits for the stream's work
	c.h = nil
	c.releasePending()
	for i, b := range c.bound {
		if b != nil {
			b.unbind()
			c.bound[i] = nil
		}
	}
	c.stream.release()
	c.engine.contextClosed()
	c.state.closed.Store(true)
	live.contexts.Add(-1)
	return nil
}
