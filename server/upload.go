package server

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Multipart forms are read here, part by part, into memory bounded by the body limit:
// never by ParseMultipartForm, which keeps only its maxMemory in RAM and writes the rest
// of a file to $TMPDIR (in Kubernetes a small emptyDir, whose overflow evicts the pod).
const (
	maxFormParts = 100      // the API reads a file and a few short fields
	maxFieldSize = 64 << 10 // a text field (material, colour, quality...)
)

// readImage returns the uploaded image: multipart field "file" (what the Python app's
// clients send), or the raw request body. The body is bounded by MaxBodyBytes, and the
// bytes held for bodies by all requests together by UploadBudget, reserved as they
// arrive: a client that declares a large body and sends it slowly holds only what it
// has sent. release must be called (once the bytes are no longer needed) after a nil
// error; calling it again does nothing.
func (s *Server) readImage(c *gin.Context) (data []byte, release func(), err error) {
	c.Set(bodyKey, c.Request.Body) // the lingering-close middleware drains it after a 413
	if c.Request.ContentLength > s.cfg.MaxBodyBytes {
		return nil, nil, &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes}
	}
	hold := &reservation{b: s.uploads}
	body := newStallReader(c.Request.Body, c.Writer, s.cfg.BodyStallTimeout)
	defer func() {
		body.stop()
		if body.stalled() {
			c.Header("Connection", "close") // its read deadline has passed: the connection is spent
		}
		if err != nil {
			hold.release()
		}
	}()
	c.Request.Body = http.MaxBytesReader(c.Writer, body, s.cfg.MaxBodyBytes)
	if strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		data, err = s.readMultipart(c, hold)
	} else if data, err = hold.readAll(c.Request.Context(), c.Request.Body, c.Request.ContentLength, s.cfg.MaxBodyBytes); err != nil {
		err = bodyError(err, "bad_body", "cannot read the request body")
	}
	if err != nil {
		return nil, nil, err
	}
	if len(data) == 0 {
		return nil, nil, newError(http.StatusBadRequest, "missing_file", "no image: send multipart field \"file\" or the image bytes as the body")
	}
	return data, hold.release, nil
}

// readMultipart reads the form's "file" part and its text fields, which it leaves where
// gin's PostForm finds them (so nothing parses the form again).
func (s *Server) readMultipart(c *gin.Context, hold *reservation) ([]byte, error) {
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, newError(http.StatusBadRequest, "bad_form", "cannot read the multipart form: %v", err)
	}
	ctx := c.Request.Context()
	values := url.Values{}
	var file []byte
	found := false
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bodyError(err, "bad_form", "cannot read the multipart form")
		}
		if parts == maxFormParts {
			return nil, newError(http.StatusBadRequest, "bad_form", "the multipart form has more than %d parts", maxFormParts)
		}
		switch name := p.FormName(); {
		case name == "file" && !found:
			// The request's length bounds the part's: its buffer grows to it at most.
			file, err = hold.readAll(ctx, p, c.Request.ContentLength, s.cfg.MaxBodyBytes)
			found = true
		case name == "" || p.FileName() != "":
			_, err = io.Copy(io.Discard, p) // not ours: read past it, holding nothing
		default:
			var v []byte
			if v, err = hold.readAll(ctx, p, -1, maxFieldSize); errors.Is(err, errOverLimit) {
				return nil, newError(http.StatusBadRequest, "bad_form", "form field %q is longer than %d bytes", name, maxFieldSize)
			}
			values.Add(name, string(v))
		}
		if err != nil {
			return nil, bodyError(err, "bad_form", "cannot read the multipart form")
		}
	}
	c.Request.PostForm = values
	c.Request.MultipartForm = &multipart.Form{Value: values}
	if !found {
		return nil, newError(http.StatusBadRequest, "missing_file", "multipart form has no \"file\" field")
	}
	return file, nil
}

// bodyError keeps the errors that say why a body ended (too large, stalled, out of
// budget, client gone) and makes any other a 400 with code.
func bodyError(err error, code, what string) error {
	var ae *apiError
	var mbe *http.MaxBytesError
	if errors.As(err, &ae) || errors.As(err, &mbe) || errors.Is(err, errNeverFits) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return newError(http.StatusBadRequest, code, "%s: %v", what, err)
}

// errOverLimit is a read past readAll's limit.
var errOverLimit = errors.New("longer than its limit")

// readAll reads r to its end into one buffer that grows, reserving each growth first, as
// the bytes arrive: by doubling, to hint (the size announced, >= 0 when known) at most
// while the body is within it, and never past limit. Reserving (or allocating) up front
// what a client merely announces let sixteen clients that sent two bytes each fill the
// budget; doubling costs a known-size body about one extra copy of itself.
func (h *reservation) readAll(ctx context.Context, r io.Reader, hint, limit int64) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			var probe []byte // a byte read to see whether a full buffer had ended
			if n := int64(len(buf)); n >= limit || n == hint {
				var one [1]byte
				k, err := io.ReadFull(r, one[:])
				if k == 0 {
					if errors.Is(err, io.EOF) {
						return buf, nil
					}
					return buf, err
				}
				if n >= limit {
					return buf, errOverLimit
				}
				probe = one[:]
			}
			next := max(2*int64(cap(buf)), 512)
			if hint > 0 {
				next = max(next, min(hint, 32<<10)) // a photo: skip the tiny steps
			}
			if hint > int64(cap(buf)) {
				next = min(next, hint)
			}
			next = min(next, limit)
			if err := h.grow(ctx, next-int64(cap(buf))); err != nil {
				return buf, err
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = append(grown, probe...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// stallReader cuts a request body that sends nothing for `after` (nginx's
// client_body_timeout): a read that waits longer ends, by moving the connection's read
// deadline to now, with a 408. The whole request stays bounded by ReadTimeout; the timer
// runs only inside a read, never while the request waits for budget. stop must be called
// before the handler returns: no deadline is moved after it.
type stallReader struct {
	io.ReadCloser
	after time.Duration
	timer *time.Timer

	mu             sync.Mutex
	fired, stopped bool
}

func newStallReader(body io.ReadCloser, w http.ResponseWriter, after time.Duration) *stallReader {
	s := &stallReader{ReadCloser: body, after: after}
	rc := http.NewResponseController(w)
	s.timer = time.AfterFunc(after, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.stopped {
			s.fired = true
			_ = rc.SetReadDeadline(time.Now()) // unsupported (a test recorder): nothing to cut
		}
	})
	s.timer.Stop()
	return s
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.stalled() {
		return 0, s.err()
	}
	s.timer.Reset(s.after)
	n, err := s.ReadCloser.Read(p)
	s.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) && s.stalled() {
		err = s.err()
	}
	return n, err
}

func (s *stallReader) err() error {
	return newError(http.StatusRequestTimeout, "body_timeout",
		"nothing of the request body arrived for %s (NAILTRT_BODY_STALL_TIMEOUT)", s.after)
}

func (s *stallReader) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.timer.Stop()
}

func (s *stallReader) stalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}
