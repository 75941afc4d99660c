package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newLiveServer serves photo as the photo model and live (when not nil) as the live
// one, whose manifest is the fixture's under another name, as the bundled live model's
// is: the two must never share cache entries.
func newLiveServer(t *testing.T, cfg Config, photo *fakeSegmenter, live Loader) *Server {
	t.Helper()
	photo.manifest = fixtureManifest(t)
	s := New(cfg, func(context.Context) (Segmenter, error) { return photo, nil }, Options{Logger: quietLogger(), Live: live})
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func liveFake(t *testing.T) *fakeSegmenter {
	m := *fixtureManifest(t)
	m.Name += "-live"
	return &fakeSegmenter{manifest: &m}
}

func TestLiveRequestsRunTheLiveModel(t *testing.T) {
	photo, live := &fakeSegmenter{}, liveFake(t)
	s := newLiveServer(t, Config{}, photo, func(context.Context) (Segmenter, error) { return live, nil })
	waitReady(t, s)
	img := photoJPEG(t, 64, 48, 1)

	rec := postImage(t, s, "/api/nails/segment?model=live", img, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, live.manifest.ID(), decodeJSON[SegmentResponse](t, rec).Model, "the answer names the live model")
	assert.Equal(t, int32(1), live.calls.Load())
	assert.Equal(t, int32(0), photo.calls.Load())

	// The same photo for the photo model is the photo model's answer, not the live
	// one's from the cache; no model= is the photo model.
	for _, path := range []string{"/api/nails/segment?model=photo", "/api/nails/segment"} {
		rec = postImage(t, s, path, img, nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, photo.manifest.ID(), decodeJSON[SegmentResponse](t, rec).Model, path)
	}
	assert.Equal(t, int32(1), photo.calls.Load(), "the second photo request is the first's cache hit")
	assert.Equal(t, int32(1), live.calls.Load())

	rec = postImage(t, s, "/api/nails/segment?model=fast", img, nil)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "bad_model", decodeJSON[errorBody](t, rec).Error.Code)

	h := decodeJSON[map[string]any](t, do(t, s, "GET", "/api/health", nil, ""))
	assert.Equal(t, "ok", h["status"])
	lm, ok := h["live_model"].(map[string]any)
	require.True(t, ok, "live_model: %v", h["live_model"])
	assert.Equal(t, live.manifest.Name, lm["name"])
	assert.Equal(t, stateReady, lm["state"])

	require.NoError(t, s.Close())
	assert.True(t, live.closed.Load(), "Close frees the live model too")
}

func TestWithoutALiveModelLiveRequestsUseThePhotoModel(t *testing.T) {
	photo := &fakeSegmenter{}
	s := newLiveServer(t, Config{}, photo, nil)
	waitReady(t, s)
	rec := postImage(t, s, "/api/nails/segment?model=live", photoJPEG(t, 64, 48, 2), nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, photo.manifest.ID(), decodeJSON[SegmentResponse](t, rec).Model)
	h := decodeJSON[map[string]any](t, do(t, s, "GET", "/api/health", nil, ""))
	assert.Nil(t, h["live_model"])
}

func TestReadinessWaitsForTheLiveModel(t *testing.T) {
	release := make(chan struct{})
	live := liveFake(t)
	s := newLiveServer(t, Config{}, &fakeSegmenter{}, func(ctx context.Context) (Segmenter, error) {
		select {
		case <-release:
			return live, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	loaded := s.Loaded()
	require.Eventually(t, func() bool { st, _, _ := s.model.status(); return st == stateReady }, 10*time.Second, 5*time.Millisecond)
	rec := do(t, s, "GET", "/readyz", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "the photo model alone is not ready")
	assert.Contains(t, rec.Body.String(), stateLoading)
	select {
	case <-loaded:
		t.Fatal("Loaded closed before the live model loaded")
	default:
	}
	close(release)
	<-loaded
	assert.True(t, s.Ready())
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/readyz", nil, "").Code)
}

func TestAFailedLiveModelIsReported(t *testing.T) {
	photo := &fakeSegmenter{}
	s := newLiveServer(t, Config{LoadAttempts: 1}, photo, func(context.Context) (Segmenter, error) {
		return nil, errors.New("open /secret/live.json: no such file")
	})
	<-s.Loaded()
	assert.False(t, s.Ready())
	assert.Equal(t, http.StatusServiceUnavailable, do(t, s, "GET", "/healthz", nil, "").Code,
		"liveness tells the orchestrator to restart, as for the photo model")
	h := do(t, s, "GET", "/api/health", nil, "")
	assert.NotContains(t, h.Body.String(), "/secret", "paths stay in the log")
	body := decodeJSON[map[string]any](t, h)
	assert.Equal(t, "degraded", body["status"])
	assert.Equal(t, stateFailed, body["live_model"].(map[string]any)["state"])

	img := photoJPEG(t, 64, 48, 3)
	rec := postImage(t, s, "/api/nails/segment?model=live", img, nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "model_unavailable", decodeJSON[errorBody](t, rec).Error.Code)
	rec = postImage(t, s, "/api/nails/segment", img, nil)
	assert.Equal(t, http.StatusOK, rec.Code, "photo requests go on")
}

// Lazy: the first request, whichever model it asks for, loads both, so readiness (which
// waits for both) turns ready without a request for the other.
func TestLazyLoadsBothModelsOnTheFirstRequest(t *testing.T) {
	live := liveFake(t)
	s := newLiveServer(t, Config{Lazy: true}, &fakeSegmenter{}, func(context.Context) (Segmenter, error) { return live, nil })
	assert.Contains(t, do(t, s, "GET", "/readyz", nil, "").Body.String(), stateIdle)
	rec := postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 4), nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	waitReady(t, s)
	assert.Equal(t, int32(0), live.calls.Load(), "loaded and warmed, never asked")
}

// Cache clear removes both models' values from the shared cache (their keys differ, as
// their answers do).
func TestCacheClearRemovesBothModelsSharedValues(t *testing.T) {
	rs := startRedis(t)
	live := liveFake(t)
	s := newLiveServer(t, Config{RedisURL: rs.url(), AdminToken: "tok"}, &fakeSegmenter{},
		func(context.Context) (Segmenter, error) { return live, nil })
	require.NotNil(t, s.cache.shared)
	waitReady(t, s)
	img := photoJPEG(t, 64, 48, 5)
	for _, path := range []string{"/api/nails/segment", "/api/nails/segment?model=live"} {
		rec := postImage(t, s, path, img, nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	waitWrites(t, s, 2)
	rec := do(t, s, "POST", "/api/cache/clear", nil, "", "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.EqualValues(t, 2, decodeJSON[map[string]any](t, rec)["shared_cleared"])
}
