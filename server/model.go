package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nailtrt/nailtrt/nails"
)

// Loader opens the model, in the background (on the first request with Config.Lazy),
// and again after a failure until one succeeds or Config.LoadAttempts are spent. The
// nailtrt command's loader opens a *segment.Segmenter (openLoader in cmd/nailtrt/serve.go).
type Loader func(ctx context.Context) (Segmenter, error)

// Model states, as /readyz and /api/health report them.
const (
	stateIdle    = "idle" // lazy, nothing asked for it yet
	stateLoading = "loading"
	stateReady   = "ready"
	stateFailed  = "failed"
)

// model owns the segmenter's lifecycle: a load (in the background at start, or on the
// first request when lazy) retried with backoff, a warm-up inference, then ready.
// Requests that arrive during the load wait for it (bounded by their own deadline); a
// load that failed every attempt is reported with its reason, every request gets 503
// and /healthz turns 503 so an orchestrator replaces the replica.
//
// Work holds the segmenter (hold/release) for as long as it uses it; close waits for
// every holder before freeing it, so a shutdown never frees a model under a running
// inference.
type model struct {
	load     Loader
	log      *slog.Logger
	attempts int
	once     sync.Once
	done     chan struct{}
	ctx      context.Context // cancelled by close: stops a load's retries
	cancel   context.CancelFunc

	mu       sync.Mutex
	idle     *sync.Cond // signalled when users drops to 0
	state    string
	seg      Segmenter
	err      error
	users    int
	closing  bool
	tries    int
	loadTime time.Duration
	warmTime time.Duration
}

func newModel(load Loader, log *slog.Logger, attempts int) *model {
	ctx, cancel := context.WithCancel(context.Background())
	m := &model{load: load, log: log, attempts: max(1, attempts), done: make(chan struct{}), state: stateIdle,
		ctx: ctx, cancel: cancel}
	m.idle = sync.NewCond(&m.mu)
	return m
}

// start begins loading (once).
func (m *model) start() {
	m.once.Do(func() {
		m.mu.Lock()
		m.state = stateLoading
		m.mu.Unlock()
		go m.run()
	})
}

// loadBackoff is the wait before retry n (1-based): 1 s, 2 s, 4 s, ... at most 30 s.
func loadBackoff(n int) time.Duration {
	return min(30*time.Second, time.Second<<min(n-1, 5))
}

func (m *model) run() {
	defer close(m.done)
	var err error
retries:
	for try := 1; try <= m.attempts; try++ {
		if try > 1 {
			wait := loadBackoff(try - 1)
			m.log.Warn("model load failed, retrying", "err", err, "attempt", try-1, "of", m.attempts, "retry_in", wait)
			select {
			case <-time.After(wait):
			case <-m.ctx.Done():
				break retries
			}
		}
		m.mu.Lock()
		m.tries = try
		m.mu.Unlock()
		var seg Segmenter
		var load, warm time.Duration
		if seg, load, warm, err = m.loadOnce(); err == nil {
			m.finish(seg, nil, load, warm)
			return
		}
	}
	if m.ctx.Err() != nil { // closed while loading
		err = errClosed
	}
	m.finish(nil, err, 0, 0)
}

// loadOnce opens the model and runs one inference before it is called ready: first runs
// pay for lazy allocations and kernel selection, which the first user should not.
func (m *model) loadOnce() (seg Segmenter, load, warm time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil { // a loader bug must not take the process down
			err = fmt.Errorf("model load panicked: %v", r)
		}
	}()
	t0 := time.Now()
	seg, err = m.load(m.ctx)
	load = time.Since(t0)
	if err != nil {
		return nil, load, 0, err
	}
	t1 := time.Now()
	if _, err = seg.Segment(m.ctx, warmupJPEG()); err != nil {
		seg.Close()
		return nil, load, 0, fmt.Errorf("warm-up inference: %w", err)
	}
	return seg, load, time.Since(t1), nil
}

func (m *model) finish(seg Segmenter, err error, load, warm time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadTime, m.warmTime = load, warm
	if err != nil {
		m.state, m.err = stateFailed, err
		m.log.Error("model failed to load", "err", err, "attempts", m.tries)
		return
	}
	if m.closing { // closed while loading: nobody will use it
		seg.Close()
		m.state, m.err = stateFailed, errClosed
		return
	}
	m.state, m.seg = stateReady, seg
	m.log.Info("model ready", "model", seg.Manifest().ID(), "backend", seg.Backend(),
		"load", load.Round(time.Millisecond), "warmup", warm.Round(time.Millisecond), "attempts", m.tries)
}

func warmupJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.RGBA{200, 150, 140, 255})
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// get returns the ready segmenter, waiting for a load in progress (starting it when
// lazy) until ctx ends. Use it for the manifest; work that runs the model holds it.
func (m *model) get(ctx context.Context) (Segmenter, error) {
	m.start()
	select {
	case <-m.done: // loaded (or failed): never "still loading", whatever ctx says
	default:
		select {
		case <-m.done:
		case <-ctx.Done():
			return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "not_ready",
				Message: "the model is still loading", RetryAfter: 2}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		if m.err == errClosed {
			return nil, errClosed
		}
		// The reason (file paths, library messages) goes to the log and /api/health's
		// operators, not to every client.
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "model_unavailable",
			Message: "the model failed to load; see the server log", RetryAfter: 30}
	}
	return m.seg, nil
}

// hold returns the ready segmenter and counts the caller as a user until release;
// close waits for every user. It fails once close has begun.
func (m *model) hold() (Segmenter, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return nil, nil, errClosed
	}
	if m.seg == nil {
		return nil, nil, &apiError{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "the model is not loaded", RetryAfter: 2}
	}
	m.users++
	var once sync.Once
	return m.seg, func() {
		once.Do(func() {
			m.mu.Lock()
			m.users--
			if m.users == 0 {
				m.idle.Broadcast()
			}
			m.mu.Unlock()
		})
	}, nil
}

// status reports the state and, when failed, why.
func (m *model) status() (state string, seg Segmenter, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, m.seg, m.err
}

// batchStats is the loaded segmenter's batching counters (zero before it loads).
func (m *model) batchStats() nails.BatchStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seg == nil {
		return nails.BatchStats{}
	}
	return m.seg.BatchStats()
}

// timings reports how long the load and the warm-up inference took (0 before).
func (m *model) timings() (load, warmup time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadTime, m.warmTime
}

// close stops a load in progress (no more retries), waits for the work holding the
// model, then frees it. Safe to call more than once.
func (m *model) close() error {
	m.mu.Lock()
	m.closing = true
	started := m.state != stateIdle
	m.mu.Unlock()
	m.cancel()
	if started {
		<-m.done
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.users > 0 {
		m.idle.Wait()
	}
	if m.seg == nil {
		return nil
	}
	err := m.seg.Close()
	m.seg = nil
	m.state = stateFailed
	m.err = errClosed
	return err
}

var errClosed = newError(http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
