package nails

import (
	"image"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// patternedNail is a lone nail (pointing up) lit from the left, light falling off
// towards its sides, on skin; decorated adds what people paint on nails: a French tip's
// white band, dark dots and a bright heart-sized blob.
func patternedNail(decorated bool) (*image.RGBA, Nail, func(x, y int) float64) {
	const w, h = 160, 160
	nail := ellipseNail(80, 80, 22, 40)
	light := func(x, y int) float64 { // the lighting: smooth, a gradient and a curvature
		dx, dy := (float64(x)-80)/22, (float64(y)-80)/40
		return 0.62 - 0.10*dx - 0.05*dy - 0.06*dx*dx
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			l := light(x, y)
			r, g, b := 0.95*l+0.05, 0.78*l, 0.72*l
			if decorated && nail.Mask.At(x, y) > 0 {
				dx, dy := float64(x)-80, float64(y)-80
				switch {
				case y < 52: // the white tip: the top sixth of the nail
					r, g, b = 0.97, 0.96, 0.94
				case math.Hypot(dx-8, dy-10) < 4, math.Hypot(dx+9, dy+2) < 3, math.Hypot(dx, dy-25) < 3.5:
					r, g, b = 0.1, 0.05, 0.12 // dots
				case math.Hypot(dx+5, dy-8) < 6:
					r, g, b = 0.95, 0.4, 0.6 // a pink heart, roughly
				}
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = to8(float32(r)), to8(float32(g)), to8(float32(b)), 255
		}
	}
	return img, nail, light
}

// The fitted lighting of a decorated nail is the lighting of the plain one: the tip,
// the dots and the heart are left out of it.
func TestShadingKeepsLightNotPattern(t *testing.T) {
	plainImg, nail, _ := patternedNail(false)
	decoImg, _, _ := patternedNail(true)
	full := nail.Mask.Full()
	s := analyse(plainImg, full, 0, 0, false)
	plain := fitShading(plainImg, full, s, new(paintBuffers))
	deco := fitShading(decoImg, full, s, new(paintBuffers))
	worst := 0.0
	for y := nail.Box.Min.Y; y < nail.Box.Max.Y; y++ {
		for x := nail.Box.Min.X; x < nail.Box.Max.X; x++ {
			if nail.Mask.At(x, y) < 128 {
				continue
			}
			dx, dy := float32(x)+0.5-s.cx, float32(y)+0.5-s.cy
			tt, v := (dx*s.ux+dy*s.uy)/s.halfU, (dx*-s.uy+dy*s.ux)/s.halfV
			o := plainImg.PixOffset(x, y)
			p := plainImg.Pix[o : o+3]
			truth := lumaR[p[0]] + lumaG[p[1]] + lumaB[p[2]]
			assert.InDelta(t, truth, plain.at(tt, v), 0.01, "the plain nail's lighting is a quadratic: fitted at (%d,%d)", x, y)
			worst = max(worst, math.Abs(float64(deco.at(tt, v)-plain.at(tt, v))))
		}
	}
	assert.Less(t, worst, 0.03, "the decorated nail's fitted lighting is the plain one's")
	assert.InDelta(t, plain.mean, deco.mean, 0.01)
}

// An opaque finish at full intensity covers what is on the nail: painted over a French
// tip, dots and a heart it gives the pixels it gives over the bare nail (issue 33: the
// tips and art showed through). The lighting still shows: the lit side stays brighter.
func TestOpaquePolishCoversTheNail(t *testing.T) {
	plainImg, nail, light := patternedNail(false)
	decoImg, _, _ := patternedNail(true)
	res := &Result{Width: 160, Height: 160, Nails: []Nail{nail}}
	for _, name := range []string{"glossy_red", "cream_lilac", "matte_navy", "metallic_gold", "chrome_silver"} {
		m, err := LookupPreset(name)
		require.NoError(t, err)
		plain, err := Render(NewPhoto(plainImg), res, m)
		require.NoError(t, err)
		deco, err := Render(NewPhoto(decoImg), res, m)
		require.NoError(t, err)
		worst, sum, n := 0, 0, 0
		var litSide, darkSide, nLit, nDark float64
		for y := nail.Box.Min.Y; y < nail.Box.Max.Y; y++ {
			for x := nail.Box.Min.X; x < nail.Box.Max.X; x++ {
				if nail.Mask.At(x, y) != 255 {
					continue
				}
				a, b := plain.RGBAAt(x, y), deco.RGBAAt(x, y)
				for _, d := range []int{int(a.R) - int(b.R), int(a.G) - int(b.G), int(a.B) - int(b.B)} {
					worst = max(worst, d, -d)
					sum += max(d, -d)
					n++
				}
				l := float64(luma(float32(a.R), float32(a.G), float32(a.B)))
				if light(x, y) > 0.66 {
					litSide, nLit = litSide+l, nLit+1
				} else if light(x, y) < 0.56 {
					darkSide, nDark = darkSide+l, nDark+1
				}
			}
		}
		t.Logf("%s: decorated vs bare nail, worst %d grey levels, mean %.2f", name, worst, float64(sum)/float64(n))
		assert.LessOrEqual(t, worst, 8, "%s: nothing on the nail shows through", name)
		assert.Less(t, float64(sum)/float64(n), 2.5, name)
		if name != "matte_navy" { // matte flattens most of the shading by design
			assert.Greater(t, litSide/nLit, darkSide/nDark*1.05, "%s: the lit side is brighter", name)
		}
	}
}
