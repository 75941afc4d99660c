package testimg

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"
)

// Solid is a w x h RGBA photo of one colour.
func Solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

// Pattern has smooth gradients and some texture, like a photo, for codecs and
// resampling tests.
func Pattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := y*img.Stride + 4*x
			img.Pix[o] = uint8(x * 255 / max(1, w-1))
			img.Pix[o+1] = uint8(y * 255 / max(1, h-1))
			img.Pix[o+2] = uint8((x*7 + y*13) % 256)
			img.Pix[o+3] = 255
		}
	}
	return img
}

// JPEG encodes img with the standard library at quality q.
func JPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: q}))
	return b.Bytes()
}

// PNG encodes img with the standard library.
func PNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// Near reports whether a and b differ by at most tol.
func Near(a, b, tol int) bool { return a-b <= tol && b-a <= tol }

// RectNear reports whether every corner of r is within tol of (x0, y0)-(x1, y1).
func RectNear(r image.Rectangle, x0, y0, x1, y1, tol int) bool {
	return Near(r.Min.X, x0, tol) && Near(r.Min.Y, y0, tol) && Near(r.Max.X, x1, tol) && Near(r.Max.Y, y1, tol)
}

// BenchJPEG is a 1.2 MP (1280x960) photo-like JPEG, the size the benchmarks' targets
// are set for.
func BenchJPEG(t testing.TB) []byte {
	img := Pattern(1280, 960)
	for y := 0; y < 960; y++ {
		for x := 0; x < 1280; x++ {
			img.Pix[y*img.Stride+4*x+2] = uint8(90 + (x+y)/32)
		}
	}
	return JPEG(t, img, 90)
}
