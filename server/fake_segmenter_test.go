package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails"
)

// fakeSegmenter stands in for the model where the HTTP behaviour is under test, not the
// runner: it decodes for real and answers what its segment func says (no nails by
// default), counting the requests that reached it. Its manifest is the fixture's, read
// without loading a runtime.
type fakeSegmenter struct {
	manifest *nails.Manifest
	segment  func(ctx context.Context, p *nails.Photo) (*nails.Result, error)
	calls    atomic.Int32 // SegmentPhoto calls, SegmentHeader's included (requests; not the warm-up)
	closed   atomic.Bool
}

var _ Segmenter = (*fakeSegmenter)(nil)

func (f *fakeSegmenter) SegmentHeader(ctx context.Context, data []byte, h nails.Header) (*nails.Result, error) {
	p, err := nails.DecodeHeader(ctx, data, h, nails.Limits{})
	if err != nil {
		return nil, err
	}
	return f.SegmentPhoto(ctx, p)
}

func (f *fakeSegmenter) SegmentPhoto(ctx context.Context, p *nails.Photo) (*nails.Result, error) {
	f.calls.Add(1)
	if f.segment != nil {
		return f.segment(ctx, p)
	}
	return &nails.Result{Width: p.Width, Height: p.Height, Model: f.manifest.ID()}, nil
}

func (f *fakeSegmenter) Segment(ctx context.Context, data []byte) (*nails.Result, error) {
	p, err := nails.DecodeContext(ctx, data, nails.Limits{})
	if err != nil {
		return nil, err
	}
	return &nails.Result{Width: p.Width, Height: p.Height}, nil
}

func (f *fakeSegmenter) Manifest() *nails.Manifest { return f.manifest }

func (f *fakeSegmenter) Backend() string              { return "fake" }
func (f *fakeSegmenter) BatchStats() nails.BatchStats { return nails.BatchStats{} }
func (f *fakeSegmenter) Close() error                 { f.closed.Store(true); return nil }

func fixtureManifest(t *testing.T) *nails.Manifest {
	m, err := nails.LoadManifest(fixtureModel)
	require.NoError(t, err)
	return m
}

func newFakeServer(t *testing.T, cfg Config, fake *fakeSegmenter) *Server {
	t.Helper()
	fake.manifest = fixtureManifest(t)
	s := newTestServer(t, cfg, func(context.Context) (Segmenter, error) { return fake, nil })
	waitReady(t, s)
	return s
}

// Identical uploads at once reach the model once: the others wait for that answer
// (the cache's singleflight, seen through HTTP).
func TestIdenticalUploadsShareOneInference(t *testing.T) {
	gate := make(chan struct{})
	fake := &fakeSegmenter{segment: func(ctx context.Context, p *nails.Photo) (*nails.Result, error) {
		<-gate
		return &nails.Result{Width: p.Width, Height: p.Height}, nil
	}}
	s := newFakeServer(t, Config{}, fake)
	img := photoJPEG(t, 64, 48, 9)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = postImage(t, s, "/api/nails/segment", img, nil).Code }()
	}
	require.Eventually(t, func() bool { return fake.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	// All eight wait on the one inference the gate holds: none can have been answered
	// from the cache instead.
	require.Eventually(t, func() bool { return s.cache.waiting.Load() == 8 }, 5*time.Second, time.Millisecond,
		"the other seven join the inference in flight")
	close(gate)
	wg.Wait()
	for _, c := range codes {
		assert.Equal(t, http.StatusOK, c)
	}
	assert.Equal(t, int32(1), fake.calls.Load(), "eight identical uploads, one inference")
}

// A model that never answers costs a request its timeout, not a stuck connection, and
// the server says so (503 timeout); the model sees the cancellation.
func TestRequestTimeoutReachesTheModel(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	fake := &fakeSegmenter{segment: func(ctx context.Context, _ *nails.Photo) (*nails.Result, error) {
		<-ctx.Done()
		cancelled <- struct{}{}
		return nil, ctx.Err()
	}}
	s := newFakeServer(t, Config{RequestTimeout: 50 * time.Millisecond}, fake)
	rec := postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 3), nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Equal(t, "timeout", decodeJSON[errorBody](t, rec).Error.Code)
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the model's context was never cancelled")
	}
}

// A backend that stops working mid-flight (a lost GPU) is a 503 model_unavailable
// with the details kept in the log, and the failure is not cached.
func TestBackendLostIs503(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	fake := &fakeSegmenter{segment: func(_ context.Context, p *nails.Photo) (*nails.Result, error) {
		if fail.Load() {
			return nil, fmt.Errorf("context run: %w: cudaErrorDevicesUnavailable on /dev/nvidia0", nails.ErrUnavailable)
		}
		return &nails.Result{Width: p.Width, Height: p.Height}, nil
	}}
	s := newFakeServer(t, Config{}, fake)
	img := photoJPEG(t, 64, 48, 4)
	rec := postImage(t, s, "/api/nails/segment", img, nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	e := decodeJSON[errorBody](t, rec)
	assert.Equal(t, "model_unavailable", e.Error.Code)
	assert.NotContains(t, e.Error.Message, "/dev/nvidia0")
	fail.Store(false)
	assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", img, nil).Code, "the failure was not cached")
}

// With one context and a queue of one, a third concurrent request is turned away at
// once (503 overloaded + Retry-After) while two are held by the model.
func TestQueueFullIs503(t *testing.T) {
	gate := make(chan struct{})
	fake := &fakeSegmenter{segment: func(_ context.Context, p *nails.Photo) (*nails.Result, error) {
		<-gate
		return &nails.Result{Width: p.Width, Height: p.Height}, nil
	}}
	s := newFakeServer(t, Config{Contexts: 1, MaxQueue: 1}, fake)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, uint8(10+i)), nil).Code)
		}()
	}
	require.Eventually(t, func() bool { return s.limit.pending.Load() == 2 }, 5*time.Second, time.Millisecond)
	rec := postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 12), nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "overloaded", decodeJSON[errorBody](t, rec).Error.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	close(gate)
	wg.Wait()
}

// Close frees the model the server was given.
func TestCloseClosesTheSegmenter(t *testing.T) {
	fake := &fakeSegmenter{manifest: fixtureManifest(t)}
	s := New(Config{}, func(context.Context) (Segmenter, error) { return fake, nil }, Options{Logger: quietLogger()})
	waitReady(t, s)
	require.NoError(t, s.Close())
	assert.True(t, fake.closed.Load())
}
