package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nailtrt/nailtrt/nails"
)

// readImage returns the uploaded image: multipart field "file" (what the Python app's
// clients send), or the raw request body. The body is bounded by MaxBodyBytes, and the
// bytes held for bodies by all requests together by UploadBudget: release must be
// called (once the bytes are no longer needed) after a nil error.
func (s *Server) readImage(c *gin.Context) (data []byte, release func(), err error) {
	c.Set(bodyKey, c.Request.Body) // the lingering-close middleware drains it after a 413
	if c.Request.ContentLength > s.cfg.MaxBodyBytes {
		return nil, nil, &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes}
	}
	reserve := s.cfg.MaxBodyBytes
	if c.Request.ContentLength >= 0 {
		reserve = c.Request.ContentLength
	}
	if err := s.uploads.acquire(c.Request.Context(), reserve); err != nil {
		return nil, nil, err
	}
	free := func() { s.uploads.release(reserve) }
	defer func() {
		if err != nil {
			free()
		}
	}()
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes)
	if strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		data, err = s.readMultipart(c)
	} else if data, err = readSized(c.Request.Body, c.Request.ContentLength); err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = newError(http.StatusBadRequest, "bad_body", "cannot read the request body: %v", err)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if len(data) == 0 {
		return nil, nil, newError(http.StatusBadRequest, "missing_file", "no image: send multipart field \"file\" or the image bytes as the body")
	}
	return data, free, nil
}

// readSized reads r to its end into one buffer of size bytes (plus the slack a read needs
// to see the end) when size is known (>= 0; the caller has bounded it): io.ReadAll grows
// its buffer by doubling, which for a 1 MB photo allocates and copies 2.3 MB.
func readSized(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	var b bytes.Buffer
	b.Grow(int(size) + bytes.MinRead)
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// readMultipart reads the form's "file" part.
func (s *Server) readMultipart(c *gin.Context) ([]byte, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		if errors.Is(err, http.ErrMissingFile) {
			return nil, newError(http.StatusBadRequest, "missing_file", "multipart form has no \"file\" field")
		}
		return nil, newError(http.StatusBadRequest, "bad_form", "cannot read the multipart form: %v", err)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, newError(http.StatusBadRequest, "bad_form", "cannot read the uploaded file")
	}
	defer f.Close()
	data, err := readSized(io.LimitReader(f, s.cfg.MaxBodyBytes+1), fh.Size)
	if err != nil {
		return nil, newError(http.StatusBadRequest, "bad_form", "cannot read the uploaded file")
	}
	return data, nil
}

// admitDecode reads the image header, refuses what the limits or the memory budget can
// never take, and reserves extra + the decode's bytes. release must follow a nil error.
func (s *Server) admitDecode(ctx context.Context, data []byte, extra func(nails.Header) int64) (nails.Header, func(), error) {
	h, err := nails.ReadHeader(data)
	if err != nil {
		return h, nil, err
	}
	if err := s.cfg.Limits.Check(h); err != nil {
		return h, nil, err
	}
	n := h.DecodeBytes()
	if extra != nil {
		n += extra(h)
	}
	if err := s.memory.acquire(ctx, n); err != nil {
		return h, nil, err // errNeverFits is a 422 like ErrTooLarge (classify)
	}
	return h, func() { s.memory.release(n) }, nil
}

// segmentation returns the nails of an image, from the cache or by inference. photo may
// be nil (the bytes are decoded here, admitted by their estimated memory, only on a
// miss) or an already decoded photo of data whose memory the caller has admitted.
func (s *Server) segmentation(ctx context.Context, data []byte, photo *nails.Photo) (*nails.Result, bool, error) {
	wait, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	ready, err := s.model.get(wait)
	if err != nil {
		return nil, false, err
	}
	key := cacheKey(data, ready.Manifest().CacheID())
	return s.cache.get(wait, key, func() (*nails.Result, error) {
		if err := s.limit.acquire(); err != nil {
			return nil, err
		}
		defer s.limit.release()
		// Shared by every request waiting on this key: one client leaving must not
		// cancel the others' answer, so only the deadline applies. The model is held
		// here, by the work itself, so shutdown waits for it even when every client
		// that asked has gone.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RequestTimeout)
		defer cancel()
		seg, release, err := s.model.hold()
		if err != nil {
			return nil, err
		}
		defer release()
		res, err := s.segmentOn(ictx, seg, data, photo)
		if err != nil {
			return nil, err
		}
		s.metrics.observeStages(res.Timings)
		return res, nil
	})
}

// segmentOn is seg's answer for photo, or, when photo is nil, for data decoded (once
// admitDecode has admitted its memory) at the size the model needs: a 12 MP JPEG
// decodes at 1/4, and the masks come out in full-size photo coordinates all the same.
func (s *Server) segmentOn(ctx context.Context, seg Segmenter, data []byte, photo *nails.Photo) (*nails.Result, error) {
	if photo != nil {
		return seg.SegmentPhoto(ctx, photo)
	}
	h, free, err := s.admitDecode(ctx, data, nil)
	if err != nil {
		return nil, err
	}
	defer free()
	return seg.SegmentHeader(ctx, data, h)
}

type nailJSON struct {
	ID       int           `json:"id"`
	Score    float64       `json:"score"`
	Polygon  []int         `json:"polygon,omitempty"`
	Box      [4]int        `json:"box"` // x0, y0, x1, y1 (exclusive)
	Area     int           `json:"area"`
	RLE      *nails.RLE    `json:"rle,omitempty"`
	Contours []contourJSON `json:"contours,omitempty"`
	Class    string        `json:"class,omitempty"`
}

type contourJSON struct {
	Points []int `json:"points"`
	Hole   bool  `json:"hole"`
}

// SegmentResponse is the JSON of POST /api/nails/segment (and `nailtrt segment`).
type SegmentResponse struct {
	Width     int                `json:"width"`
	Height    int                `json:"height"`
	Nails     []nailJSON         `json:"nails"`
	Model     string             `json:"model"`
	TimingsMS map[string]float64 `json:"timings_ms"`
	Cached    bool               `json:"cached"`
	MaskPNG   string             `json:"mask_png,omitempty"` // base64 PNG, pixel = nail id
}

// SegmentJSON formats a result for the API. mode is polygon, rle, png or none.
func SegmentJSON(res *nails.Result, mode string, classes []string) SegmentResponse {
	out := SegmentResponse{Width: res.Width, Height: res.Height, Model: res.Model, Nails: make([]nailJSON, 0, len(res.Nails))}
	for i := range res.Nails {
		n := &res.Nails[i]
		j := nailJSON{ID: n.ID, Score: math.Round(n.Score*1e4) / 1e4, Area: n.Area,
			Box: [4]int{n.Box.Min.X, n.Box.Min.Y, n.Box.Max.X, n.Box.Max.Y}}
		if len(classes) > 1 && n.Class < len(classes) {
			j.Class = classes[n.Class]
		}
		if mode != "none" {
			j.Polygon = n.Polygon()
		}
		if mode == "rle" {
			r := n.Mask.RLE(res.Width, res.Height)
			j.RLE = &r
		}
		if mode == "polygon" && len(n.Contours) > 1 {
			for _, ct := range n.Contours {
				pts := make([]int, 0, 2*len(ct.Points))
				for _, p := range ct.Points {
					pts = append(pts, p.X, p.Y)
				}
				j.Contours = append(j.Contours, contourJSON{Points: pts, Hole: ct.Hole})
			}
		}
		out.Nails = append(out.Nails, j)
	}
	return out
}

var ms = nails.Milliseconds

// segment is POST /api/nails/segment[?mask=polygon|rle|png|none].
func (s *Server) segment(c *gin.Context) {
	t0 := time.Now()
	mode := c.DefaultQuery("mask", "polygon")
	switch mode {
	case "polygon", "rle", "png", "none":
	default:
		_ = c.Error(newError(http.StatusBadRequest, "bad_mask", "mask=%q: want polygon, rle, png or none", mode))
		return
	}
	data, release, err := s.readImage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	defer release()
	res, cached, err := s.segmentation(c.Request.Context(), data, nil)
	if err != nil {
		_ = c.Error(err)
		return
	}
	classes := []string(nil)
	if _, seg, _ := s.model.status(); seg != nil {
		classes = seg.Manifest().Classes
	}
	out := SegmentJSON(res, mode, classes)
	out.Cached = cached
	if mode == "png" {
		// The label image (a byte a pixel) and its PNG: admitted like any other pixels.
		n := 2 * int64(res.Width) * int64(res.Height)
		if err := s.memory.acquire(c.Request.Context(), n); err != nil {
			_ = c.Error(err)
			return
		}
		png, err := res.LabelPNG()
		s.memory.release(n)
		if err != nil {
			_ = c.Error(err)
			return
		}
		out.MaskPNG = base64.StdEncoding.EncodeToString(png)
	}
	out.TimingsMS = map[string]float64{}
	if !cached {
		out.TimingsMS = res.Timings.Milliseconds()
	}
	out.TimingsMS["total"] = ms(time.Since(t0))
	c.JSON(http.StatusOK, out)
}
