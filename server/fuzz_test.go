package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// Any body under any multipart boundary is read to image bytes or refused with a
// client error (400/413); nothing panics and the upload budget is always returned.
//
//nailtrt:fuzz-execs 10000 (each input goes through a multipart parse)
func FuzzReadImage(f *testing.F) {
	body, ct := multipartBody(f, "file", []byte("\xFF\xD8\xFFimage"), map[string]string{"material": "glossy_red"})
	f.Add(body.Bytes(), ct)
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n--x--\r\n"), "multipart/form-data; boundary=x")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"), "multipart/form-data; boundary=x")
	f.Add([]byte("raw bytes"), "image/jpeg")
	f.Add([]byte{}, "multipart/form-data")
	cfg, err := Config{MaxBodyBytes: 4 << 10}.withDefaults()
	require.NoError(f, err)
	s := &Server{cfg: cfg, uploads: newBudget("upload", "NAILTRT_UPLOAD_BUDGET", 1<<20, time.Second, 4)}
	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest("POST", "/api/nails/segment", bytes.NewReader(data))
		c.Request.Header.Set("Content-Type", contentType)
		img, release, err := s.readImage(c)
		if err == nil {
			if len(img) == 0 || release == nil {
				t.Fatalf("no error, but %d bytes and release %v", len(img), release != nil)
			}
			release()
		} else {
			var ae *apiError
			var mbe *http.MaxBytesError
			if !errors.As(err, &ae) && !errors.As(err, &mbe) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			if st := classify(err).Status; st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d for a bad upload: %v", st, err)
			}
		}
		if !s.uploads.sem.TryAcquire(1 << 20) {
			t.Fatal("upload budget not returned")
		}
		s.uploads.release(1 << 20)
	})
}
