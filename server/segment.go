package server

import (
	"context"
	"encoding/base64"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nailtrt/nailtrt/nails"
)

// admitDecode reads the image header, refuses what the limits or the memory budget can
// never take, and reserves extra + the decode's bytes. Their release must follow a nil
// error.
func (s *Server) admitDecode(ctx context.Context, data []byte, extra func(nails.Header) int64) (nails.Header, *reservation, error) {
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
	held := &reservation{b: s.memory}
	if err := held.grow(ctx, n); err != nil {
		return h, nil, err // errNeverFits is a 422 like ErrTooLarge (classify)
	}
	return h, held, nil
}

// segmentation returns the nails of an image by model m, from the cache or by
// inference. photo may be nil (the bytes are decoded here, admitted by their estimated
// memory, only on a miss) or an already decoded photo of data whose memory the caller
// has admitted.
func (s *Server) segmentation(ctx context.Context, m *model, data []byte, photo *nails.Photo) (*nails.Result, bool, error) {
	wait, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	// With Config.Lazy the first request loads every model, not only its own: readiness
	// waits for all of them, and the next request may well want the other.
	for _, other := range s.models() {
		other.start()
	}
	ready, err := m.get(wait)
	if err != nil {
		return nil, false, err
	}
	key := cacheKey(data, ready.Manifest().CacheID())
	return s.cache.get(wait, key, photoSize(data, photo), func() (*nails.Result, error) {
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
		seg, release, err := m.hold()
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
	h, held, err := s.admitDecode(ctx, data, nil)
	if err != nil {
		return nil, err
	}
	defer held.release()
	return seg.SegmentHeader(ctx, data, h)
}

// NailJSON is one nail of a SegmentResponse: the Python app's fields (id, score,
// polygon, box, area), the optional COCO RLE mask, and contours with holes.
type NailJSON struct {
	ID       int           `json:"id"`
	Score    float64       `json:"score"`
	Polygon  []int         `json:"polygon,omitempty"`
	Box      [4]int        `json:"box"` // x0, y0, x1, y1 (exclusive)
	Area     int           `json:"area"`
	RLE      *nails.RLE    `json:"rle,omitempty"`
	Contours []ContourJSON `json:"contours,omitempty"`
	Class    string        `json:"class,omitempty"`
}

// ContourJSON is one ring of a nail's outline: x0, y0, x1, y1, ... in photo pixels;
// Hole marks an inner ring.
type ContourJSON struct {
	Points []int `json:"points"`
	Hole   bool  `json:"hole"`
}

// SegmentResponse is the JSON of POST /api/nails/segment (and `nailtrt segment`).
type SegmentResponse struct {
	Width     int                `json:"width"`
	Height    int                `json:"height"`
	Nails     []NailJSON         `json:"nails"`
	Model     string             `json:"model"`
	TimingsMS map[string]float64 `json:"timings_ms"`
	Cached    bool               `json:"cached"`
	MaskPNG   string             `json:"mask_png,omitempty"` // base64 PNG, pixel = nail id
	// Message says, when no nail was found, why and what photo works (absent otherwise:
	// the Python app's fields are unchanged, this one is added).
	Message string `json:"message,omitempty"`
}

// SegmentJSON formats a result for the API. mode is polygon, rle, png or none.
func SegmentJSON(res *nails.Result, mode string, classes []string) SegmentResponse {
	out := SegmentResponse{Width: res.Width, Height: res.Height, Model: res.Model, Nails: make([]NailJSON, 0, len(res.Nails)),
		Message: res.Message()}
	for i := range res.Nails {
		n := &res.Nails[i]
		j := NailJSON{ID: n.ID, Score: math.Round(n.Score*1e4) / 1e4, Area: n.Area,
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
				j.Contours = append(j.Contours, ContourJSON{Points: pts, Hole: ct.Hole})
			}
		}
		out.Nails = append(out.Nails, j)
	}
	return out
}

var ms = nails.Milliseconds

// pickModel is the model a segment request asks for: ?model=photo (the default) or
// live, which is the photo model when the server has no live model.
func (s *Server) pickModel(c *gin.Context) (*model, error) {
	switch name := c.DefaultQuery("model", "photo"); name {
	case "photo":
		return s.model, nil
	case "live":
		if s.live == nil {
			return s.model, nil
		}
		return s.live, nil
	default:
		return nil, newError(http.StatusBadRequest, "bad_model", "model=%q: want photo or live", name)
	}
}

// segment is POST /api/nails/segment[?mask=polygon|rle|png|none][&model=photo|live].
func (s *Server) segment(c *gin.Context) {
	t0 := time.Now()
	mode := c.DefaultQuery("mask", "polygon")
	switch mode {
	case "polygon", "rle", "png", "none":
	default:
		_ = c.Error(newError(http.StatusBadRequest, "bad_mask", "mask=%q: want polygon, rle, png or none", mode))
		return
	}
	m, err := s.pickModel(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	data, release, err := s.readImage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	defer release()
	res, cached, err := s.segmentation(c.Request.Context(), m, data, nil)
	if err != nil {
		_ = c.Error(err)
		return
	}
	release() // the upload is not needed to answer: a slow reader must not hold it
	classes := []string(nil)
	if _, seg, _ := m.status(); seg != nil {
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
