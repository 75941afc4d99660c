package nails

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

func BenchmarkDecodeJPEG(b *testing.B) {
	data := testimg.BenchJPEG(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocess writes the model input from a decoded 1.2 MP JPEG at three input
// sizes, and from a 640x480 one at 512: what the pipeline does for most photos, which are
// decoded at the DCT scale nearest above the input size (a 1280x960 photo at 1/2).
func BenchmarkPreprocess(b *testing.B) {
	p, err := Decode(testimg.BenchJPEG(b), Limits{})
	require.NoError(b, err)
	vga, err := Decode(testimg.JPEG(b, testimg.Pattern(640, 480), 90), Limits{})
	require.NoError(b, err)
	for _, c := range []struct {
		name string
		p    *Photo
		size int
	}{{"1.2MP-to-320", p, 320}, {"1.2MP-to-384", p, 384}, {"1.2MP-to-512", p, 512}, {"640x480-to-512", vga, 512}} {
		p, size := c.p, c.size
		b.Run(c.name, func(b *testing.B) {
			in := testInput
			in.Width, in.Height = size, size
			g := NewGeometry(p.Width, p.Height, in)
			dst := make([]float32, 3*size*size)
			for b.Loop() {
				if err := Preprocess(p, g, in, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRender paints 10 nails on a 1.2 MP photo: paint alone (RenderInto on the
// decoded photo's RGBA) and with the copy Render makes.
func BenchmarkRender(b *testing.B) {
	p, err := Decode(testimg.BenchJPEG(b), Limits{})
	require.NoError(b, err)
	res := &Result{Width: p.Width, Height: p.Height}
	for i := range 10 {
		n := ellipseNail(float64(120+i*110), float64(300+(i%2)*200), 22, 38)
		n.ID = i + 1
		res.Nails = append(res.Nails, n)
	}
	img := p.RGBA()
	for _, m := range []string{"glossy_red", "matte_black", "metallic_gold", "glitter_gold", "sheer_pink", "french_classic"} {
		mat, _ := Preset(m)
		b.Run("paint/"+m, func(b *testing.B) {
			for b.Loop() {
				if err := RenderInto(img, res, mat); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	mat, _ := Preset("glossy_red")
	b.Run("copy+paint/glossy_red", func(b *testing.B) {
		for b.Loop() {
			if _, err := Render(p, res, mat); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ycbcr-to-rgba", func(b *testing.B) {
		for b.Loop() {
			q := *p
			q.rgba = nil
			q.RGBA()
		}
	})
}

func BenchmarkEncodeJPEG(b *testing.B) {
	p, err := Decode(testimg.BenchJPEG(b), Limits{})
	require.NoError(b, err)
	img := p.RGBA()
	for b.Loop() {
		if _, err := EncodeJPEG(img, 90); err != nil {
			b.Fatal(err)
		}
	}
}
