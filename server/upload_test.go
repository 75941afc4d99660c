package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A large multipart upload stays in memory: gin's ParseMultipartForm kept 8 MiB of a form
// in RAM and wrote the rest of a file to $TMPDIR (in Kubernetes a 64 Mi emptyDir, which
// four stalled uploads could fill and get the pod evicted).
func TestMultipartUploadNeverTouchesDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s := newTestServer(t, Config{Lazy: true}, nil) // body limit 20 MiB
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	require.NoError(t, mw.WriteField("format", "png"))
	_, err := mw.CreateFormFile("file", "big.jpg")
	require.NoError(t, err)

	pr, pw := io.Pipe()
	req := httptest.NewRequest("POST", "/api/nails/render", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		done <- rec
	}()
	_, err = pw.Write(head.Bytes())
	require.NoError(t, err)
	_, err = pw.Write(bytes.Repeat([]byte{0x5A}, 12<<20))
	require.NoError(t, err)
	// A pipe's Write returns once the reader has taken every byte: the server holds the
	// 12 MiB part and waits for the end of the form.
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the upload was written to $TMPDIR")

	_, err = pw.Write([]byte("\r\n--" + mw.Boundary() + "--\r\n"))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	rec := <-done
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code, "the whole file was read, then refused as no image: %s", rec.Body.String())
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries)
	assert.True(t, s.uploads.sem.TryAcquire(s.cfg.UploadBudget), "upload bytes released")
	s.uploads.release(s.cfg.UploadBudget)
}

// The form's fields reach the handler from the form read in memory (material, format).
func TestMultipartFieldsAreRead(t *testing.T) {
	s := newTestServer(t, Config{}, nil)
	waitReady(t, s)
	rec := postImage(t, s, "/api/nails/render", photoJPEG(t, 64, 48, 3), map[string]string{"format": "png", "material": "glossy_nude"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "image/png", rec.Header().Get("Content-Type"))
	assert.Equal(t, "glossy_nude", rec.Header().Get("X-Material"))

	body, ct := multipartBody(t, "file", photoJPEG(t, 64, 48, 3), map[string]string{"material": string(bytes.Repeat([]byte("x"), maxFieldSize+1))})
	rec = do(t, s, "POST", "/api/nails/render", body, ct)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "bad_form", decodeJSON[errorBody](t, rec).Error.Code)
}

// stalledUpload opens a connection, sends a request declaring a body of size bytes and
// only the first bytes of it, and leaves it there.
func stalledUpload(t *testing.T, addr string, multipartForm bool, size int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ct, first := "image/jpeg", "\xFF\xD8"
	if multipartForm {
		ct = "multipart/form-data; boundary=x"
		first = "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xFF\xD8"
	}
	_, err = fmt.Fprintf(conn, "POST /api/nails/segment HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", ct, size, first)
	require.NoError(t, err)
	return conn
}

func inFlight(s *Server) float64 {
	var m dto.Metric
	_ = s.metrics.inflight.Write(&m)
	return m.GetGauge().GetValue()
}

// Clients that declare large bodies and send two bytes held the whole declared size of
// the upload budget, so 16 of them made every other upload 503 for up to ReadTimeout.
// The budget now holds what has arrived: a normal upload is admitted while they sit open.
func TestStalledUploadsDoNotLockOthersOut(t *testing.T) {
	const stalled = 8
	s := newTestServer(t, Config{MaxBodyBytes: 1 << 20, UploadBudget: 4 << 20, AdmitWait: 300 * time.Millisecond,
		BodyStallTimeout: time.Minute}, nil)
	waitReady(t, s)
	srv := httptest.NewServer(s)
	defer srv.Close()
	var conns []net.Conn
	for i := range stalled {
		conns = append(conns, stalledUpload(t, srv.Listener.Addr().String(), i%2 == 1, 1<<20))
	}
	require.Eventually(t, func() bool { return inFlight(s) == stalled }, 10*time.Second, 5*time.Millisecond, "every stalled upload is being read")

	for i := range 3 {
		body, ct := multipartBody(t, "file", photoJPEG(t, 64, 48, uint8(i)), nil)
		resp, err := srv.Client().Post(srv.URL+"/api/nails/segment", ct, body)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "locked out by stalled uploads: %s", b)
	}
	assert.EqualValues(t, stalled, inFlight(s), "the stalled uploads are still open")

	for _, c := range conns {
		_ = c.Close()
	}
	require.Eventually(t, func() bool {
		if !s.uploads.sem.TryAcquire(s.cfg.UploadBudget) {
			return false
		}
		s.uploads.release(s.cfg.UploadBudget)
		return true
	}, 10*time.Second, 5*time.Millisecond, "what the stalled uploads held is released when they go")
}

// A body that sends nothing for NAILTRT_BODY_STALL_TIMEOUT is cut with a 408, and what it
// held is released, well before NAILTRT_READ_TIMEOUT.
func TestStalledBodyIsCut(t *testing.T) {
	s := newTestServer(t, Config{Lazy: true, BodyStallTimeout: 100 * time.Millisecond}, nil)
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, form := range []bool{false, true} {
		t.Run(fmt.Sprintf("multipart=%v", form), func(t *testing.T) {
			conn := stalledUpload(t, srv.Listener.Addr().String(), form, 1<<20)
			require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			assert.True(t, resp.Close, "the connection is not reused")
			b, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(b), "NAILTRT_BODY_STALL_TIMEOUT")
			require.Eventually(t, func() bool {
				if !s.uploads.sem.TryAcquire(s.cfg.UploadBudget) {
					return false
				}
				s.uploads.release(s.cfg.UploadBudget)
				return true
			}, 10*time.Second, 5*time.Millisecond)
		})
	}
}
