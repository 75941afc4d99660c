package segment

import (
	"context"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

// The three kinds of photo a newcomer sent that models before 3.0.0 painted as one
// huge "nail" (issue 33: a landscape gradient, a sunset, a plain green image), made
// here, through the three bundled models: none may find a nail. tools/eval's no-hand
// set (wallpapers and generated scenes) measures the rest.
func TestNoHandPhotosGetNoNails(t *testing.T) {
	const w, h = 800, 600
	gradient := image.NewRGBA(image.Rect(0, 0, w, h))
	sunset := image.NewRGBA(image.Rect(0, 0, w, h))
	green := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			t := float64(y) / h
			gradient.Set(x, y, color.RGBA{uint8(90 + 150*t), uint8(150 + 90*t), uint8(230 - 40*t), 255})
			// An orange-to-purple sky, a sun low over a dark horizon.
			c := color.RGBA{uint8(250 - 120*t), uint8(150 - 110*t), uint8(60 + 90*t), 255}
			if d := math.Hypot(float64(x-w/2), float64(y-h*2/3)); d < 70 {
				c = color.RGBA{255, 220, 120, 255}
			}
			if y > h*3/4 {
				c = color.RGBA{40, 25, 30, 255}
			}
			sunset.Set(x, y, c)
			green.Set(x, y, color.RGBA{70, uint8(150 + (x*7+y*13)%9), 60, 255})
		}
	}
	photos := map[string]image.Image{"gradient": gradient, "sunset": sunset, "green": green}
	for _, model := range []string{BuiltinPrefix + "nailseg", BuiltinPrefix + "nailseg-int8", BuiltinPrefix + "nailseg-live"} {
		t.Run(model, func(t *testing.T) {
			s, err := Open(context.Background(), Config{Model: model, Backend: "onnxruntime", Threads: 1, Contexts: 1})
			require.NoError(t, err)
			defer s.Close()
			for name, img := range photos {
				res, err := s.Segment(context.Background(), testimg.JPEG(t, img, 90))
				require.NoError(t, err)
				assert.Empty(t, res.Nails, "%s: a photo with no hand", name)
			}
		})
	}
}
