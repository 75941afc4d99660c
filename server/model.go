package server

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nailtrt/nailtrt/nails"
)

// Loader opens the model. It runs once, in the background.
type Loader func(ctx context.Context) (*nails.Segmenter, error)

// Model states, as /readyz and /api/health report them.
const (
	stateIdle    = "idle" // lazy, nothing asked for it yet
	stateLoading = "loading"
	stateReady   = "ready"
	stateFailed  = "failed"
)

// model owns the segmenter's lifecycle: one load (in the background at start, or on the
// first request when lazy), a warm-up inference, then ready. Requests that arrive during
// the load wait for it (bounded by their own deadline); a failed load is reported with
// its reason and every request gets 503 with it, never a hang.
type model struct {
	load Loader
	log  *slog.Logger
	once sync.Once
	done chan struct{}

	mu       sync.RWMutex
	state    string
	seg      *nails.Segmenter
	err      error
	loadTime time.Duration
	warmTime time.Duration
}

func newModel(load Loader, log *slog.Logger) *model {
	return &model{load: load, log: log, done: make(chan struct{}), state: stateIdle}
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

func (m *model) run() {
	defer close(m.done)
	t0 := time.Now()
	seg, err := m.load(context.Background())
	loadTime := time.Since(t0)
	var warm time.Duration
	if err == nil {
		// One inference before ready: first runs pay for lazy allocations and kernel
		// selection, which the first user should not.
		t1 := time.Now()
		_, err = seg.Segment(context.Background(), warmupJPEG())
		warm = time.Since(t1)
		if err != nil {
			seg.Close()
			seg = nil
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadTime, m.warmTime = loadTime, warm
	if err != nil {
		m.state, m.err = stateFailed, err
		m.log.Error("model failed to load", "err", err, "after", loadTime)
		return
	}
	m.state, m.seg = stateReady, seg
	m.log.Info("model ready", "model", seg.Manifest().ID(), "backend", seg.Backend().String(),
		"load", loadTime.Round(time.Millisecond), "warmup", warm.Round(time.Millisecond))
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
// lazy) until ctx ends.
func (m *model) get(ctx context.Context) (*nails.Segmenter, error) {
	m.start()
	select {
	case <-m.done:
	case <-ctx.Done():
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Message: "the model is still loading", RetryAfter: 2}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.err != nil {
		return nil, newError(http.StatusServiceUnavailable, "model_unavailable", "the model failed to load: %v", m.err)
	}
	return m.seg, nil
}

// status reports the state and, when failed, why.
func (m *model) status() (state string, seg *nails.Segmenter, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state, m.seg, m.err
}

// timings reports how long the load and the warm-up inference took (0 before).
func (m *model) timings() (load, warmup time.Duration) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.loadTime, m.warmTime
}

// close waits for a load in progress, then frees the model.
func (m *model) close() error {
	m.mu.RLock()
	started := m.state != stateIdle
	m.mu.RUnlock()
	if !started {
		return nil
	}
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
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
