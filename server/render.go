package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nailtrt/nailtrt/nails"
)

// formValue reads a field from the multipart form or the query string.
func formValue(c *gin.Context, key string) string {
	if v := c.PostForm(key); v != "" {
		return v
	}
	return c.Query(key)
}

// unitValue reads a 0..1 form field; nil when the request does not give it.
func unitValue(c *gin.Context, key string) (*float64, error) {
	v := strings.TrimSpace(formValue(c, key))
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	// !(f >= 0 && f <= 1) also refuses NaN, which every comparison lets through.
	if err != nil || !(f >= 0 && f <= 1) {
		return nil, newError(http.StatusBadRequest, "bad_material", "%s=%q must be a number in 0..1", key, v)
	}
	return &f, nil
}

// material reads the form's polish (the Python app's fields: material, custom_color,
// glossiness, metallic, intensity; and finish) and makes it a Material by the rules of
// nails.PolishRequest, which nailtrt render follows too.
func material(c *gin.Context) (nails.Material, error) {
	req := nails.PolishRequest{
		Preset: formValue(c, "material"),
		Color:  formValue(c, "custom_color"),
		Finish: formValue(c, "finish"),
	}
	for _, f := range []struct {
		key string
		dst **float64
	}{{"glossiness", &req.Glossiness}, {"metallic", &req.Metallic}, {"intensity", &req.Intensity}} {
		v, err := unitValue(c, f.key)
		if err != nil {
			return nails.Material{}, err
		}
		*f.dst = v
	}
	m, err := req.Material()
	switch {
	case err == nil:
		return m, nil
	case strings.EqualFold(strings.TrimSpace(req.Preset), "custom") && strings.TrimSpace(req.Color) == "":
		return m, newError(http.StatusBadRequest, "bad_material", "material=custom needs custom_color (#rrggbb)")
	case errors.Is(err, nails.ErrUnknownMaterial):
		return m, newError(http.StatusBadRequest, "bad_material", "%v: use a name from GET /api/materials, or custom_color (#rrggbb) for a colour of your own", err)
	}
	return m, err
}

// render is POST /api/nails/render: the photo with polish painted on, as JPEG (or PNG
// with format=png). The segmentation comes from the same cache as /segment, so a photo
// segmented before is never inferred again.
func (s *Server) render(c *gin.Context) {
	data, release, err := s.readImage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	defer release()
	mat, err := material(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out, err := s.renderOutput(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	// A JPEG back for a JPEG sent, at the photo's own quality: painted in place (the
	// policy is nails.Output's, which nailtrt render follows through nails.RenderFile).
	if out.InPlace() {
		held := &reservation{b: s.memory}
		defer held.release()
		painted, err := s.renderInPlace(c.Request.Context(), data, mat, held)
		if err != nil {
			_ = c.Error(err)
			return
		}
		if painted != nil {
			release() // only the painted JPEG is needed now, and held keeps its bytes
			s.sendRender(c, "image/jpeg", painted.body, painted.res, mat, painted.cached)
			return
		}
	}
	s.renderWhole(c, data, release, mat, out)
}

// renderOutput reads the form's format and quality (a 400 when they are bad).
func (s *Server) renderOutput(c *gin.Context) (nails.Output, error) {
	out := nails.Output{Format: formValue(c, "format"), DefaultQuality: s.cfg.JPEGQuality}
	if q := formValue(c, "quality"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 || v > 100 {
			return out, newError(http.StatusBadRequest, "bad_quality", "quality=%q must be 1..100", q)
		}
		out.Quality = v
	}
	out, err := out.Check()
	if err != nil {
		return out, newError(http.StatusBadRequest, "bad_format", "%v", err)
	}
	return out, nil
}

// renderWhole paints the photo decoded whole and encodes it as out says: every photo
// renderInPlace does not edit. release gives the upload back.
func (s *Server) renderWhole(c *gin.Context, data []byte, release func(), mat nails.Material, out nails.Output) {
	// Decode once: the pixels are needed to paint, and the same photo feeds inference
	// on a cache miss. Admitted once for the whole request: decode, the painted RGBA
	// copy and the encoded output (at most 4 bytes a pixel again) are held together.
	h, held, err := s.admitDecode(c.Request.Context(), data, func(h nails.Header) int64 { return 8 * h.Pixels() })
	if err != nil {
		_ = c.Error(err)
		return
	}
	defer held.release()
	t := time.Now()
	photo, err := nails.DecodeHeader(c.Request.Context(), data, h, s.cfg.Limits)
	if err != nil {
		_ = c.Error(err)
		return
	}
	decode := time.Since(t)
	// Render always decodes (it paints the pixels), cache hit or not: counted every time.
	s.metrics.observeStage("decode", decode)
	// A photo's nails are a function of its bytes, whichever route asks first: a JPEG
	// is segmented from its decode at the model's size, as /segment, the in-place render
	// and nailtrt render do (a full decode can find masks a model pixel apart, which the
	// cache would then hand to them all). Other formats decode whole either way.
	segPhoto := photo
	if h.Format == "jpeg" {
		segPhoto = nil
	}
	res, cached, err := s.segmentation(c.Request.Context(), s.model, data, segPhoto)
	if err != nil {
		_ = c.Error(err)
		return
	}
	body, err := s.paintAndEncode(photo, res, mat, out)
	if err != nil {
		_ = c.Error(err)
		return
	}
	// Only the encoded body is left to send, and a client may read it slowly: keep its
	// bytes reserved, give the pixels' share and the upload back to everyone else now.
	held.shrinkTo(int64(len(body)))
	release()
	s.sendRender(c, out.ContentType(), body, res, mat, cached)
}

// paintAndEncode paints res's nails on photo with mat and encodes the painted photo,
// timing each stage.
func (s *Server) paintAndEncode(photo *nails.Photo, res *nails.Result, mat nails.Material, out nails.Output) ([]byte, error) {
	t := time.Now()
	img, err := nails.Render(photo, res, mat)
	if err != nil {
		return nil, err
	}
	s.metrics.observeStage("render", time.Since(t))
	t = time.Now()
	body, err := out.Encode(img)
	if err != nil {
		return nil, err
	}
	s.metrics.observeStage("encode", time.Since(t))
	return body, nil
}

// sendRender answers with the painted photo. With no nails it is the photo unpainted,
// 200 as before (the Python app's clients read X-Nail-Count), and X-Nail-Message says
// why and what photo works.
func (s *Server) sendRender(c *gin.Context, contentType string, body []byte, res *nails.Result, mat nails.Material, cached bool) {
	c.Header("X-Nail-Count", strconv.Itoa(len(res.Nails)))
	if msg := res.Message(); msg != "" {
		c.Header("X-Nail-Message", msg)
	}
	c.Header("X-Material", mat.Name)
	if cached {
		c.Header("X-Cache", "hit")
	} else {
		c.Header("X-Cache", "miss")
	}
	c.Data(http.StatusOK, contentType, body)
}

// paintedJPEG is what renderInPlace painted: the body to send and the segmentation
// painted (from the cache or not).
type paintedJPEG struct {
	body   []byte
	res    *nails.Result
	cached bool
}

// renderInPlace paints a JPEG without decoding or encoding it whole (nails.RenderJPEG):
// the segmentation comes from the cache, or from a decode at the model's size on a
// miss, and only the blocks under the nails are re-encoded. A 12 MP photo costs a
// fraction of a full decode + encode, and the photo keeps its own compression outside
// the nails. The memory it paints with is reserved in held, which keeps the painted
// body's bytes when it returns (for the caller to release once sent). It returns nil
// (and nothing is held) for photos it does not edit: not a colour JPEG, or a layout
// RenderJPEG leaves to the whole-photo path.
func (s *Server) renderInPlace(ctx context.Context, data []byte, mat nails.Material, held *reservation) (*paintedJPEG, error) {
	h, err := nails.ReadHeader(data)
	if err != nil || h.Format != "jpeg" || h.Components != 3 {
		return nil, nil // the whole-photo path reports what is wrong
	}
	if err := s.cfg.Limits.Check(h); err != nil {
		return nil, err
	}
	res, cached, err := s.segmentation(ctx, s.model, data, nil)
	if err != nil {
		return nil, err
	}
	// Held while painting: the photo's coefficients (2 bytes a sample, at most 6 a
	// pixel), the painted regions and the output.
	if err := held.grow(ctx, 6*h.Pixels()+2*int64(len(data))); err != nil {
		return nil, err
	}
	t := time.Now()
	body, ok, err := nails.RenderJPEG(data, res, mat)
	if !ok || err != nil {
		held.release()
		return nil, err
	}
	s.metrics.observeStage("render", time.Since(t))
	held.shrinkTo(int64(len(body)))
	return &paintedJPEG{body: body, res: res, cached: cached}, nil
}
