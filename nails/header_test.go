package nails

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

func TestReadHeader(t *testing.T) {
	img := testimg.Pattern(40, 30)
	h, err := ReadHeader(testimg.JPEG(t, img, 80))
	require.NoError(t, err)
	assert.Equal(t, Header{Format: "jpeg", Width: 40, Height: 30, Components: 3, BitDepth: 8, Scans: 1}, h)

	h, err = ReadHeader(testimg.ProgressiveJPEG(6000, 6666, 4, 1000))
	require.NoError(t, err)
	assert.True(t, h.Progressive)
	assert.Equal(t, 4, h.Components)
	assert.Equal(t, 1000, h.Scans, "scans counted across entropy data, stuffing and restarts")
	err = Limits{}.Check(h)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "1000 scans")
	assert.Greater(t, h.DecodeBytes(), int64(600<<20), "a progressive CMYK 40 MP JPEG is priced as such")

	wide := image.NewNRGBA64(image.Rect(0, 0, 20, 10))
	var p bytes.Buffer
	require.NoError(t, png.Encode(&p, wide))
	h, err = ReadHeader(p.Bytes())
	require.NoError(t, err)
	assert.Equal(t, 16, h.BitDepth)
	assert.Equal(t, 4, h.Components)
	assert.Equal(t, int64(200*(8+4)+1<<20), h.DecodeBytes(), "16-bit RGBA costs 8 bytes a pixel, plus the RGBA copy")

	for _, bad := range [][]byte{nil, []byte("hello"), {0xFF, 0xD8, 0xFF, 0xC0, 0x00}, {0xFF, 0xD8, 0xFF, 0xD9}} {
		_, err := ReadHeader(bad)
		assert.Error(t, err)
	}
}

// DecodeBytes must bound what decoding really allocates: measured, per format.
func TestDecodeBytesBoundsAllocations(t *testing.T) {
	img := testimg.Pattern(800, 600)
	grey := image.NewGray(img.Bounds())
	for i := range grey.Pix {
		grey.Pix[i] = uint8(i)
	}
	var png16 bytes.Buffer
	require.NoError(t, png.Encode(&png16, image.NewNRGBA64(img.Bounds())))
	for name, data := range map[string][]byte{
		"jpeg":      testimg.JPEG(t, img, 85),
		"grey jpeg": testimg.JPEG(t, grey, 85),
		"png":       testimg.PNG(t, img),
		"png16":     png16.Bytes(),
	} {
		h, err := ReadHeader(data)
		require.NoError(t, err, name)
		allocs := testing.Benchmark(func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p, err := Decode(data, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				_ = p.RGBA()
			}
		})
		// Go-side bytes; libjpeg-turbo's C buffers are at most the same again, which
		// the estimate's factor of two for JPEG covers.
		assert.LessOrEqual(t, allocs.AllocedBytesPerOp(), h.DecodeBytes(), name)
	}
}

func TestTurboDecodesGreyAndCMYKLikeImageJPEG(t *testing.T) {
	if !turboBuilt {
		t.Skip("built with -tags noturbojpeg: image/jpeg decodes every JPEG")
	}
	grey := image.NewGray(image.Rect(0, 0, 33, 17))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(i * 5)
	}
	data := testimg.JPEG(t, grey, 90)
	p, err := Decode(data, Limits{})
	require.NoError(t, err)
	assert.IsType(t, &image.Gray{}, p.Src)
	ref, err := stdDecodeJPEG(data)
	require.NoError(t, err)
	assert.LessOrEqual(t, maxPixelDiff(NewPhoto(ref).RGBA(), p.RGBA()), 2, "grey as image/jpeg decodes it")

	cmyk := make([]byte, 24*16*4)
	for i := range cmyk {
		cmyk[i] = uint8(i * 7)
	}
	cdata := cmykJPEG(cmyk, 24, 16)
	require.NotNil(t, cdata)
	p, err = Decode(cdata, Limits{})
	require.NoError(t, err)
	ref, err = stdDecodeJPEG(cdata)
	require.NoError(t, err)
	assert.LessOrEqual(t, maxPixelDiff(NewPhoto(ref).RGBA(), p.RGBA()), 3, "CMYK colours as image/jpeg decodes them (Adobe inversion)")
}

// maxPixelDiff is the largest channel difference between two images of one size.
func maxPixelDiff(a, b *image.RGBA) int {
	worst := 0
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			ca, cb := a.RGBAAt(x, y), b.RGBAAt(x, y)
			for _, d := range []int{int(ca.R) - int(cb.R), int(ca.G) - int(cb.G), int(ca.B) - int(cb.B), int(ca.A) - int(cb.A)} {
				worst = max(worst, abs(d))
			}
		}
	}
	return worst
}

// The packed path (for sampling factors TurboJPEG's header call cannot name) decodes an
// ordinary colour JPEG like image/jpeg does.
func TestTurboPackedFallback(t *testing.T) {
	if !turboBuilt {
		t.Skip("built with -tags noturbojpeg")
	}
	// Smooth colour: libjpeg-turbo upsamples chroma smoothly, image/jpeg by replication,
	// which differ only at sharp colour edges.
	img := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for y := 0; y < 23; y++ {
		for x := 0; x < 37; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(100 + 3*x), uint8(60 + 2*y), uint8(150 - x - y), 255})
		}
	}
	data := testimg.JPEG(t, img, 90)
	got, err := decodePackedRGB(data, 37, 23)
	require.NoError(t, err)
	ref, err := stdDecodeJPEG(data)
	require.NoError(t, err)
	assert.LessOrEqual(t, maxPixelDiff(NewPhoto(ref).RGBA(), NewPhoto(got).RGBA()), 4)
}

func TestGIFSmallFirstFrame(t *testing.T) {
	frame := image.NewPaletted(image.Rect(10, 5, 30, 25), palette.Plan9)
	for i := range frame.Pix {
		frame.Pix[i] = 200
	}
	var b bytes.Buffer
	require.NoError(t, gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 64, Height: 48}}))
	p, err := Decode(b.Bytes(), Limits{})
	require.NoError(t, err, "a frame smaller than the canvas is a normal GIF")
	assert.Equal(t, 64, p.Width)
	assert.Equal(t, 48, p.Height)
	rgba := p.RGBA()
	assert.Equal(t, color.RGBA{}, rgba.RGBAAt(0, 0), "outside the frame: transparent canvas")
	assert.NotEqual(t, color.RGBA{}, rgba.RGBAAt(15, 10), "inside the frame: its pixels")
}

func TestDecodeContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := DecodeContext(ctx, testimg.JPEG(t, testimg.Pattern(16, 16), 80), Limits{})
	assert.ErrorIs(t, err, context.Canceled)
}
