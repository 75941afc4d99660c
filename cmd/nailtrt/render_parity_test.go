package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/server"
)

// The same request gives the same pixels from nailtrt render and from the server: both
// go through nails.PolishRequest (the polish) and nails.Output (in place or whole, at
// which quality). They differed: render --help's JPEG quality was 92 and the server's
// 90, a finish given with a preset was ignored by the server and used by the command,
// and the command refused --material with --color.
func TestCLIAndServerPaintTheSamePixels(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	photo := filepath.Join(root, "docs", "examples", "hand.jpg")
	dir := t.TempDir()
	// The same photo as a PNG: painted and encoded whole, at the default JPEG quality.
	jpg, err := os.ReadFile(photo)
	require.NoError(t, err)
	decoded, err := nails.Decode(jpg, nails.Limits{})
	require.NoError(t, err)
	var pngPhoto bytes.Buffer
	require.NoError(t, png.Encode(&pngPhoto, decoded.RGBA()))
	photoPNG := filepath.Join(dir, "hand.png")
	require.NoError(t, os.WriteFile(photoPNG, pngPhoto.Bytes(), 0o644))

	// A photo large enough to be decoded at a reduced size for the model, new to the
	// server when a quality is asked for: the server segmented its full decode then,
	// nailtrt render the reduced one, and the nails (and pixels) came out apart.
	large, err := benchkit.ScaledJPEG(jpg, 2016, 1512, 3)
	require.NoError(t, err)
	photoLarge := filepath.Join(dir, "hand-large.jpg")
	require.NoError(t, os.WriteFile(photoLarge, large, 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seg, err := segment.Open(ctx, segment.Config{Model: filepath.Join(root, "engines", "nailseg.json"), Backend: "onnxruntime"})
	require.NoError(t, err)
	srv := server.NewWithSegmenter(server.Config{}, seg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.Close()
	require.Eventually(t, srv.Ready, time.Minute, 10*time.Millisecond)

	for _, c := range []struct {
		name   string
		photo  string
		args   []string          // after render PHOTO
		fields map[string]string // the API's
		out    string
	}{
		{"defaults: painted in place", photo, nil, nil, "a.jpg"},
		{"custom matte", photo, []string{"--color", "#3a7bd5", "--finish", "matte"},
			map[string]string{"custom_color": "#3a7bd5", "finish": "matte"}, "b.jpg"},
		{"a preset refined", photo, []string{"--material", "metallic_gold", "--finish", "chrome", "--intensity", "0.6"},
			map[string]string{"material": "metallic_gold", "finish": "chrome", "intensity": "0.6"}, "c.jpg"},
		{"a colour on a preset", photo, []string{"--material", "french_classic", "--color", "#3a7bd5"},
			map[string]string{"material": "french_classic", "custom_color": "#3a7bd5"}, "d.jpg"},
		{"a quality asked for", photo, []string{"--jpeg-quality", "80", "--material", "cream_lilac"},
			map[string]string{"quality": "80", "material": "cream_lilac"}, "e.jpg"},
		{"a PNG photo to JPEG: the default quality", photoPNG, nil, nil, "f.jpg"},
		{"a large JPEG, a quality asked for first", photoLarge, []string{"--jpeg-quality", "85"},
			map[string]string{"quality": "85"}, "h.jpg"},
		{"PNG out", photo, []string{"--color", "#22aa44", "--glossiness", "0.3"},
			map[string]string{"format": "png", "material": "custom", "custom_color": "#22aa44", "glossiness": "0.3"}, "g.png"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, dir, append([]string{"render", c.photo, "-o", c.out}, c.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			cli, err := os.ReadFile(filepath.Join(dir, c.out))
			require.NoError(t, err)
			data, err := os.ReadFile(c.photo)
			require.NoError(t, err)
			body, ct := multipartForm(t, data, c.fields)
			req := httptest.NewRequest(http.MethodPost, "/api/nails/render", body).WithContext(ctx)
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, pixels(t, cli), pixels(t, rec.Body.Bytes()), "the command's pixels are the server's")
		})
	}
}

// multipartForm is a render request: the photo as "file" and the fields.
func multipartForm(t *testing.T, photo []byte, fields map[string]string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, err := w.CreateFormFile("file", "photo")
	require.NoError(t, err)
	_, err = part.Write(photo)
	require.NoError(t, err)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	require.NoError(t, w.Close())
	return &b, w.FormDataContentType()
}

func pixels(t *testing.T, data []byte) []uint8 {
	p, err := nails.Decode(data, nails.Limits{})
	require.NoError(t, err)
	return p.RGBA().Pix
}

// One JPEG quality default, defined once (nails.JPEGQualityOption): render --help showed
// 92 beside "unset: keeps its own", and the server used 90.
func TestOneJPEGQualityDefault(t *testing.T) {
	want := fmt.Sprintf("[NAILTRT_JPEG_QUALITY] (default %d)", nails.DefaultJPEGQuality)
	for _, cmd := range []string{"render", "serve"} {
		r := runCLI(t, t.TempDir(), cmd, "--help")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, want, cmd)
		assert.Equal(t, 1, strings.Count(r.stdout, "(default "+strconv.Itoa(nails.DefaultJPEGQuality)+")"), "%s: one JPEG quality default", cmd)
		assert.NotContains(t, r.stdout, "(default 92)", cmd)
	}
}
