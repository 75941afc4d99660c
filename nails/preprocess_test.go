package nails

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

var testInput = InputSpec{Height: 64, Width: 64, Layout: "NCHW", Color: "RGB", Scale: 1.0 / 255,
	Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}, Resize: "letterbox", Pad: [3]float64{124, 116, 104}}

func TestGeometry(t *testing.T) {
	cases := []struct {
		w, h           int
		in             InputSpec
		dx, dy, nw, nh int
	}{
		{128, 96, testInput, 0, 8, 64, 48},
		{96, 128, testInput, 8, 0, 48, 64},
		{64, 64, testInput, 0, 0, 64, 64},
		{1079, 607, InputSpec{Width: 384, Height: 384, Resize: "letterbox"}, 0, 84, 384, 216},
		{259, 194, InputSpec{Width: 384, Height: 384, Resize: "letterbox"}, 0, 48, 384, 288},
		{100, 50, InputSpec{Width: 64, Height: 64, Resize: "stretch"}, 0, 0, 64, 64},
	}
	for _, c := range cases {
		g := NewGeometry(c.w, c.h, c.in)
		assert.Equal(t, [4]int{c.dx, c.dy, c.nw, c.nh}, [4]int{g.DX, g.DY, g.NW, g.NH}, "%dx%d", c.w, c.h)
		// Model <-> photo maps are inverse.
		assert.InDelta(t, 17.25, g.PhotoX(g.ModelX(17.25)), 1e-9)
		assert.InDelta(t, 3.5, g.PhotoY(g.ModelY(3.5)), 1e-9)
		assert.InDelta(t, 0, g.PhotoX(float64(g.DX)), 1e-9)
		assert.InDelta(t, float64(c.w), g.PhotoX(float64(g.DX+g.NW)), 1e-9)
	}
}

func TestPreprocessSolidAndPadding(t *testing.T) {
	p := NewPhoto(testimg.Solid(128, 96, color.RGBA{200, 100, 50, 255}))
	g := NewGeometry(p.Width, p.Height, testInput)
	dst := make([]float32, 3*64*64)
	require.NoError(t, Preprocess(p, g, testInput, dst))
	want := func(v float64, c int) float32 { return float32((v/255 - testInput.Mean[c]) / testInput.Std[c]) }
	plane := 64 * 64
	for c, v := range []float64{200, 100, 50} {
		assert.InDelta(t, want(v, c), dst[c*plane+32*64+32], 1e-4, "content channel %d", c)
		assert.InDelta(t, want(testInput.Pad[c], c), dst[c*plane+2*64+5], 1e-4, "padding channel %d", c)
	}
	bgr := testInput
	bgr.Color = "BGR"
	require.NoError(t, Preprocess(p, g, bgr, dst))
	assert.InDelta(t, float32((50.0/255-bgr.Mean[0])/bgr.Std[0]), dst[32*64+32], 1e-4, "BGR puts blue first")
	assert.Error(t, Preprocess(p, g, testInput, dst[:10]))
}

// A JPEG decodes to *image.YCbCr; its fast path must agree with the RGBA path on the
// same pixels, and an oriented photo must preprocess like the rotated image itself.
// Photo-like (smooth) content: on saturated sawtooth patterns the two paths differ by
// design, since the fast path area-averages chroma where image/draw picks the nearest
// chroma sample.
func TestPreprocessPathsAgree(t *testing.T) {
	src := testimg.Pattern(320, 240)
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			src.Pix[y*src.Stride+4*x+2] = uint8(100 + (x+y)/8)
		}
	}
	jpg, err := Decode(testimg.JPEG(t, src, 95), Limits{})
	require.NoError(t, err)
	_, isYCbCr := jpg.Src.(*image.YCbCr)
	require.True(t, isYCbCr)
	viaRGBA := NewPhoto(jpg.RGBA())
	g := NewGeometry(320, 240, testInput)
	a := make([]float32, 3*64*64)
	b := make([]float32, 3*64*64)
	require.NoError(t, Preprocess(jpg, g, testInput, a))
	require.NoError(t, Preprocess(viaRGBA, g, testInput, b))
	assert.Less(t, maxDiff(a, b), float32(0.05), "YCbCr and RGBA paths (4/255 std units)")
	bgr := testInput
	bgr.Color = ColorBGR
	require.NoError(t, Preprocess(jpg, g, bgr, a))
	require.NoError(t, Preprocess(viaRGBA, g, bgr, b))
	assert.Less(t, maxDiff(a, b), float32(0.05), "YCbCr and RGBA paths agree for BGR models too")
	require.NoError(t, Preprocess(jpg, g, testInput, b))
	assert.Greater(t, maxDiff(a, b), float32(0.5), "and BGR is not RGB (the photo has a blue gradient)")

	// Orientation 6: the stored image is the displayed one rotated 90 CCW.
	rot := image.NewRGBA(image.Rect(0, 0, 240, 320))
	for y := 0; y < 320; y++ {
		for x := 0; x < 240; x++ {
			// displayed (x,y) <- stored (y, h-1-x) with stored h = 240
			rot.Set(x, y, src.At(y, 239-x))
		}
	}
	oriented := &Photo{Src: src, Orientation: 6, Width: 240, Height: 320}
	g2 := NewGeometry(240, 320, testInput)
	require.NoError(t, Preprocess(oriented, g2, testInput, a))
	require.NoError(t, Preprocess(NewPhoto(rot), g2, testInput, b))
	assert.Less(t, maxDiff(a, b), float32(1e-4))
}

// Mirror TTA's second image is written in the resampling pass on the JPEG fast path: it
// must be exactly the first image mirrored, padding included, also when the letterbox
// pads one side a column more than the other, and on the paths that mirror after.
func TestPreprocessMirrorIsTheFlippedInput(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *Photo
	}{
		{"jpeg, even padding", mustDecode(t, testimg.JPEG(t, testimg.Pattern(240, 320), 90))},
		{"jpeg, odd padding", mustDecode(t, testimg.JPEG(t, testimg.Pattern(235, 320), 90))},
		{"jpeg, rows padded", mustDecode(t, testimg.JPEG(t, testimg.Pattern(321, 200), 90))},
		{"rgba", NewPhoto(testimg.Pattern(235, 320))},
		{"upscaled", NewPhoto(testimg.Pattern(21, 10))},
	} {
		g := NewGeometry(c.p.Width, c.p.Height, testInput)
		want := make([]float32, 2*3*64*64)
		require.NoError(t, Preprocess(c.p, g, testInput, want[:3*64*64]), c.name)
		mirror(want[:3*64*64], want[3*64*64:], 64)
		got := make([]float32, 2*3*64*64)
		for i := range got {
			got[i] = float32(math.NaN()) // every value must be written
		}
		require.NoError(t, preprocess(c.p, g, testInput, got[:3*64*64], got[3*64*64:]), c.name)
		assert.Equal(t, want, got, c.name)
	}
	_, isYCbCr := mustDecode(t, testimg.JPEG(t, testimg.Pattern(235, 320), 90)).Src.(*image.YCbCr)
	assert.True(t, isYCbCr, "the JPEG cases take the fused path")
}

func mustDecode(t *testing.T, data []byte) *Photo {
	t.Helper()
	p, err := Decode(data, Limits{})
	require.NoError(t, err)
	return p
}

func TestPreprocessUpscale(t *testing.T) {
	p := NewPhoto(testimg.Pattern(20, 10))
	in := testInput
	g := NewGeometry(20, 10, in)
	dst := make([]float32, 3*64*64)
	require.NoError(t, Preprocess(p, g, in, dst))
	// Bilinear keeps a horizontal gradient monotonic.
	row := dst[(g.DY+g.NH/2)*64 : (g.DY+g.NH/2)*64+64]
	for x := 1; x < 64; x++ {
		assert.GreaterOrEqual(t, row[x], row[x-1]-1e-5)
	}
}

func maxDiff(a, b []float32) float32 {
	var m float32
	for i := range a {
		m = float32(math.Max(float64(m), math.Abs(float64(a[i]-b[i]))))
	}
	return m
}

func TestAlphaOf(t *testing.T) {
	for v := float32(-14); v <= 14; v += 0.013 {
		want := 255 / (1 + math.Exp(-float64(v)))
		assert.InDelta(t, want, float64(alphaOf(v)), 1.01, "v=%v", v)
	}
	assert.Equal(t, uint8(128), alphaOf(0))
}
