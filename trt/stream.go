package trt

// #include "nailtrt.h"
import "C"

import "sync"

// Stream is where a Context's work runs: a non-blocking CUDA stream when CUDA is built in
// and the device works, otherwise a host stream on which runs complete synchronously.
// The caller must Close it after every Context that uses it.
type Stream struct {
	mu    sync.Mutex
	h     *C.nt_stream
	cuda  bool
	users int // contexts on this stream
	state *handleState
}

// NewStream creates a stream on CUDA device `device` (ignored without CUDA).
func NewStream(device int) (*Stream, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	var h *C.nt_stream
	var isCUDA C.int32_t
	if err := call("new stream", func() C.nt_status { return C.nt_stream_create(C.int32_t(device), &h, &isCUDA) }); err != nil {
		return nil, err
	}
	s := &Stream{h: h, cuda: isCUDA != 0}
	s.state = watch(s, "Stream")
	live.streams.Add(1)
	return s, nil
}

// IsCUDA reports whether this is a CUDA stream.
func (s *Stream) IsCUDA() bool { return s.cuda }

// Synchronize waits for all work queued on the stream.
func (s *Stream) Synchronize() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return closedError("synchronize", "stream")
	}
	return s.syncLocked()
}

func (s *Stream) syncLocked() error {
	if !s.cuda {
		return nil // host streams have nothing pending: skip the cgo call
	}
	h := s.h
	return call("synchronize", func() C.nt_status { return C.nt_stream_synchronize(h) })
}

func (s *Stream) acquire() (*C.nt_stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return nil, closedError("new context", "stream")
	}
	s.users++
	return s.h, nil
}

func (s *Stream) release() {
	s.mu.Lock()
	s.users--
	s.mu.Unlock()
}

// Close frees the stream after its pending work. ErrBusy while contexts use it;
// closing twice is a no-op.
func (s *Stream) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return nil
	}
	if s.users > 0 {
		return errorf("close stream", CodeBusy, "%d contexts still run on it; close them first", s.users)
	}
	C.nt_stream_destroy(s.h)
	s.h = nil
	s.state.closed.Store(true)
	live.streams.Add(-1)
	return nil
}
