package server

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails"
)

// stuckClient is a client that stopped reading its response: the first write blocks
// until unstick is closed.
type stuckClient struct {
	header  http.Header
	status  int
	writing chan struct{} // closed at the first write
	unstick chan struct{}
	once    sync.Once
}

func newStuckClient() *stuckClient {
	return &stuckClient{header: http.Header{}, writing: make(chan struct{}), unstick: make(chan struct{})}
}

func (w *stuckClient) Header() http.Header  { return w.header }
func (w *stuckClient) WriteHeader(code int) { w.status = code }
func (w *stuckClient) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.unstick
	return len(p), nil
}

// Two clients that stop reading their renders kept ~8 bytes a pixel each of the memory
// budget until their responses were written, so a third render got 503. Only their
// encoded bodies stay reserved now.
func TestSlowReadersDoNotHoldRenderMemory(t *testing.T) {
	photo := photoJPEG(t, 640, 480, 11)
	h, err := nails.ReadHeader(photo)
	require.NoError(t, err)
	one := h.DecodeBytes() + 8*h.Pixels() // what a whole-photo render is admitted with
	s := newTestServer(t, Config{MemoryBudget: one * 5 / 2, AdmitWait: 300 * time.Millisecond}, nil)
	waitReady(t, s)
	png := map[string]string{"format": "png"} // the whole-photo path: decode, paint, encode

	var stuck []*stuckClient
	done := make(chan struct{})
	for range 2 {
		w := newStuckClient()
		body, ct := multipartBody(t, "file", photo, png)
		req := httptest.NewRequest("POST", "/api/nails/render", body)
		req.Header.Set("Content-Type", ct)
		go func() {
			s.ServeHTTP(w, req)
			done <- struct{}{}
		}()
		select {
		case <-w.writing:
		case <-time.After(30 * time.Second):
			t.Fatal("the render never reached its response")
		}
		stuck = append(stuck, w)
	}
	rec := postImage(t, s, "/api/nails/render", photo, png)
	assert.Equal(t, http.StatusOK, rec.Code, "a render refused while others wait on slow readers: %s", rec.Body.String())

	for _, w := range stuck {
		close(w.unstick)
		<-done
		assert.Equal(t, http.StatusOK, w.status)
	}
	assert.True(t, s.memory.sem.TryAcquire(s.cfg.MemoryBudget), "every admitted byte was released")
	s.memory.release(s.cfg.MemoryBudget)
	assert.True(t, s.uploads.sem.TryAcquire(s.cfg.UploadBudget), "upload bytes released")
	s.uploads.release(s.cfg.UploadBudget)
}
