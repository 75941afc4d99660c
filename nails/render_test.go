package nails

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ellipseNail is a synthetic nail: an ellipse with a soft one-pixel edge.
func ellipseNail(cx, cy, rx, ry float64) Nail {
	box := image.Rect(int(cx-rx-2), int(cy-ry-2), int(cx+rx+3), int(cy+ry+3))
	m := &Mask{Rect: box, Alpha: make([]uint8, box.Dx()*box.Dy())}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			d := (1 - math.Sqrt(dx*dx+dy*dy)) * math.Min(rx, ry) // px inside the edge
			m.Alpha[(y-box.Min.Y)*box.Dx()+(x-box.Min.X)] = uint8(255 * math.Max(0, math.Min(1, d+0.5)))
		}
	}
	n := Nail{Mask: m}
	n.Area, n.Box = m.stats()
	return n
}

// skinPhoto: a skin-toned gradient with a brighter band, so there is lighting to keep.
func skinPhoto(w, h int) *Photo {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			l := 0.6 + 0.4*math.Sin(float64(x)/9)*math.Cos(float64(y)/13)
			o := y*img.Stride + 4*x
			img.Pix[o] = uint8(220 * l)
			img.Pix[o+1] = uint8(170 * l)
			img.Pix[o+2] = uint8(150 * l)
			img.Pix[o+3] = 255
		}
	}
	return NewPhoto(img)
}

func testResult() (*Photo, *Result) {
	p := skinPhoto(200, 150)
	res := &Result{Width: 200, Height: 150, Nails: []Nail{
		ellipseNail(50, 40, 12, 20), ellipseNail(100, 30, 13, 22), ellipseNail(150, 45, 12, 19),
	}}
	for i := range res.Nails {
		res.Nails[i].ID = i + 1
	}
	return p, res
}

// everyMaterial is every preset, each finish in a plain blue, and a custom material.
func everyMaterial(t *testing.T) []Material {
	materials := Presets()
	for _, f := range Finishes {
		materials = append(materials, Material{Name: "plain-" + string(f), Color: "#3366cc", Finish: f})
	}
	custom, err := CustomMaterial("#22aa44", 0.8, 0.1, 1)
	require.NoError(t, err)
	return append(materials, custom)
}

func TestRenderEveryFinish(t *testing.T) {
	p, res := testResult()
	src := p.RGBA()
	for _, m := range everyMaterial(t) {
		t.Run(m.Name, func(t *testing.T) {
			out, err := Render(p, res, m)
			require.NoError(t, err)
			again, err := Render(p, res, m)
			require.NoError(t, err)
			assert.Equal(t, out.Pix, again.Pix, "deterministic")

			changedInside, outsideChanged := 0, 0
			var sumIn, sumOut, sxy, sxx, syy float64
			n := 0
			for y := 0; y < 150; y++ {
				for x := 0; x < 200; x++ {
					var a, near uint8 // near: within growTip's 2 px of a mask
					for _, nail := range res.Nails {
						a = max(a, nail.Mask.At(x, y))
						for j := -2; j <= 2; j++ {
							for i := -2; i <= 2; i++ {
								near = max(near, nail.Mask.At(x+i, y+j))
							}
						}
					}
					o := y*src.Stride + 4*x
					same := out.Pix[o] == src.Pix[o] && out.Pix[o+1] == src.Pix[o+1] && out.Pix[o+2] == src.Pix[o+2]
					if near == 0 && !same {
						outsideChanged++
					}
					if a == 255 {
						if !same {
							changedInside++
						}
						li := float64(luma(float32(src.Pix[o]), float32(src.Pix[o+1]), float32(src.Pix[o+2])))
						lo := float64(luma(float32(out.Pix[o]), float32(out.Pix[o+1]), float32(out.Pix[o+2])))
						sumIn += li
						sumOut += lo
						sxy += li * lo
						sxx += li * li
						syy += lo * lo
						n++
					}
				}
			}
			assert.Zero(t, outsideChanged, "pixels 3 px or more outside every mask are untouched")
			assert.Greater(t, changedInside, n*9/10, "the polish covers the nails")
			// The photo's lighting survives: output brightness follows input brightness.
			fn := float64(n)
			cov := sxy/fn - sumIn/fn*sumOut/fn
			corr := cov / math.Sqrt((sxx/fn-math.Pow(sumIn/fn, 2))*(syy/fn-math.Pow(sumOut/fn, 2)))
			// (French tips are white by design, which dominates the brightness there.)
			if m.Finish != French {
				assert.Greater(t, corr, 0.2, "luminance correlation %v", corr)
			}
			assert.Equal(t, src.Pix[:4], p.RGBA().Pix[:4], "the photo itself is not modified")
		})
	}
}

func TestRenderColour(t *testing.T) {
	p, res := testResult()
	for name, channel := range map[string]int{"glossy_red": 0, "cream_lilac": 2, "matte_navy": 2} {
		m, ok := Preset(name)
		require.True(t, ok)
		out, err := Render(p, res, m)
		require.NoError(t, err)
		var sum [3]float64
		nail := res.Nails[1]
		for y := nail.Box.Min.Y; y < nail.Box.Max.Y; y++ {
			for x := nail.Box.Min.X; x < nail.Box.Max.X; x++ {
				if nail.Mask.At(x, y) == 255 {
					o := y*out.Stride + 4*x
					for c := range 3 {
						sum[c] += float64(out.Pix[o+c])
					}
				}
			}
		}
		for c := range 3 {
			if c != channel {
				assert.Greater(t, sum[channel], sum[c], "%s: channel %d dominates", name, channel)
			}
		}
	}
}

func TestMaterials(t *testing.T) {
	names := map[string]bool{}
	for _, m := range Presets() {
		require.NoError(t, m.Validate(), m.Name)
		names[m.Name] = true
		assert.Greater(t, m.Opacity, 0.0)
	}
	for _, want := range []string{"glossy_red", "metallic_gold", "matte_black", "french_classic", "glitter_gold", "sheer_pink", "chrome_silver"} {
		assert.True(t, names[want], want)
	}
	_, ok := Preset("no_such_polish")
	assert.False(t, ok)
	for _, bad := range []Material{
		{Color: "red", Finish: Glossy},
		{Color: "#12345", Finish: Glossy},
		{Color: "#123456", Finish: "sparkly"},
		{Color: "#123456", Finish: Glossy, Opacity: 1.5},
	} {
		assert.ErrorIs(t, bad.Validate(), ErrBadMaterial, "%+v", bad)
	}
	_, err := CustomMaterial("#ff0000", 1.2, 0, 1)
	assert.ErrorIs(t, err, ErrBadMaterial)
	_, err = CustomMaterial("#ff0000", 0.5, 0, math.NaN())
	assert.ErrorIs(t, err, ErrBadMaterial, "NaN intensity would paint black nails")
	c, err := ParseColor("#C8102E")
	require.NoError(t, err)
	assert.Equal(t, "#c8102e", c.String())
	_, res := testResult()
	assert.ErrorIs(t, RenderInto(image.NewRGBA(image.Rect(0, 0, 200, 150)), res, Material{Color: "#zzzzzz", Finish: Glossy}), ErrBadMaterial)
}

// A photo with transparency paints the same colours as the opaque photo: polish is mixed
// in straight colour, alpha is kept, and JPEG flattens transparency onto white.
func TestRenderTranslucentPhoto(t *testing.T) {
	opaque, res := testResult()
	src := opaque.RGBA()
	nrgba := image.NewNRGBA(src.Rect)
	copy(nrgba.Pix, src.Pix)
	for i := 3; i < len(nrgba.Pix); i += 4 {
		nrgba.Pix[i] = 200
	}
	for y := 0; y < 10; y++ { // a fully transparent corner
		for x := 0; x < 10; x++ {
			nrgba.Pix[nrgba.PixOffset(x, y)+3] = 0
		}
	}
	translucent := NewPhoto(nrgba)
	m, _ := Preset("glossy_red")
	want, err := Render(opaque, res, m)
	require.NoError(t, err)
	got, err := Render(translucent, res, m)
	require.NoError(t, err)

	nail := res.Nails[1]
	var worst float64
	for y := nail.Box.Min.Y; y < nail.Box.Max.Y; y++ {
		for x := nail.Box.Min.X; x < nail.Box.Max.X; x++ {
			if nail.Mask.At(x, y) != 255 {
				continue
			}
			g := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
			w := want.RGBAAt(x, y)
			require.EqualValues(t, 200, g.A, "alpha is kept")
			worst = math.Max(worst, math.Max(math.Abs(float64(g.R)-float64(w.R)),
				math.Max(math.Abs(float64(g.G)-float64(w.G)), math.Abs(float64(g.B)-float64(w.B)))))
		}
	}
	assert.LessOrEqual(t, worst, 3.0, "straight colours match the opaque render within rounding")

	jpg, err := EncodeJPEG(got, 95)
	require.NoError(t, err)
	dec, err := Decode(jpg, Limits{})
	require.NoError(t, err)
	r, g, b, _ := dec.RGBA().At(4, 4).RGBA()
	assert.Greater(t, min(r, g, b)>>8, uint32(245), "transparent pixels flatten onto white")
}

func TestLookupPresetSuggests(t *testing.T) {
	m, err := LookupPreset("Metallic_Gold")
	require.NoError(t, err)
	assert.Equal(t, "metallic_gold", m.Name)
	for name, want := range map[string]string{"metallic-gold": "metallic_gold", "glossy red": "glossy_red", "mate_black": "matte_black"} {
		_, err := LookupPreset(name)
		require.ErrorIs(t, err, ErrUnknownMaterial, name)
		assert.Contains(t, err.Error(), `did you mean "`+want+`"`, name)
	}
	_, err = LookupPreset("zebra")
	require.ErrorIs(t, err, ErrUnknownMaterial)
	assert.NotContains(t, err.Error(), "did you mean")
	// Range errors are bad materials, not unknown ones.
	_, err = CustomMaterial("#ff0000", 3, 0, 1)
	require.ErrorIs(t, err, ErrBadMaterial)
	assert.NotErrorIs(t, err, ErrUnknownMaterial)
}

// A French tip follows the nail's free edge, and its inner line curves towards the cuticle
// at the sides (a "smile line"); a straight cut across the nail did the opposite.
func TestFrenchTipFollowsTheFreeEdge(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 120, 120))
	for i := range img.Pix {
		img.Pix[i] = 150 // flat grey: no shading to confuse the colours
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	nail := ellipseNail(60, 60, 16, 30)                          // long axis vertical
	res := &Result{Width: 120, Height: 120, Nails: []Nail{nail}} // a lone nail points up
	out, err := Render(NewPhoto(img), res, Material{Name: "f", Color: "#c8102e", Finish: French, TipColor: "#ffffff", Glossiness: new(0.0)})
	require.NoError(t, err)
	// Per column: how far the white tip reaches down from the nail's top edge.
	depth := func(x int) int {
		top, low := -1, -1
		for y := 0; y < 120; y++ {
			if nail.Mask.At(x, y) < 128 {
				continue
			}
			if top < 0 {
				top = y
			}
			if out.RGBAAt(x, y).G > 170 { // white, not red (nor red with a highlight)
				low = y
			}
		}
		require.True(t, top >= 0 && low >= top, "column %d has a tip", x)
		return low - top
	}
	middle, left, right := depth(60), depth(60-11), depth(60+11)
	t.Logf("tip depth from the free edge: middle %d px, sides %d / %d px", middle, left, right)
	assert.Greater(t, left, middle+1, "the smile line is deeper at the sides")
	assert.Greater(t, right, middle+1)
	assert.Greater(t, middle, 2, "the middle has a visible tip")
}

// The paint reaches a pixel or two past the mask at the tip (the model stops short of the
// pale free edge, which showed as a thin rim), and not at the cuticle.
func TestPaintCoversTheTipRim(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 120, 120))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	nail := ellipseNail(60, 60, 16, 30) // a lone nail points up: tip at y = 30
	res := &Result{Width: 120, Height: 120, Nails: []Nail{nail}}
	m, _ := Preset("glossy_black")
	out, err := Render(NewPhoto(img), res, m)
	require.NoError(t, err)
	top, bottom := nail.Box.Min.Y, nail.Box.Max.Y-1
	assert.Less(t, out.RGBAAt(60, top-1).G, uint8(120), "one pixel past the tip is painted")
	assert.Less(t, out.RGBAAt(60, top-2).G, uint8(180), "two pixels past, partly")
	assert.Equal(t, uint8(200), out.RGBAAt(60, bottom+2).G, "past the cuticle nothing changes")
	assert.Equal(t, uint8(200), out.RGBAAt(60, top-4).G, "and the growth is bounded")
}

// growTip, which looks only at the tip half within reach of each row's painted extent,
// gives exactly what the per-pixel neighbourhood scan (the definition) gives, whichever
// way the nail points, for masks with holes and notches too, with buffers that hold
// another nail's leftovers.
func TestGrowTipMatchesTheNeighbourhoodScan(t *testing.T) {
	b := new(paintBuffers)
	for _, buf := range []*[]uint8{&b.src, &b.grown} {
		*buf = bytes.Repeat([]uint8{0xa5}, 200*200) // stale: nothing may be read before it is written
	}
	b.first, b.last = make([]int, 200), make([]int, 200)
	for i := range b.first {
		b.first[i], b.last[i] = -7, 1000
	}
	holed := ellipseNail(60, 50, 15, 20)
	hw := holed.Mask.Rect.Dx()
	for y := 15; y < 22; y++ {
		for x := 8; x < 14; x++ {
			holed.Mask.Alpha[y*hw+x] = uint8(40 * (x % 3)) // a hole, partly faint
		}
		for x := 0; x < 9; x++ {
			holed.Mask.Alpha[(y+10)*hw+x] = 0 // a notch from the side
		}
	}
	nails := []Nail{ellipseNail(50, 40, 12, 20), ellipseNail(30, 30, 3, 5), holed, ellipseNail(80, 60, 20, 9), ellipseNail(20, 20, 1, 1)}
	dirs := [][2]float32{{0.6, -0.8}, {0, 1}, {0, -1}, {1, 0}, {-1, 0}, {-0.6, 0.8}, {0.28, 0.96}, {-0.96, -0.28}, {0.7071, 0.7071}}
	for k, dir := range dirs {
		n := nails[k%len(nails)]
		s := shape{cx: float32(n.Box.Min.X+n.Box.Max.X) / 2, cy: float32(n.Box.Min.Y+n.Box.Max.Y) / 2, ux: dir[0], uy: dir[1],
			halfU: float32(n.Box.Dy()) / 2, halfV: float32(n.Box.Dx()) / 2}
		got := growTip(n.Mask, s, b)
		r := n.Mask.Rect.Inset(-tipGrowth)
		require.Equal(t, r, got.Rect)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				a := n.Mask.At(x, y)
				dx, dy := float32(x)+0.5-s.cx, float32(y)+0.5-s.cy
				if a < 255 && (dx*s.ux+dy*s.uy)/s.halfU > 0.25 {
					var near1, near2 uint8
					for j := -tipGrowth; j <= tipGrowth; j++ {
						for i := -tipGrowth; i <= tipGrowth; i++ {
							if v := n.Mask.At(x+i, y+j); max(i, -i, j, -j) == 1 {
								near1 = max(near1, v)
							} else {
								near2 = max(near2, v)
							}
						}
					}
					a = max(a, uint8(float32(near1)*0.85), uint8(float32(near2)*0.45))
				}
				require.Equal(t, a, got.At(x, y), "(%d,%d) pointing %v", x, y, dir)
			}
		}
	}
}

func TestGaussBandAndShadeTables(t *testing.T) {
	for d := float32(-5); d <= 5; d += 0.013 {
		assert.InDelta(t, math.Exp(-float64(d*d)), float64(gauss(d)), 2e-5)
		assert.InDelta(t, 0.5+0.5*math.Cos(float64(d)*4.2+0.6), float64(band(d)), 1e-4, "%g", d)
	}
	tab := shadeTable(0.4, 1.6)
	for i := 0; i < 256; i++ {
		L := float32(i) / 255
		want := math.Pow(float64(clamp(L/0.4, 0.2, 2.5)), 1.6)
		assert.InDelta(t, want, float64(tab[int(L*(shadeSteps-1)+0.5)]), want*0.006+1e-4, "under half a grey level")
	}
}
