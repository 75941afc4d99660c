package server

import (
	"context"
	"image"
	"image/png"
	"math"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails"
)

// oneNail is a fake model's answer: one upright elliptical nail in the middle.
func oneNail(ctx context.Context, p *nails.Photo) (*nails.Result, error) {
	box := image.Rect(p.Width/2-14, p.Height/2-28, p.Width/2+14, p.Height/2+28)
	m := &nails.Mask{Rect: box, Alpha: make([]uint8, box.Dx()*box.Dy())}
	area := 0
	for y := range box.Dy() {
		for x := range box.Dx() {
			dx, dy := (float64(x)+0.5-14)/13, (float64(y)+0.5-28)/27
			if math.Hypot(dx, dy) <= 1 {
				m.Alpha[y*box.Dx()+x] = 255
				area++
			}
		}
	}
	return &nails.Result{Width: p.Width, Height: p.Height, Nails: []nails.Nail{{ID: 1, Score: 0.9, Box: box, Area: area, Mask: m}}}, nil
}

// renderPNG posts a render with format=png and returns its pixels and headers.
func renderPNG(t *testing.T, s http.Handler, photo []byte, fields map[string]string) (*image.RGBA, http.Header) {
	t.Helper()
	f := map[string]string{"format": "png"}
	for k, v := range fields {
		f[k] = v
	}
	rec := postImage(t, s, "/api/nails/render", photo, f)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	img, err := png.Decode(rec.Body)
	require.NoError(t, err)
	out := image.NewRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out, rec.Header()
}

// The render paints what nails.PolishRequest makes of the form's fields (the rules
// nailtrt render follows too): a custom colour without material=custom is custom (it was
// ignored: glossy red), a matte finish keeps its own gloss (a custom colour's default
// 0.7 made it shiny), fields given with a preset refine it; the seed app's requests
// (material=custom + custom_color + knobs) paint as before.
func TestRenderFollowsThePolishRules(t *testing.T) {
	s := newFakeServer(t, Config{}, &fakeSegmenter{segment: oneNail})
	photoBytes := photoJPEG(t, 128, 96, 2)
	photo, err := nails.Decode(photoBytes, nails.Limits{})
	require.NoError(t, err)
	res, err := oneNail(context.Background(), photo)
	require.NoError(t, err)
	gl := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name    string
		fields  map[string]string
		want    nails.PolishRequest
		xMat    string
		notLike map[string]string // a request that must paint differently
	}{
		{"colour alone is custom", map[string]string{"custom_color": "#3a7bd5"}, nails.PolishRequest{Preset: "custom", Color: "#3a7bd5"}, "custom",
			map[string]string{}},
		{"seed app custom", map[string]string{"material": "custom", "custom_color": "#3a7bd5", "glossiness": "0.8", "intensity": "0.9"},
			nails.PolishRequest{Preset: "custom", Color: "#3a7bd5", Glossiness: gl(0.8), Intensity: gl(0.9)}, "custom", nil},
		{"matte is not shiny", map[string]string{"material": "custom", "custom_color": "#3a7bd5", "finish": "matte"},
			nails.PolishRequest{Color: "#3a7bd5", Finish: "matte"}, "custom",
			map[string]string{"material": "custom", "custom_color": "#3a7bd5", "finish": "matte", "glossiness": "0.7"}},
		{"preset with a finish", map[string]string{"material": "glossy_red", "finish": "matte"},
			nails.PolishRequest{Preset: "glossy_red", Finish: "matte"}, "glossy_red", map[string]string{"material": "glossy_red"}},
		{"colour on a preset", map[string]string{"material": "french_classic", "custom_color": "#3a7bd5"},
			nails.PolishRequest{Preset: "french_classic", Color: "#3a7bd5"}, "custom", map[string]string{"material": "french_classic"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, hdr := renderPNG(t, s, photoBytes, c.fields)
			assert.Equal(t, c.xMat, hdr.Get("X-Material"))
			assert.Equal(t, "1", hdr.Get("X-Nail-Count"))
			assert.Empty(t, hdr.Get("X-Nail-Message"), "nails were found")
			m, err := c.want.Material()
			require.NoError(t, err)
			want, err := nails.Render(photo, res, m)
			require.NoError(t, err)
			assert.Equal(t, want.Pix, got.Pix, "the library's pixels for the same polish")
			if c.notLike != nil {
				other, _ := renderPNG(t, s, photoBytes, c.notLike)
				assert.NotEqual(t, other.Pix, got.Pix, "differs from %v", c.notLike)
			}
		})
	}
	rec := postImage(t, s, "/api/nails/render", photoBytes, map[string]string{"material": "custom"})
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, decodeJSON[errorBody](t, rec).Error.Message, "material=custom needs custom_color")
	rec = postImage(t, s, "/api/nails/render", photoBytes, map[string]string{"material": "zebra", "custom_color": "#3a7bd5"})
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "bad_material", decodeJSON[errorBody](t, rec).Error.Code)
}

// A photo with no nails: segment says so in "message" (the Python app's fields as they
// were, one added), and render returns the photo unpainted, 200, with X-Nail-Count 0 and
// X-Nail-Message saying why and what photo works. With nails, neither appears.
func TestNoNailsSaysSo(t *testing.T) {
	s := newFakeServer(t, Config{}, &fakeSegmenter{}) // finds nothing
	photoBytes := photoJPEG(t, 128, 96, 4)
	rec := postImage(t, s, "/api/nails/segment", photoBytes, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body := decodeJSON[map[string]any](t, rec)
	assert.Equal(t, nails.NoNailsMessage, body["message"])
	assert.Equal(t, []any{}, body["nails"], "nails stays an empty list")
	for _, key := range []string{"width", "height", "model", "timings_ms", "cached"} {
		assert.Contains(t, body, key)
	}

	photo, err := nails.Decode(photoBytes, nails.Limits{})
	require.NoError(t, err)
	got, hdr := renderPNG(t, s, photoBytes, nil)
	assert.Equal(t, "0", hdr.Get("X-Nail-Count"))
	assert.Equal(t, nails.NoNailsMessage, hdr.Get("X-Nail-Message"))
	assert.Equal(t, photo.RGBA().Pix, got.Pix, "the photo, unpainted")
	rec = postImage(t, s, "/api/nails/render", photoBytes, nil) // painted in place: the same header
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, nails.NoNailsMessage, rec.Header().Get("X-Nail-Message"))

	found := newFakeServer(t, Config{}, &fakeSegmenter{segment: oneNail})
	body = decodeJSON[map[string]any](t, postImage(t, found, "/api/nails/segment", photoBytes, nil))
	assert.NotContains(t, body, "message")
}
