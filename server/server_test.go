package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails"
)

// The fixture model (nails/testdata/semantic.json) finds the same two "nails" in any
// photo in microseconds: the server is tested end to end with a real runner.
var fixtureModel = filepath.Join("..", "nails", "testdata", "semantic.json")

// fixtureLoader opens the fixture model (runtime_test.go); tests that use it call
// needsRuntime first, or newTestServer does for them.
func fixtureLoader(ctx context.Context) (Segmenter, error) {
	return modelLoader(fixtureModel, nails.Limits{})(ctx)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(t *testing.T, cfg Config, load Loader) *Server {
	t.Helper()
	if load == nil {
		needsRuntime(t)
		load = fixtureLoader
	}
	s := New(cfg, load, Options{Logger: quietLogger()})
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func waitReady(t *testing.T, s *Server) {
	t.Helper()
	require.Eventually(t, s.Ready, 10*time.Second, 5*time.Millisecond)
}

func photoJPEG(t testing.TB, w, h int, seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), 120, 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, nil))
	return b.Bytes()
}

func multipartBody(t testing.TB, field string, data []byte, fields map[string]string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if field != "" {
		part, err := w.CreateFormFile(field, "frame.jpg")
		require.NoError(t, err)
		part.Write(data)
	}
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	require.NoError(t, w.Close())
	return &buf, w.FormDataContentType()
}

func do(t testing.TB, s http.Handler, method, path string, body io.Reader, contentType string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func postImage(t testing.TB, s http.Handler, path string, img []byte, fields map[string]string) *httptest.ResponseRecorder {
	body, ct := multipartBody(t, "file", img, fields)
	return do(t, s, http.MethodPost, path, body, ct)
}

func decodeJSON[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
	return v
}

type errorBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestReadinessFollowsTheLoad(t *testing.T) {
	needsRuntime(t)
	release := make(chan struct{})
	s := newTestServer(t, Config{}, func(ctx context.Context) (Segmenter, error) {
		<-release
		return fixtureLoader(ctx)
	})
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/healthz", nil, "").Code)
	rec := do(t, s, "GET", "/readyz", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "loading")
	close(release)
	waitReady(t, s)
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/readyz", nil, "").Code)
}

func TestRequestWaitsForTheLoad(t *testing.T) {
	needsRuntime(t)
	loading, release := make(chan struct{}), make(chan struct{})
	s := newTestServer(t, Config{Lazy: true}, func(ctx context.Context) (Segmenter, error) {
		close(loading)
		<-release
		return fixtureLoader(ctx)
	})
	assert.Contains(t, do(t, s, "GET", "/readyz", nil, "").Body.String(), "idle")
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 0), nil) }()
	select { // lazy: the request starts the load, and waits for it
	case <-loading:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not start the load")
	}
	select {
	case rec := <-done:
		t.Fatalf("answered before the model loaded: %d %s", rec.Code, rec.Body.String())
	default:
	}
	close(release)
	rec := <-done
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func TestFailingModel(t *testing.T) {
	var attempts atomic.Int32
	s := newTestServer(t, Config{LoadAttempts: 2}, func(ctx context.Context) (Segmenter, error) {
		attempts.Add(1)
		return modelLoader("testdata/does-not-exist.json", nails.Limits{})(ctx)
	})
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/healthz", nil, "").Code, "alive while it still retries")
	require.Eventually(t, func() bool { st, _, _ := s.model.status(); return st == stateFailed }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, int32(2), attempts.Load(), "tried LoadAttempts times")
	rec := do(t, s, "GET", "/readyz", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotContains(t, rec.Body.String(), "does-not-exist.json", "paths stay in the log")
	rec = do(t, s, "GET", "/healthz", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "liveness tells the orchestrator to restart")
	rec = postImage(t, s, "/api/nails/segment", photoJPEG(t, 32, 32, 0), nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	e := decodeJSON[errorBody](t, rec)
	assert.Equal(t, "model_unavailable", e.Error.Code)
	assert.NotContains(t, e.Error.Message, "does-not-exist.json")
}

func TestModelLoadRetrySucceeds(t *testing.T) {
	needsRuntime(t)
	var attempts atomic.Int32
	s := newTestServer(t, Config{}, func(ctx context.Context) (Segmenter, error) {
		if attempts.Add(1) == 1 {
			return nil, errors.New("transient: device busy")
		}
		return fixtureLoader(ctx)
	})
	waitReady(t, s)
	assert.Equal(t, int32(2), attempts.Load())
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/healthz", nil, "").Code)
}

func TestSegment(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	img := photoJPEG(t, 128, 96, 1)
	rec := postImage(t, s, "/api/nails/segment", img, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	res := decodeJSON[SegmentResponse](t, rec)
	assert.Equal(t, 128, res.Width)
	assert.Equal(t, 96, res.Height)
	assert.Equal(t, "fixture-semantic@0.0.1", res.Model)
	assert.False(t, res.Cached)
	require.Len(t, res.Nails, 2)
	assert.Equal(t, 1, res.Nails[0].ID)
	assert.NotEmpty(t, res.Nails[0].Polygon)
	assert.Greater(t, res.Nails[0].Area, 0)
	assert.NotEmpty(t, res.Nails[1].Contours, "the ring's hole is reported")
	for _, k := range []string{"total", "decode", "preprocess", "infer", "postprocess"} {
		assert.Contains(t, res.TimingsMS, k)
	}

	// A raw body works too, and the same bytes come from the cache.
	rec = do(t, s, "POST", "/api/nails/segment", bytes.NewReader(img), "image/jpeg")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.True(t, decodeJSON[SegmentResponse](t, rec).Cached)

	rle := decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment?mask=rle", img, nil))
	require.NotNil(t, rle.Nails[0].RLE)
	bits, err := nails.DecodeRLE(*rle.Nails[0].RLE)
	require.NoError(t, err)
	n := 0
	for _, b := range bits {
		n += int(b)
	}
	assert.Equal(t, rle.Nails[0].Area, n)

	pngRes := decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment?mask=png", img, nil))
	raw, err := base64.StdEncoding.DecodeString(pngRes.MaskPNG)
	require.NoError(t, err)
	label, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 128, 96), label.Bounds())

	none := decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment?mask=none", img, nil))
	assert.Empty(t, none.Nails[0].Polygon)
}

func TestErrors(t *testing.T) {
	s := newTestServer(t, Config{MaxBodyBytes: 64 << 10, Limits: nails.Limits{MaxPixels: 100_000}}, nil)
	waitReady(t, s)
	good := photoJPEG(t, 64, 48, 0)
	big := bytes.Repeat([]byte{0xFF}, 100<<10)
	cases := []struct {
		name   string
		rec    func() *httptest.ResponseRecorder
		status int
		code   string
	}{
		{"no file field", func() *httptest.ResponseRecorder {
			body, ct := multipartBody(t, "", nil, map[string]string{"material": "glossy_red"})
			return do(t, s, "POST", "/api/nails/segment", body, ct)
		}, 400, "missing_file"},
		{"empty body", func() *httptest.ResponseRecorder { return do(t, s, "POST", "/api/nails/segment", nil, "image/jpeg") }, 400, "missing_file"},
		{"broken multipart", func() *httptest.ResponseRecorder {
			return do(t, s, "POST", "/api/nails/segment", strings.NewReader("--x\r\nnope"), "multipart/form-data; boundary=x")
		}, 400, "bad_form"},
		{"text", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/segment", []byte("just text"), nil)
		}, 415, "unsupported_media_type"},
		{"truncated jpeg", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/segment", good[:len(good)/3], nil)
		}, 422, "undecodable_image"},
		{"too many pixels", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/segment", photoJPEG(t, 400, 300, 0), nil)
		}, 422, "image_too_large"},
		{"body too large", func() *httptest.ResponseRecorder { return postImage(t, s, "/api/nails/segment", big, nil) }, 413, "too_large"},
		{"raw body too large", func() *httptest.ResponseRecorder {
			return do(t, s, "POST", "/api/nails/segment", bytes.NewReader(big), "application/octet-stream")
		}, 413, "too_large"},
		{"bad mask option", func() *httptest.ResponseRecorder { return postImage(t, s, "/api/nails/segment?mask=svg", good, nil) }, 400, "bad_mask"},
		{"unknown material", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/render", good, map[string]string{"material": "unicorn"})
		}, 400, "bad_material"},
		{"custom without colour", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/render", good, map[string]string{"material": "custom"})
		}, 400, "bad_material"},
		{"custom out of range", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/render", good, map[string]string{"material": "custom", "custom_color": "#ff0000", "metallic": "3"})
		}, 400, "bad_material"},
		{"bad format", func() *httptest.ResponseRecorder {
			return postImage(t, s, "/api/nails/render", good, map[string]string{"format": "gif"})
		}, 400, "bad_format"},
		{"wrong method", func() *httptest.ResponseRecorder { return do(t, s, "GET", "/api/nails/segment", nil, "") }, 405, "method_not_allowed"},
		{"unknown route", func() *httptest.ResponseRecorder { return do(t, s, "GET", "/api/nope", nil, "") }, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := c.rec()
			assert.Equal(t, c.status, rec.Code, rec.Body.String())
			assert.Equal(t, c.code, decodeJSON[errorBody](t, rec).Error.Code)
			assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
		})
	}
	// A near miss of a preset name says which one was meant.
	near := decodeJSON[errorBody](t, postImage(t, s, "/api/nails/render", good, map[string]string{"material": "metallic-gold"}))
	assert.Contains(t, near.Error.Message, `did you mean "metallic_gold"`)
	// None of that reached the cache, and the server still answers.
	assert.Equal(t, 0, s.cache.stats().Size)
	assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", good, nil).Code)
}

func TestRender(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	img := photoJPEG(t, 128, 96, 2)
	require.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", img, nil).Code)
	for _, path := range []string{"/api/nails/render", "/api/nails/render-professional"} {
		rec := postImage(t, s, path, img, map[string]string{"material": "metallic_gold"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, "image/jpeg", rec.Header().Get("Content-Type"))
		assert.Equal(t, "2", rec.Header().Get("X-Nail-Count"))
		assert.Equal(t, "metallic_gold", rec.Header().Get("X-Material"))
		assert.Equal(t, "hit", rec.Header().Get("X-Cache"), "render reuses the segmentation")
		out, err := jpeg.Decode(rec.Body)
		require.NoError(t, err)
		assert.Equal(t, image.Rect(0, 0, 128, 96), out.Bounds())
	}
	assert.EqualValues(t, 1, s.cache.misses.Load(), "one inference for one photo")

	rec := postImage(t, s, "/api/nails/render?format=png", img, map[string]string{"material": "custom", "custom_color": "#00ff88", "glossiness": "0.9", "intensity": "0.5"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "image/png", rec.Header().Get("Content-Type"))
	assert.Equal(t, "custom", rec.Header().Get("X-Material"))
	_, err := png.Decode(rec.Body)
	require.NoError(t, err)

	// Render first, on a new photo: a miss that segments once; segment then hits.
	other := photoJPEG(t, 128, 96, 9)
	assert.Equal(t, "miss", postImage(t, s, "/api/nails/render", other, nil).Header().Get("X-Cache"))
	assert.True(t, decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment", other, nil)).Cached)
}

// An image too small to show a nail is refused with the setting that allows it, on both
// routes, instead of a noise "nail" (a 10x10 image came back with one at 0.80).
func TestTinyImageIsRefused(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	for _, path := range []string{"/api/nails/segment", "/api/nails/render"} {
		rec := postImage(t, s, path, photoJPEG(t, 10, 10, 1), nil)
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, path)
		e := decodeJSON[errorBody](t, rec).Error
		assert.Equal(t, "image_too_small", e.Code)
		assert.Contains(t, e.Message, "NAILTRT_MIN_SIDE")
	}
	// The limit is a setting (nailtrt serve gives the server and the runtime the same).
	lower := nails.Limits{MinSide: 8}
	small := newTestServer(t, Config{Limits: lower}, modelLoader(fixtureModel, lower))
	waitReady(t, small)
	assert.Equal(t, http.StatusOK, postImage(t, small, "/api/nails/segment", photoJPEG(t, 10, 10, 1), nil).Code)
}

// A custom colour honours finish when one is sent (it was silently ignored before).
func TestRenderCustomFinish(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	img := photoJPEG(t, 128, 96, 4)
	paint := func(finish string) *httptest.ResponseRecorder {
		return postImage(t, s, "/api/nails/render?format=png", img,
			map[string]string{"material": "custom", "custom_color": "#3a7bd5", "glossiness": "0.7", "finish": finish})
	}
	glossy, matte := paint("glossy"), paint("matte")
	require.Equal(t, http.StatusOK, glossy.Code, glossy.Body.String())
	require.Equal(t, http.StatusOK, matte.Code, matte.Body.String())
	assert.NotEqual(t, glossy.Body.Bytes(), matte.Body.Bytes(), "finish must change the render")
	assert.Equal(t, glossy.Body.Bytes(), paint("").Body.Bytes(), "no finish: chosen from glossiness 0.7 (glossy)")
	bad := paint("sparkly")
	assert.Equal(t, http.StatusBadRequest, bad.Code)
	assert.Contains(t, decodeJSON[errorBody](t, bad).Error.Message, "sparkly")
}

func TestMaterialsAndStats(t *testing.T) {
	s := newTestServer(t, Config{CacheEntries: 7, CacheTTL: time.Minute}, nil)
	m := decodeJSON[map[string]any](t, do(t, s, "GET", "/api/materials", nil, ""))
	mats := m["materials"].([]any)
	assert.GreaterOrEqual(t, len(mats), 10)
	assert.Contains(t, m["finishes"], "french")
	st := decodeJSON[cacheStats](t, do(t, s, "GET", "/api/cache/stats", nil, ""))
	assert.Equal(t, 7, st.Max)
	assert.Equal(t, 60.0, st.TTL)
	assert.Zero(t, st.Size)
}

func TestCacheTTLAndBytes(t *testing.T) {
	// A TTL far longer than two small requests take (-race included), and short enough
	// to wait for.
	s := newTestServer(t, Config{CacheTTL: time.Second}, nil)
	waitReady(t, s)
	img := photoJPEG(t, 64, 48, 3)
	require.False(t, decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment", img, nil)).Cached)
	require.True(t, decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment", img, nil)).Cached)
	// The TTL passes: the entry expires and the cache's cleanup evicts it.
	require.Eventually(t, func() bool { return s.cache.stats().Evictions > 0 }, 10*time.Second, 5*time.Millisecond)
	assert.False(t, decodeJSON[SegmentResponse](t, postImage(t, s, "/api/nails/segment", img, nil)).Cached, "expired")

	// A byte bound that holds one result: a second photo evicts the first.
	probe := newResultCache(100, 0, time.Minute)
	r, _, err := probe.get(context.Background(), "k", nil, func() (*nails.Result, error) {
		seg, err := fixtureLoader(context.Background())
		if err != nil {
			return nil, err
		}
		defer seg.Close()
		return seg.Segment(context.Background(), img)
	})
	require.NoError(t, err)
	one := int64(r.Bytes())
	c := newResultCache(100, one+one/2, time.Minute)
	c.add("a", r)
	c.add("b", r)
	st := c.stats()
	assert.Equal(t, 1, st.Size)
	assert.Equal(t, one, st.Bytes)
	assert.EqualValues(t, 1, st.Evictions)
	_, ok := c.lru.Peek("b")
	assert.True(t, ok, "the newest stays")
	c.add("huge", &nails.Result{Nails: make([]nails.Nail, 100000)})
	assert.Equal(t, 1, c.stats().Size, "a result larger than the cache is not kept")
}

func TestSingleflight(t *testing.T) {
	c := newResultCache(10, 0, time.Minute)
	var calls int
	var mu sync.Mutex
	gate := make(chan struct{})
	var wg sync.WaitGroup
	cached := make([]bool, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, hit, err := c.get(context.Background(), "same", nil, func() (*nails.Result, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				<-gate
				return &nails.Result{Width: 1}, nil
			})
			assert.NoError(t, err)
			cached[i] = hit
		}()
	}
	// All ten wait on the one computation the gate holds: none can have been answered
	// from the cache instead.
	require.Eventually(t, func() bool { return c.waiting.Load() == 10 }, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	assert.Equal(t, 1, calls, "ten identical requests, one inference")
	st := c.stats()
	assert.EqualValues(t, 1, st.Misses)
	assert.EqualValues(t, 9, st.Hits)

	// Errors are shared by the waiters but never cached.
	_, _, err := c.get(context.Background(), "bad", nil, func() (*nails.Result, error) { return nil, errors.New("boom") })
	assert.Error(t, err)
	_, ok := c.lru.Peek("bad")
	assert.False(t, ok)
}

func TestCacheClearAuth(t *testing.T) {
	withToken := newTestServer(t, Config{AdminToken: "s3cret"}, nil)
	unauth := do(t, withToken, "POST", "/api/cache/clear", nil, "")
	assert.Equal(t, http.StatusUnauthorized, unauth.Code)
	assert.Contains(t, unauth.Body.String(), "Bearer <admin token>", "read as written, not \\u003c")
	assert.Equal(t, http.StatusUnauthorized, do(t, withToken, "POST", "/api/cache/clear", nil, "", "Authorization", "Basic abc").Code)
	assert.Equal(t, http.StatusForbidden, do(t, withToken, "POST", "/api/cache/clear", nil, "", "Authorization", "Bearer nope").Code)
	assert.Equal(t, http.StatusOK, do(t, withToken, "POST", "/api/cache/clear", nil, "", "Authorization", "Bearer s3cret").Code)

	noToken := newTestServer(t, Config{}, nil)
	assert.Equal(t, http.StatusForbidden, do(t, noToken, "POST", "/api/cache/clear", nil, "").Code, "httptest's peer is 192.0.2.1")
	clear := func(remote string, header ...string) int {
		req := httptest.NewRequest("POST", "http://localhost:8080/api/cache/clear", nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		noToken.ServeHTTP(rec, req)
		return rec.Code
	}
	assert.Equal(t, http.StatusOK, clear("127.0.0.1:5555"))
	assert.Equal(t, http.StatusOK, clear("[::1]:5555"))
	assert.Equal(t, http.StatusOK, clear("127.0.0.1:5555", "Origin", "http://localhost:8080"), "the server's own page")
	assert.Equal(t, http.StatusForbidden, clear("127.0.0.1:5555", "X-Forwarded-For", "203.0.113.9"), "a same-host proxy relays strangers")
	assert.Equal(t, http.StatusForbidden, clear("127.0.0.1:5555", "Forwarded", "for=203.0.113.9"))
	assert.Equal(t, http.StatusForbidden, clear("127.0.0.1:5555", "Origin", "https://evil.example"), "a cross-site form post")
	assert.Equal(t, http.StatusForbidden, clear("127.0.0.1:5555", "Sec-Fetch-Site", "cross-site"))
}

func TestBackpressure(t *testing.T) {
	l := newLimiter(1, 2)
	require.NoError(t, l.acquire())
	require.NoError(t, l.acquire())
	require.NoError(t, l.acquire())
	assert.Error(t, l.acquire())
	l.release()
	assert.NoError(t, l.acquire())

	s := newTestServer(t, Config{Contexts: 1, MaxQueue: 1}, nil)
	waitReady(t, s)
	s.limit.pending.Store(s.limit.capacity) // every place taken
	rec := postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 5), nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, "overloaded", decodeJSON[errorBody](t, rec).Error.Code)
	s.limit.pending.Store(0)
	assert.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 5), nil).Code, "overload is not cached")
}

func TestCORS(t *testing.T) {
	s := newTestServer(t, Config{CORSOrigins: []string{"http://localhost:3000"}}, nil)
	rec := do(t, s, "GET", "/api/materials", nil, "", "Origin", "http://localhost:3000")
	assert.Equal(t, "http://localhost:3000", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), "X-Nail-Count")
	assert.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), "X-Material")
	pre := do(t, s, "OPTIONS", "/api/nails/render", nil, "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST")
	assert.Equal(t, http.StatusNoContent, pre.Code)
	assert.Contains(t, pre.Header().Get("Access-Control-Allow-Methods"), "POST")
	other := do(t, s, "GET", "/api/materials", nil, "", "Origin", "http://evil.example")
	assert.Empty(t, other.Header().Get("Access-Control-Allow-Origin"))
	none := newTestServer(t, Config{}, nil)
	assert.Empty(t, do(t, none, "GET", "/api/materials", nil, "", "Origin", "http://localhost:3000").Header().Get("Access-Control-Allow-Origin"), "default: no origins")
}

func TestMetrics(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	require.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/segment", photoJPEG(t, 64, 48, 6), nil).Code)
	body := do(t, s, "GET", "/metrics", nil, "").Body.String()
	for _, want := range []string{
		`nailtrt_http_request_duration_seconds_bucket{method="POST",route="/api/nails/segment",status="200"`,
		`nailtrt_stage_duration_seconds_count{stage="infer"} 1`,
		`nailtrt_stage_duration_seconds_count{stage="preprocess"} 1`,
		"nailtrt_cache_misses_total 1",
		"nailtrt_cache_hits_total 0",
		"nailtrt_http_requests_in_flight",
		"process_resident_memory_bytes",
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "nailtrt_gpu_memory_used_bytes{", "no GPU gauges without NVML")

	// A JPEG render paints in place, decoding nothing whole; one at another quality
	// decodes the photo (counted, hit or not) and encodes it again.
	for range 3 {
		require.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/render", photoJPEG(t, 64, 48, 6), nil).Code)
	}
	require.Equal(t, http.StatusOK, postImage(t, s, "/api/nails/render", photoJPEG(t, 64, 48, 6), map[string]string{"quality": "80"}).Code)
	body = do(t, s, "GET", "/metrics", nil, "").Body.String()
	assert.Contains(t, body, `nailtrt_stage_duration_seconds_count{stage="decode"} 2`, "1 segment + 1 whole-photo render")
	assert.Contains(t, body, `nailtrt_stage_duration_seconds_count{stage="render"} 4`)
	assert.Contains(t, body, `nailtrt_stage_duration_seconds_count{stage="encode"} 1`)
}

// fakeGPU is a GPU reader with one device, counting Close calls.
type fakeGPU struct{ closed int }

func (g *fakeGPU) Read() GPUHealth {
	u := uint32(37)
	return GPUHealth{Available: true, Devices: []GPUInfo{{Index: 0, Name: "NVIDIA H100 80GB HBM3", MemoryTotal: 80 << 30,
		MemoryUsed: 2 << 30, MemoryFree: 78 << 30, Utilization: &u}}}
}
func (g *fakeGPU) Close() { g.closed++ }

// What the GPU reader says is in /api/health and /metrics, and the server closes it;
// without one, /api/health says GPU health is not read (nvmlgpu's own tests cover NVML).
func TestGPUHealth(t *testing.T) {
	none := New(Config{}, fixtureLoader, Options{Logger: quietLogger()})
	h := decodeJSON[map[string]any](t, do(t, none, "GET", "/api/health", nil, ""))["gpu"].(map[string]any)
	assert.Equal(t, false, h["available"])
	assert.Contains(t, h["reason"], "not read")
	require.NoError(t, none.Close())

	gpu := &fakeGPU{}
	s := New(Config{}, fixtureLoader, Options{Logger: quietLogger(), GPU: gpu})
	h2 := decodeJSON[map[string]any](t, do(t, s, "GET", "/api/health", nil, ""))
	g := h2["gpu"].(map[string]any)
	assert.Equal(t, true, g["available"])
	d := g["devices"].([]any)[0].(map[string]any)
	assert.Equal(t, "NVIDIA H100 80GB HBM3", d["name"])
	assert.EqualValues(t, 37, d["utilization_percent"])
	metrics := do(t, s, "GET", "/metrics", nil, "").Body.String()
	assert.Contains(t, metrics, `nailtrt_gpu_memory_used_bytes{gpu="0",name="NVIDIA H100 80GB HBM3"} 2.147483648e+09`)
	require.NoError(t, s.Close())
	assert.Equal(t, 1, gpu.closed)
}

func TestServeShutsDownGracefully(t *testing.T) {
	needsRuntime(t)
	s := New(Config{}, fixtureLoader, Options{Logger: quietLogger()})
	ln, err := netListen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 10*time.Second, 10*time.Millisecond)
	resp, err := http.Post(url+"/api/nails/segment", "image/jpeg", bytes.NewReader(photoJPEG(t, 64, 48, 8)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	_, err = http.Get(url + "/healthz")
	assert.Error(t, err, "closed after shutdown")
}
