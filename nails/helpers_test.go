package nails

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// solidPhoto is a w x h RGBA photo of one colour.
func solidPhoto(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

// patternPhoto has smooth gradients and some texture, like a photo, for codecs and
// resampling tests.
func patternPhoto(w, h int) *image.RGBA {
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

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: q}))
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// openFixture opens a decoder fixture model from testdata on the CPU.
func openFixture(t testing.TB, name string) *Segmenter {
	t.Helper()
	s, err := Open(context.Background(), Config{Model: filepath.Join("testdata", name+".json"), Backend: "onnxruntime", Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// datasetDir is ../shared/datasets/nails from the repository root, or NAILTRT_DATASET.
func datasetDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NAILTRT_DATASET")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "datasets", "nails")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.csv")); err != nil {
		t.Skipf("dataset not found at %s (set NAILTRT_DATASET): %v", dir, err)
	}
	return dir
}

// bundledModel is the committed model manifest; tests that need it skip without it.
func bundledModel(t testing.TB) string { return committedModel(t, "nailseg.json") }

func committedModel(t testing.TB, manifest string) string {
	t.Helper()
	p := filepath.Join("..", "engines", manifest)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("model %s not present: %v", p, err)
	}
	return p
}

func near(a, b, tol int) bool { return a-b <= tol && b-a <= tol }

func rectNear(r image.Rectangle, x0, y0, x1, y1, tol int) bool {
	return near(r.Min.X, x0, tol) && near(r.Min.Y, y0, tol) && near(r.Max.X, x1, tol) && near(r.Max.Y, y1, tol)
}
