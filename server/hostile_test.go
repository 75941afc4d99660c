package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/singleflight"

	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/nails"
)

// jpegBomb is a progressive CMYK JPEG header claiming w x h with `scans` empty scans.
func jpegBomb(w, h, scans int) []byte { return testimg.ProgressiveJPEG(w, h, 4, scans) }

// modelCalls wraps a segmenter and counts the photos it is asked to segment (the
// warm-up aside), so a test can tell an upload refused before any decode from one
// refused after it.
type modelCalls struct {
	Segmenter
	n atomic.Int32
}

func (m *modelCalls) SegmentHeader(ctx context.Context, data []byte, h nails.Header) (*nails.Result, error) {
	m.n.Add(1)
	return m.Segmenter.SegmentHeader(ctx, data, h)
}

func (m *modelCalls) SegmentPhoto(ctx context.Context, p *nails.Photo) (*nails.Result, error) {
	m.n.Add(1)
	return m.Segmenter.SegmentPhoto(ctx, p)
}

func TestHostileImages(t *testing.T) {
	needsRuntime(t)
	calls := &modelCalls{}
	s := newTestServer(t, Config{MemoryBudget: 256 << 20}, func(ctx context.Context) (Segmenter, error) {
		seg, err := fixtureLoader(ctx)
		if err != nil {
			return nil, err
		}
		calls.Segmenter = seg
		return calls, nil
	})
	waitReady(t, s)
	for _, tc := range []struct {
		name   string
		data   []byte
		status int
		code   string
	}{
		{"progressive CMYK claiming 40 MP does not fit the memory budget", jpegBomb(6000, 6666, 1), http.StatusUnprocessableEntity, "image_too_large"},
		{"a thousand empty scans", jpegBomb(64, 64, 1000), http.StatusUnprocessableEntity, "image_too_large"},
		{"small CMYK with no data", jpegBomb(64, 64, 2), http.StatusUnprocessableEntity, "undecodable_image"},
		{"truncated JPEG", photoJPEG(t, 64, 64, 0)[:300], http.StatusUnprocessableEntity, "undecodable_image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []string{"/api/nails/segment", "/api/nails/render"} {
				before := calls.n.Load()
				rec := postImage(t, s, route, tc.data, nil)
				assert.Equal(t, tc.status, rec.Code, "%s: %s", route, rec.Body.String())
				assert.Equal(t, tc.code, decodeJSON[errorBody](t, rec).Error.Code, route)
				assert.NotContains(t, rec.Body.String(), "libjpeg", "library messages stay in the log")
				if tc.code == "image_too_large" {
					// image_too_large comes from the header checks only (Limits.Check,
					// the memory budget), and the upload never reached the model: on
					// /segment the model decodes it, on /render the server does first.
					assert.Equal(t, before, calls.n.Load(), "%s: refused from the header, not after decoding", route)
				}
			}
		})
	}
	// Nothing above was cached, and nothing is still held.
	assert.Equal(t, 0, s.cache.stats().Size)
	assert.True(t, s.memory.sem.TryAcquire(s.cfg.MemoryBudget), "every admitted byte was released")
	s.memory.release(s.cfg.MemoryBudget)
}

func TestNaNMaterialRefused(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	for _, v := range []string{"NaN", "nan", "Inf", "-Inf", "1.5", "-0.1"} {
		rec := postImage(t, s, "/api/nails/render", photoJPEG(t, 64, 48, 0),
			map[string]string{"material": "custom", "custom_color": "#c8102e", "intensity": v})
		assert.Equal(t, http.StatusBadRequest, rec.Code, "intensity=%s", v)
	}
}

func TestBudget(t *testing.T) {
	b := newBudget("memory", "NAILTRT_MEMORY_BUDGET", 100, 50*time.Millisecond, 1)
	ctx := context.Background()
	require.NoError(t, b.acquire(ctx, 60))
	err := b.acquire(ctx, 101)
	assert.ErrorIs(t, err, errNeverFits)
	assert.Contains(t, err.Error(), "NAILTRT_MEMORY_BUDGET", "says which setting to raise")

	// No room within the wait: 503 with Retry-After.
	err = b.acquire(ctx, 50)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusServiceUnavailable, ae.Status)
	assert.Positive(t, ae.RetryAfter)

	// One waiter at most: a second one is refused at once. The wait is an hour here,
	// so a second caller that queued for room instead would not come back before the
	// test times out, and the first waiter cannot give up before it gets in.
	b = newBudget("memory", "NAILTRT_MEMORY_BUDGET", 100, time.Hour, 1)
	require.NoError(t, b.acquire(ctx, 60))
	got := make(chan error)
	go func() { got <- b.acquire(ctx, 50) }()
	require.Eventually(t, func() bool { return len(b.waiters) == 1 }, 5*time.Second, time.Millisecond, "the first one waits")
	require.ErrorAs(t, b.acquire(ctx, 50), &ae)
	assert.Equal(t, http.StatusServiceUnavailable, ae.Status)
	select {
	case err := <-got:
		t.Fatalf("the first waiter returned (%v) before there was room", err)
	default: // still waiting: the second was refused without waiting for it
	}
	b.release(60) // the waiter gets in
	require.NoError(t, <-got)
	b.release(50)
	assert.True(t, b.sem.TryAcquire(100))
}

func TestCacheBytesExactAfterExpiry(t *testing.T) {
	c := newResultCache(10, 1<<20, 30*time.Millisecond)
	r := &nails.Result{Width: 10, Height: 10}
	for i := 0; i < 5; i++ {
		c.add("k", r)
		// Expired, maybe not purged yet (the cleanup runs on its own schedule).
		require.Eventually(t, func() bool { _, ok := c.lru.Peek("k"); return !ok }, 5*time.Second, time.Millisecond)
	}
	c.add("k", r)
	assert.Equal(t, int64(r.Bytes()), c.stats().Bytes, "one entry's bytes, however often it expired and came back")
	assert.Equal(t, 1, c.stats().Size)
}

func TestPanicInSharedWorkIsAnError(t *testing.T) {
	c := newResultCache(10, 1<<20, time.Minute)
	_, _, err := c.get(context.Background(), "k", nil, func() (*nails.Result, error) { panic("boom") })
	assert.ErrorIs(t, err, errPanic)
	assert.Equal(t, http.StatusInternalServerError, classify(err).Status)
	assert.NotContains(t, classify(err).Message, "boom", "the panic stays in the log")
	// The key is usable afterwards.
	res, _, err := c.get(context.Background(), "k", nil, func() (*nails.Result, error) { return &nails.Result{}, nil })
	require.NoError(t, err)
	assert.NotNil(t, res)
}

// A caller whose context has ended gets its context's error even when the shared work
// has finished too: a select with both ready chooses at random, and a client already
// gone got a 200 now and then (TestClientGoneMidRequest, once in many runs).
func TestAwaitPrefersTheEndedContext(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	ch := make(chan singleflight.Result, 1)
	for i := 0; i < 200; i++ {
		ch <- singleflight.Result{Val: &nails.Result{}}
		_, err := await(gone, ch)
		require.ErrorIs(t, err, context.Canceled, "attempt %d", i)
		select { // empty it for the next attempt, whichever case await took
		case <-ch:
		default:
		}
	}
	ch <- singleflight.Result{Val: &nails.Result{Width: 7}}
	v, err := await(context.Background(), ch)
	require.NoError(t, err)
	assert.Equal(t, 7, v.Val.(*nails.Result).Width)
}

func TestCloseWaitsForWorkInFlight(t *testing.T) {
	needsRuntime(t)
	s := New(Config{}, fixtureLoader, Options{Logger: quietLogger()})
	waitReady(t, s)
	_, release, err := s.model.hold()
	require.NoError(t, err)
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("Close freed the model under work that holds it")
	case <-time.After(100 * time.Millisecond):
	}
	_, _, err = s.model.hold()
	assert.ErrorIs(t, err, errClosed, "no new work once closing")
	release()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the work ended")
	}
}

func TestClientGoneMidRequest(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	body, ct := multipartBody(t, "file", photoJPEG(t, 640, 480, 3), nil)
	req := httptest.NewRequest("POST", "/api/nails/segment", body).WithContext(ctx)
	req.Header.Set("Content-Type", ct)
	cancel() // gone before the work starts
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.NotEqual(t, http.StatusOK, rec.Code)
	require.Eventually(t, func() bool { return s.limit.pending.Load() == 0 }, 5*time.Second, 5*time.Millisecond, "slot freed")
	assert.True(t, s.uploads.sem.TryAcquire(s.cfg.UploadBudget), "upload bytes released")
	s.uploads.release(s.cfg.UploadBudget)
	// The server still answers.
	assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 9), nil).Code)
}

func TestModelFileFaults(t *testing.T) {
	needsRuntime(t)
	dir := t.TempDir()
	onnx, err := os.ReadFile(filepath.Join(filepath.Dir(fixtureModel), "semantic.onnx"))
	require.NoError(t, err)
	manifest, err := os.ReadFile(fixtureModel)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "semantic.json"), manifest, 0o644))
	model := filepath.Join(dir, "semantic.json")
	open := modelLoader(model, nails.Limits{})

	t.Run("corrupt model file", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "semantic.onnx"), []byte("not a model"), 0o644))
		s := newTestServer(t, Config{LoadAttempts: 1}, open)
		require.Eventually(t, func() bool { st, _, _ := s.model.status(); return st == stateFailed }, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, http.StatusServiceUnavailable, postImage(t, s, "/api/nails/segment", photoJPEG(t, 32, 32, 0), nil).Code)
	})
	t.Run("model file changed while serving", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "semantic.onnx"), onnx, 0o644))
		s := newTestServer(t, Config{}, open)
		waitReady(t, s)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "semantic.onnx"), []byte("overwritten"), 0o644))
		assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", photoJPEG(t, 48, 32, 1), nil).Code,
			"the loaded model keeps serving")
	})
	t.Run("model file removed while serving", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "semantic.onnx"), onnx, 0o644))
		s := newTestServer(t, Config{}, open)
		waitReady(t, s)
		require.NoError(t, os.Remove(filepath.Join(dir, "semantic.onnx")))
		assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", photoJPEG(t, 48, 32, 2), nil).Code)
	})
}

func TestInvalidConfig(t *testing.T) {
	err := Config{TrustedProxies: []string{"10.0.0.0/8", "not-a-cidr"}}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not-a-cidr")
	assert.Contains(t, err.Error(), "NAILTRT_TRUSTED_PROXIES")
	assert.NoError(t, Config{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7"}}.Validate())
	assert.Error(t, Config{MaxBodyBytes: 100 << 20, UploadBudget: 10 << 20}.Validate())
}

func TestInFlightGaugeSurvivesPanics(t *testing.T) {
	m := newMetrics(newResultCache(1, 1, time.Minute), noGPUReader{}, newLimiter(1, 1), newModel(fixtureLoader, quietLogger(), 1))
	r := gin.New()
	r.Use(recovery(quietLogger()), m.middleware())
	r.GET("/boom", func(*gin.Context) { panic("boom") })
	for i := 0; i < 3; i++ {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
	}
	var g dto.Metric
	require.NoError(t, m.inflight.Write(&g))
	assert.Equal(t, 0.0, g.GetGauge().GetValue())
}

// TestOversizedBodyLingers plays a client that, like Python's requests, sends the whole
// body before it reads anything: it must get the JSON 413, not a connection reset.
func TestOversizedBodyLingers(t *testing.T) {
	s := newTestServer(t, Config{MaxBodyBytes: 64 << 10}, nil)
	waitReady(t, s)
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			body := bytes.Repeat([]byte{0xFF}, 8<<20)
			head := "POST /api/nails/segment HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
			if chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n"
			} else {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
			}
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			_, err = conn.Write([]byte(head))
			require.NoError(t, err)
			for off := 0; off < len(body); off += 64 << 10 {
				chunk := body[off:min(len(body), off+64<<10)]
				if chunked {
					_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
				} else {
					_, err = conn.Write(chunk)
				}
				require.NoError(t, err, "the server reset the connection while the client was still sending")
			}
			if chunked {
				_, _ = conn.Write([]byte("0\r\n\r\n"))
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			b, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(b), "NAILTRT_MAX_BODY_BYTES")
		})
	}
}

// A budget that can never hold the work is a 422 naming the setting, on every path.
func TestNeverFitsIs422(t *testing.T) {
	err := newBudget("memory", "NAILTRT_MEMORY_BUDGET", 10, time.Second, 1).acquire(context.Background(), 11)
	ae := classify(err)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.Status)
	assert.Contains(t, ae.Message, "NAILTRT_MEMORY_BUDGET")
}
