package segment

import (
	"context"
	"sync/atomic"

	"github.com/nailtrt/nailtrt/trt"
)

// lanes hands out execution slots so that the CPU's cores are used whatever the load.
//
// ONNX Runtime fixes a session's intra-op threads when it is created, and a run cannot
// ask for fewer. One request alone is fastest on every core (a 640x480 frame: 28 ms at
// 2 threads, 36 ms at 1, on 2 cores, measured with nailseg 1.x's NailNet); several at
// once are fastest on one thread each (2 clients: 40 ms vs 48 ms at 2 threads each,
// which oversubscribe the cores). So, when Config.Threads is automatic on the CPU, the
// model is loaded twice: a wide session whose one slot has a thread per core, taken by
// a request that starts with nothing else in flight, and the narrow sessions of
// Config.Contexts slots for the rest. At most Contexts runs are in flight in all
// (gate), so the cores are oversubscribed only while a wide run finishes after a second
// request came in.
type lanes struct {
	narrow *trt.Pool
	wide   *trt.Pool     // nil: one pool only (explicit Threads, GPU, or one core)
	gate   chan struct{} // one token per run in flight
	busy   atomic.Int32
}

func newLanes(narrow, wide *trt.Pool) *lanes {
	return &lanes{narrow: narrow, wide: wide, gate: make(chan struct{}, narrow.Size())}
}

// acquire waits for a slot (or ctx). Give it back with release.
func (l *lanes) acquire(ctx context.Context) (*trt.Slot, error) {
	select {
	case l.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, &trt.Error{Op: "acquire", Code: trt.CodeCancelled, Msg: ctx.Err().Error(), Err: ctx.Err()}
	}
	alone := l.busy.Add(1) == 1
	if alone && l.wide != nil {
		if s := l.wide.TryAcquire(); s != nil {
			return s, nil
		}
	}
	s, err := l.narrow.Acquire(ctx)
	if err != nil {
		l.busy.Add(-1)
		<-l.gate
	}
	return s, err
}

func (l *lanes) release(s *trt.Slot) {
	if l.wide != nil && s.Pool() == l.wide {
		l.wide.Release(s)
	} else {
		l.narrow.Release(s)
	}
	l.busy.Add(-1)
	<-l.gate
}

// close frees both pools (after every slot is released).
func (l *lanes) close() error {
	err := l.narrow.Close()
	if l.wide != nil {
		if werr := l.wide.Close(); err == nil {
			err = werr
		}
	}
	return err
}
