package segment

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// batcher is the one way a photo reaches the model. A lone request is a batch of one;
// with Config.MaxBatch above one request's images it runs concurrent requests' photos
// through the model together, as Triton's dynamic batcher does: the first request to arrive opens a batch and leads it; requests
// arriving while it waits for an execution slot, or for at most Config.BatchDelay, join
// it, until it holds Config.MaxBatch images (a TTA mirror counts as one). The leader
// copies every member's input into the slot, runs the model once, and each member
// decodes its own part of the outputs concurrently; the last one done frees the slot.
//
// When requests may share a run, each preprocesses into a buffer of its own (pooled)
// before it joins, so a batch waits for nobody's preprocessing; the price is one copy
// of each input into the slot (2 x 3 MB for a 512 px input with TTA, about a
// millisecond). When they may not (batching off: every batch is one request), the
// leader preprocesses straight into the slot's input, as there is nobody to wait for.
//
// A batch's results are bit-for-bit those of the same photos run alone: the postprocessors
// read each member's images only, and the runtime computes batch items independently
// (TestBatchingMatchesUnbatched holds it).
type batcher struct {
	s         *Segmenter
	maxImages int // images per run, a multiple of per (Open rounds it)
	per       int // images per request
	delay     time.Duration
	floats    int // input floats per request
	bufs      sync.Pool

	mu   sync.Mutex
	open *batch // accepting members; nil when none is

	runs, requests atomic.Int64 // batches run, requests they carried

	// beforeRun, when set (tests only), is called by the leader just before the model
	// runs: the seam TestBatchLeaderPanic uses to make a run panic.
	beforeRun func()
}

// batch is one model run shared by its members.
type batch struct {
	full    chan struct{} // closed when no further request fits
	ran     chan struct{} // closed once the run is over (or failed)
	members []*member

	// Set by the leader before ran is closed.
	slot   *trt.Slot
	shapes []trt.Shape
	infer  time.Duration
	err    error
	left   atomic.Int32 // members yet to finish with the slot
}

type member struct {
	photo *nails.Photo
	// input holds the photo preprocessed before joining (batching on, Go pipeline); nil:
	// the leader preprocesses it into the slot (batching off, or in the runner). geom
	// (Go pipeline only) and prep are set by whichever did, before the batch's ran is
	// closed.
	input *[]float32
	geom  nails.Geometry
	prep  time.Duration

	// mu guards photo against its request leaving: a member that gives up (its ctx
	// done) marks itself gone and returns, and its caller may then give the photo's
	// pooled planes to the next decode; the runner's leader, which reads photos after
	// members have joined, reads a member's only while holding mu and not gone.
	mu   sync.Mutex
	gone bool
}

// readPhoto runs read on m's photo unless m's request has left; it reports whether it did.
func (m *member) readPhoto(read func(*nails.Photo)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return false
	}
	read(m.photo)
	return true
}

func newBatcher(s *Segmenter, maxImages int, delay time.Duration) *batcher {
	per := s.manifest.Batch()
	in := s.manifest.Input
	b := &batcher{s: s, per: per, maxImages: maxImages, delay: delay, floats: per * 3 * in.Width * in.Height}
	b.bufs.New = func() any { v := make([]float32, b.floats); return &v }
	return b
}

// batching reports whether requests may share a run.
func (b *batcher) batching() bool { return b.maxImages > b.per }

// segment runs p through the model in a batch (of one when batching is off).
func (b *batcher) segment(ctx context.Context, p *nails.Photo) (*nails.Result, error) {
	m := &member{photo: p}
	if r := b.s.runner; r != nil {
		// The runner preprocesses in the leader; the RGBA copy it reads where it does not
		// read a JPEG's planes (a PNG, a rotated or small JPEG) is made here, by each
		// request before it joins, as the Go path preprocesses before joining.
		if r.planes(p) == nil {
			t := time.Now()
			p.RGBA()
			m.prep = time.Since(t)
		}
	} else if b.batching() {
		t := time.Now()
		buf := b.bufs.Get().(*[]float32)
		g, err := b.s.prepare(p, *buf)
		if err != nil {
			b.bufs.Put(buf)
			return nil, err
		}
		m.input, m.geom, m.prep = buf, g, time.Since(t)
	}

	bt, k, leader := b.join(m)
	if leader {
		b.lead(ctx, bt)
	}
	select {
	case <-bt.ran:
	case <-ctx.Done():
		// Gone before the run ended: the slot still counts this member, so a goroutine
		// waits for the run to hand its part back. Its photo is not read from here on.
		m.mu.Lock()
		m.gone = true
		m.mu.Unlock()
		go func() { <-bt.ran; b.done(bt); b.put(m) }()
		return nil, &trt.Error{Op: "batch", Code: trt.CodeCancelled, Msg: ctx.Err().Error(), Err: ctx.Err()}
	}
	b.put(m) // copied into the slot before the run
	if bt.err != nil {
		b.done(bt)
		return nil, bt.err
	}
	tm := nails.Timings{Preprocess: m.prep, Infer: bt.infer}
	t := time.Now()
	var found []nails.Nail
	var err error
	if r := b.s.runner; r != nil {
		found, err = r.postprocess(bt.slot, k*b.per, p)
	} else {
		found, err = b.s.post.Nails(outputs{slot: bt.slot, shapes: bt.shapes, item: k * b.per, n: b.per}, m.geom)
	}
	b.done(bt)
	if err != nil {
		return nil, err
	}
	return b.s.result(p, found, tm, t), nil
}

// put returns m's pooled input buffer, if it has one.
func (b *batcher) put(m *member) {
	if m.input != nil {
		b.bufs.Put(m.input)
	}
}

// join adds m to the open batch, or opens one with m as its leader. k is m's place.
func (b *batcher) join(m *member) (bt *batch, k int, leader bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bt = b.open; bt == nil {
		bt = &batch{full: make(chan struct{}), ran: make(chan struct{})}
		b.open, leader = bt, true
	}
	k = len(bt.members)
	bt.members = append(bt.members, m)
	if (len(bt.members)+1)*b.per > b.maxImages {
		close(bt.full)
		b.open = nil
	}
	return bt, k, leader
}

// seal closes bt to new members (if it is still open).
func (b *batcher) seal(bt *batch) {
	b.mu.Lock()
	if b.open == bt {
		b.open = nil
	}
	b.mu.Unlock()
}

// lead waits for a slot and for the batch window, then runs the batch. The run itself
// is not cancelled with the leader's ctx: the other members' answers depend on it.
//
// A panic anywhere in it (a runtime bug, a postprocessor of shapes) becomes every member's
// error: the batch is sealed, each member is counted so the last one gives the slot
// back, and none reads the outputs of a run that never finished.
func (b *batcher) lead(ctx context.Context, bt *batch) {
	window := time.NewTimer(b.delay)
	defer window.Stop()
	defer close(bt.ran)
	defer func() {
		if r := recover(); r != nil {
			b.seal(bt)
			bt.left.Store(int32(len(bt.members)))
			bt.shapes = nil
			bt.err = &trt.Error{Op: "batch", Code: trt.CodeInternal,
				Msg: fmt.Sprintf("the batch run panicked: %v\n%s", r, debug.Stack())}
		}
	}()
	slot, err := b.s.lanes.acquire(ctx)
	// Known to the batch at once, so that a panic from here on still frees it (done).
	bt.slot = slot
	if err == nil {
		select {
		case <-bt.full:
		case <-window.C:
		}
	}
	b.seal(bt)
	bt.left.Store(int32(len(bt.members)))
	if err != nil {
		bt.err = err
		return
	}
	g := b.s.manifest.Input
	if bt.err = slot.SetInputShape(b.s.input, trt.Shape{int64(len(bt.members) * b.per), 3, int64(g.Height), int64(g.Width)}); bt.err != nil {
		return
	}
	if bt.err = b.fill(slot, bt.members); bt.err != nil {
		return
	}
	if b.beforeRun != nil {
		b.beforeRun()
	}
	// A shared run is not cancelled with the leader's ctx (the other members' answers
	// depend on it); a batch of one is the leader's alone.
	run := context.WithoutCancel(ctx)
	if len(bt.members) == 1 {
		run = ctx
	}
	t := time.Now()
	if err := slot.Run(run); err != nil {
		bt.err = wrapInference(err)
		return
	}
	bt.infer = time.Since(t)
	if b.batching() {
		b.runs.Add(1)
		b.requests.Add(int64(len(bt.members)))
	}
	bt.shapes, bt.err = readShapes(slot, slot.Pool().Engine())
}

// fill writes every member's model input into slot, member i at batch item i*per: in
// the runner (Segmenter.runner), else from the input it preprocessed before joining or,
// batching off, preprocessed here straight into the slot.
func (b *batcher) fill(slot *trt.Slot, members []*member) error {
	if r := b.s.runner; r != nil {
		return r.prepare(slot, b.s.input, b.per, members)
	}
	in, err := slot.Float32s(b.s.input)
	if err != nil {
		return err
	}
	for i, m := range members {
		dst := in[i*b.floats : (i+1)*b.floats]
		if m.input != nil {
			copy(dst, *m.input)
			continue
		}
		t := time.Now()
		if m.geom, err = b.s.prepare(m.photo, dst); err != nil {
			return err
		}
		m.prep = time.Since(t)
	}
	return nil
}

// BatchStats reports the dynamic batcher's work so far.
func (s *Segmenter) BatchStats() nails.BatchStats {
	if !s.batch.batching() {
		return nails.BatchStats{}
	}
	return nails.BatchStats{MaxImages: s.batch.maxImages, Runs: s.batch.runs.Load(), Requests: s.batch.requests.Load()}
}

// done is called once by every member of bt when it no longer reads the slot; the
// last one gives the slot back.
func (b *batcher) done(bt *batch) {
	if bt.left.Add(-1) == 0 && bt.slot != nil {
		b.s.lanes.release(bt.slot)
	}
}
