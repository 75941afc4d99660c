package server

import (
	"bytes"
	"image/png"
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

func unitValue(c *gin.Context, key string, def float64) (float64, error) {
	v := strings.TrimSpace(formValue(c, key))
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	// !(f >= 0 && f <= 1) also refuses NaN, which every comparison lets through.
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, newError(http.StatusBadRequest, "bad_material", "%s=%q must be a number in 0..1", key, v)
	}
	return f, nil
}

// material reads the form's material: a preset name, or "custom" with custom_color,
// glossiness, metallic and intensity (the Python app's fields), and optionally finish.
func material(c *gin.Context) (nails.Material, error) {
	name := strings.TrimSpace(formValue(c, "material"))
	if name == "" {
		name = "glossy_red"
	}
	if name != "custom" {
		m, err := nails.LookupPreset(name)
		if err != nil {
			return m, newError(http.StatusBadRequest, "bad_material", "%v: use a name from GET /api/materials, or \"custom\" with custom_color", err)
		}
		return m, nil
	}
	color := formValue(c, "custom_color")
	if color == "" {
		return nails.Material{}, newError(http.StatusBadRequest, "bad_material", "material=custom needs custom_color (#rrggbb)")
	}
	g, err := unitValue(c, "glossiness", 0.7)
	if err != nil {
		return nails.Material{}, err
	}
	m, err := unitValue(c, "metallic", 0)
	if err != nil {
		return nails.Material{}, err
	}
	in, err := unitValue(c, "intensity", 1)
	if err != nil {
		return nails.Material{}, err
	}
	mat, err := nails.CustomMaterial(color, g, m, in)
	if err != nil {
		return mat, err
	}
	// Without finish, CustomMaterial picks one from glossiness and metallic (the Python
	// app's fields); with it, the finish asked for wins.
	if f := strings.TrimSpace(formValue(c, "finish")); f != "" {
		return mat.WithFinish(f)
	}
	return mat, nil
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
	format := strings.ToLower(formValue(c, "format"))
	if format == "" || format == "jpg" {
		format = "jpeg"
	}
	if format != "jpeg" && format != "png" {
		_ = c.Error(newError(http.StatusBadRequest, "bad_format", "format=%q: want jpeg or png", format))
		return
	}
	quality := s.cfg.JPEGQuality
	if q := formValue(c, "quality"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 || v > 100 {
			_ = c.Error(newError(http.StatusBadRequest, "bad_quality", "quality=%q must be 1..100", q))
			return
		}
		quality = v
	}
	// Decode once: the pixels are needed to paint, and the same photo feeds inference
	// on a cache miss. Admitted once for the whole request: decode, the painted RGBA
	// copy and the encoded output (at most 4 bytes a pixel again) are held together.
	h, free, err := s.admitDecode(c.Request.Context(), data, func(h nails.Header) int64 { return 8 * h.Pixels() })
	if err != nil {
		_ = c.Error(err)
		return
	}
	defer free()
	t := time.Now()
	photo, err := nails.DecodeHeader(c.Request.Context(), data, h, s.cfg.Limits)
	if err != nil {
		_ = c.Error(err)
		return
	}
	decode := time.Since(t)
	// Render always decodes (it paints the pixels), cache hit or not: counted every time.
	s.metrics.observeStage("decode", decode)
	res, cached, err := s.segmentation(c.Request.Context(), data, photo)
	if err != nil {
		_ = c.Error(err)
		return
	}
	t = time.Now()
	img, err := nails.Render(photo, res, mat)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.metrics.observeStage("render", time.Since(t))
	t = time.Now()
	var body []byte
	contentType := "image/jpeg"
	if format == "png" {
		contentType = "image/png"
		var buf bytes.Buffer
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		body = buf.Bytes()
	} else {
		body, err = nails.EncodeJPEG(img, quality)
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.metrics.observeStage("encode", time.Since(t))
	c.Header("X-Nail-Count", strconv.Itoa(len(res.Nails)))
	c.Header("X-Material", mat.Name)
	if cached {
		c.Header("X-Cache", "hit")
	} else {
		c.Header("X-Cache", "miss")
	}
	c.Data(http.StatusOK, contentType, body)
}
