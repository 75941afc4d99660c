package trt

import (
	"context"
	"sync"
)

// PoolOptions configure NewPool.
type PoolOptions struct {
	// Size is the number of slots, i.e. of runs that can be in flight at once (default 1).
	Size int
	// Device is the CUDA device for the slots' streams.
	Device int
	// MaxBatch replaces a dynamic first dimension when sizing buffers (default 1).
	MaxBatch int
	// MaxShapes gives the largest shape of tensors whose dynamic dimensions are not just
	// the batch (e.g. a detector's number of boxes). Keyed by tensor name.
	MaxShapes map[string]Shape
}

// Pool is a fixed set of Slots over one engine: a context, its own stream and one buffer
// per tensor, sized for the largest shape and bound once. Acquire/Release are safe from
// many goroutines; the pool bounds concurrency to Size. The caller must Close the pool
// (after releasing every slot) before closing the engine.
type Pool struct {
	engine *Engine
	free   chan *Slot
	done   chan struct{} // closed when Close begins: waiting Acquires give up
	slots  []*Slot
	mu     sync.Mutex
	closed bool
}

// Slot is one ready-to-run context with its buffers. Use it from one goroutine between
// Acquire and Release.
type Slot struct {
	pool    *Pool
	stream  *Stream
	context *Context
	buffers []*PinnedBuffer
	largest []Shape
	shape   Shape         // scratch for OutputShape
	staging *PinnedBuffer // Staging's buffer; nil until first asked for
}

// NewPool creates o.Size slots over e.
func NewPool(e *Engine, o PoolOptions) (*Pool, error) {
	const op = "new pool"
	if e == nil {
		return nil, errorf(op, CodeInvalidArgument, "engine is nil")
	}
	if o.Size <= 0 {
		o.Size = 1
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1
	}
	largest := make([]Shape, len(e.tensors))
	for i, t := range e.tensors {
		s, ok := o.MaxShapes[t.Name]
		if ok {
			if err := s.Validate(t.Shape); err != nil {
				return nil, errorf(op, CodeShape, "MaxShapes[%q]: %v", t.Name, err)
			}
		} else {
			s = t.Shape.Clone()
			if len(s) > 0 && s[0] < 0 {
				s[0] = int64(o.MaxBatch)
			}
			if s.Dynamic() {
				return nil, errorf(op, CodeShape, "tensor %s has dynamic dimensions %v beyond the batch: give its largest shape in PoolOptions.MaxShapes", t.Name, t.Shape)
			}
		}
		largest[i] = s
	}
	p := &Pool{engine: e, free: make(chan *Slot, o.Size), done: make(chan struct{})}
	for i := 0; i < o.Size; i++ {
		s, err := p.newSlot(o.Device, largest)
		if err != nil {
			p.closeSlots()
			return nil, err
		}
		p.slots = append(p.slots, s)
		p.free <- s
	}
	return p, nil
}

func (p *Pool) newSlot(device int, largest []Shape) (*Slot, error) {
	st, err := NewStream(device)
	if err != nil {
		return nil, err
	}
	s := &Slot{pool: p, stream: st, largest: largest}
	if s.context, err = p.engine.NewContext(st); err != nil {
		s.close()
		return nil, err
	}
	for i, t := range p.engine.tensors {
		n, err := largest[i].Volume()
		if err != nil {
			s.close()
			return nil, err
		}
		b, err := NewPinnedBuffer(n * t.DType.Size())
		if err != nil {
			s.close()
			return nil, err
		}
		s.buffers = append(s.buffers, b)
		if err := s.context.Bind(i, b); err != nil {
			s.close()
			return nil, err
		}
		// Static inputs are shaped once; dynamic ones per run through SetInputShape.
		if t.Mode == Input && !t.Shape.Dynamic() {
			if err := s.context.SetInputShape(i, t.Shape); err != nil {
				s.close()
				return nil, err
			}
		}
	}
	return s, nil
}

// Size is the number of slots.
func (p *Pool) Size() int { return len(p.slots) }

// Engine returns the pool's engine.
func (p *Pool) Engine() *Engine { return p.engine }

// Acquire waits for a free slot, or for ctx. The slot must be given back with Release.
func (p *Pool) Acquire(ctx context.Context) (*Slot, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, closedError("acquire", "pool")
	}
	select {
	case s := <-p.free:
		// Taken while Close began, it is still the caller's: Close waits for its Release.
		return s, nil
	case <-p.done:
		// Close takes every slot as it is released; without this a caller with no
		// deadline would wait for a slot that never comes back.
		return nil, closedError("acquire", "pool")
	case <-ctx.Done():
		return nil, &Error{Op: "acquire", Code: CodeCancelled, Msg: ctx.Err().Error(), Err: ctx.Err()}
	}
}

// TryAcquire returns a free slot without waiting, or nil when all are busy.
func (p *Pool) TryAcquire() *Slot {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil
	}
	select {
	case s := <-p.free:
		return s
	default:
		return nil
	}
}

// Release returns a slot to the pool.
func (p *Pool) Release(s *Slot) {
	if s == nil || s.pool != p {
		return
	}
	p.free <- s
}

// Close waits until every slot is released, then frees them. Idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	for range p.slots {
		<-p.free
	}
	return p.closeSlots()
}

func (p *Pool) closeSlots() error {
	var first error
	for _, s := range p.slots {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	p.slots = nil
	return first
}

func (s *Slot) close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(s.context.Close())
	for _, b := range s.buffers {
		keep(b.Close())
	}
	keep(s.staging.Close())
	keep(s.stream.Close())
	return first
}

// Pool is the pool the slot belongs to.
func (s *Slot) Pool() *Pool { return s.pool }

// Staging returns the slot's staging buffer, at least size bytes: pinned host memory
// for what a run reads besides its bindings (the photos Context.Preprocess reads). It
// grows, never shrinks, and lives as long as the slot; growing replaces it, so take it
// again after each call with a larger size, and not while a run may still read it.
func (s *Slot) Staging(size int) (*PinnedBuffer, error) {
	if s.staging != nil && s.staging.Len() >= size {
		return s.staging, nil
	}
	grown := size
	if s.staging != nil {
		grown = max(size, 2*s.staging.Len()) // a few sizes cover a server's photos
		if err := s.staging.Close(); err != nil {
			return nil, err
		}
		s.staging = nil
	}
	b, err := NewPinnedBuffer(grown)
	if err != nil {
		return nil, err
	}
	s.staging = b
	return b, nil
}

// Context returns the slot's context (bound to the slot's buffers).
func (s *Slot) Context() *Context { return s.context }

// Buffer returns the buffer bound to tensor index.
func (s *Slot) Buffer(index int) *PinnedBuffer { return s.buffers[index] }

// MaxShape is the largest shape tensor index can take in this slot.
func (s *Slot) MaxShape(index int) Shape { return s.largest[index] }

// Float32s views tensor index's buffer as float32s; ErrDType if the tensor is not float32.
func (s *Slot) Float32s(index int) ([]float32, error) {
	if err := s.checkType(index, Float32); err != nil {
		return nil, err
	}
	return s.buffers[index].Float32s(), nil
}

// Int64s views tensor index's buffer as int64s; ErrDType if the tensor is not int64.
func (s *Slot) Int64s(index int) ([]int64, error) {
	if err := s.checkType(index, Int64); err != nil {
		return nil, err
	}
	return s.buffers[index].Int64s(), nil
}

func (s *Slot) checkType(index int, want DType) error {
	t, err := s.context.tensor("view", index)
	if err != nil {
		return err
	}
	if t.DType != want {
		return errorf("view "+t.Name, CodeDType, "tensor %s holds %s, not %s", t.Name, t.DType, want)
	}
	return nil
}

// SetInputShape sets input index's shape; it must fit the slot's buffer.
func (s *Slot) SetInputShape(index int, shape Shape) error {
	if index >= 0 && index < len(s.largest) {
		n, err := shape.Volume()
		if err != nil {
			return err
		}
		most, _ := s.largest[index].Volume()
		if n > most {
			return errorf("set input shape", CodeShape, "%v exceeds the slot's largest shape %v (raise PoolOptions.MaxBatch or MaxShapes)", shape, s.largest[index])
		}
	}
	return s.context.SetInputShape(index, shape)
}

// Run runs the slot's context and waits for the results.
func (s *Slot) Run(ctx context.Context) error { return s.context.Run(ctx) }

// OutputShape is the shape the last run produced for tensor index. The returned slice
// is reused by the next call.
func (s *Slot) OutputShape(index int) (Shape, error) {
	sh, err := s.context.Shape(index, s.shape)
	if err == nil {
		s.shape = sh
	}
	return sh, err
}
