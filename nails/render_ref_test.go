package nails

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The painting code as it was before it was made fast (shape.go, paint.go), kept as the
// readable definition the fast code is checked against (TestPaintMatchesTheReference):
// one pass per quantity, float64 sums, a full-resolution mask from Mask.Full, the
// generic clamp. (growTip and fitShading are shared: TestGrowTipMatchesTheNeighbourhoodScan
// and TestShadingKeepsLightNotPattern check them on their own.)

// refPaintNails is paintNails with the reference functions.
func refPaintNails(img *image.RGBA, res *Result, m Material) {
	forEachNail(res, m.withDefaults(), nil, func(n *Nail, p polish) {
		full := n.Mask.Full()
		sh := refAnalyse(img, full, p.hx, p.hy, p.many)
		var light shading
		if !p.look.sheer {
			light = fitShading(img, full, sh, new(paintBuffers))
		}
		refPaintNail(img, growTip(full, sh, new(paintBuffers)), sh, light, p.look, p.base, p.tip, p.opacity)
	})
}

func refClamp(v, lo, hi float32) float32 { return min(max(v, lo), hi) }

func refTo8(v float32) uint8 { return uint8(refClamp(v, 0, 1)*255 + 0.5) }

func refAnalyse(img *image.RGBA, m *Mask, hx, hy float64, many bool) shape {
	r := m.Rect.Intersect(img.Rect)
	w := m.Rect.Dx()
	var sw, sx, sy, sl float64
	var hist [64]float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			a := float64(m.Alpha[(y-m.Rect.Min.Y)*w+(x-m.Rect.Min.X)]) / 255
			if a < 0.5 {
				continue
			}
			o := img.PixOffset(x, y)
			l := luma(float32(img.Pix[o])/255, float32(img.Pix[o+1])/255, float32(img.Pix[o+2])/255)
			sw += a
			sx += a * float64(x)
			sy += a * float64(y)
			sl += a * float64(l)
			hist[min(63, int(l*64))] += a
		}
	}
	if sw == 0 {
		return shape{cx: float32(r.Min.X+r.Max.X) / 2, cy: float32(r.Min.Y+r.Max.Y) / 2, ux: 0, uy: -1, halfU: 1, halfV: 1, meanL: 0.5, p90: 1}
	}
	cx, cy := sx/sw, sy/sw
	var sxx, syy, sxy float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			a := float64(m.Alpha[(y-m.Rect.Min.Y)*w+(x-m.Rect.Min.X)]) / 255
			if a < 0.5 {
				continue
			}
			dx, dy := float64(x)-cx, float64(y)-cy
			sxx += a * dx * dx
			syy += a * dy * dy
			sxy += a * dx * dy
		}
	}
	sxx, syy, sxy = sxx/sw, syy/sw, sxy/sw
	return shapeOf(cx, cy, sxx, syy, sxy, &hist, sw, sl/sw, hx, hy, many)
}

func refPaintNail(img *image.RGBA, m *Mask, s shape, light shading, l look, base, tip RGB, opacity float32) {
	r := m.Rect.Intersect(img.Rect)
	w := m.Rect.Dx()
	vx, vy := -s.uy, s.ux // across the nail
	var edge *freeEdge
	if l.french {
		edge = traceFreeEdge(m, s)
	}
	meanL := s.meanL
	if !l.sheer {
		meanL = max(0.05, light.mean)
	}
	shading := shadeTable(meanL, l.contrast)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			a := m.Alpha[(y-m.Rect.Min.Y)*w+(x-m.Rect.Min.X)]
			if a == 0 {
				continue
			}
			o := img.PixOffset(x, y)
			pr, pg, pb := float32(img.Pix[o])/255, float32(img.Pix[o+1])/255, float32(img.Pix[o+2])/255
			L := luma(pr, pg, pb)
			dx, dy := float32(x)+0.5-s.cx, float32(y)+0.5-s.cy
			t := (dx*s.ux + dy*s.uy) / s.halfU // -1 cuticle .. 1 tip
			v := (dx*vx + dy*vy) / s.halfV     // -1 .. 1 across

			c := base
			alpha := opacity
			if l.french {
				k := edge.tip(t, v)
				c = RGB{c.R + (tip.R-c.R)*k, c.G + (tip.G-c.G)*k, c.B + (tip.B-c.B)*k}
				alpha = opacity * (0.55 + 0.45*k) // sheer base, opaque tip
			}
			// The photo's own shading, relative to the nail's mean brightness: for
			// opaque polish its lighting (the fitted field), not its pixels.
			lit := L
			if !l.sheer {
				c := light.c
				ft, fv := float64(t), float64(v)
				lit = refClamp(float32(float64(c[0])+float64(c[1])*ft+float64(c[2])*fv+float64(c[3])*ft*ft+float64(c[4])*fv*fv+float64(c[5])*ft*fv), 0, 1)
			}
			shade := shading[int(lit*(shadeSteps-1)+0.5)]
			shade = shade*(1-l.flatten) + l.flatten
			if l.bands > 0 {
				shade *= 1 - l.bands + l.bands*2*(0.5+0.5*float32(math.Cos(float64(t)*4.2+0.6)))
			}
			if l.shimmer > 0 {
				shade *= 1 + l.shimmer*(hash01(uint32(x), uint32(y), 1)-0.5)
			}
			pr2, pg2, pb2 := c.R*shade, c.G*shade, c.B*shade
			if l.sheer {
				// Translucent polish filters the nail underneath rather than covering it.
				pr2, pg2, pb2 = pr*(0.35+0.65*c.R)*shade/max(L/s.meanL, 0.2), pg*(0.35+0.65*c.G)*shade/max(L/s.meanL, 0.2), pb*(0.35+0.65*c.B)*shade/max(L/s.meanL, 0.2)
			}
			// Specular band along the nail, offset towards one side as under a ceiling
			// light, fading out at the cuticle and the free edge.
			var spec float32
			if l.highlight > 0 {
				d := (v + 0.35) / 0.22
				spec = l.highlight * gauss(d) * smoothstep(-0.9, -0.4, t) * (1 - smoothstep(0.45, 0.9, t))
			}
			// Bright glints already in the photo stay under translucent polish.
			if l.sheer {
				spec += l.keepGloss * refClamp((L-s.p90)/(1-s.p90+1e-3), 0, 1) * 0.6
			}
			if l.glitter > 0 && hash01(uint32(x), uint32(y), 7) < l.glitter {
				spec += 0.5 + 0.5*hash01(uint32(x), uint32(y), 9)
			}
			hr := 1 + (c.R-1)*l.tint
			hg := 1 + (c.G-1)*l.tint
			hb := 1 + (c.B-1)*l.tint
			pr2 += spec * hr
			pg2 += spec * hg
			pb2 += spec * hb

			// Soft mask edge: anti-aliased, and nothing outside the mask changes.
			k := alpha * float32(a) / 255
			img.Pix[o] = refTo8(pr + (refClamp(pr2, 0, 1)-pr)*k)
			img.Pix[o+1] = refTo8(pg + (refClamp(pg2, 0, 1)-pg)*k)
			img.Pix[o+2] = refTo8(pb + (refClamp(pb2, 0, 1)-pb)*k)
		}
	}
}

// coarseEllipseNail is ellipseNail kept as the segmenter keeps masks of large photos:
// one alpha per cell of s x s pixels, taken at the cell's centre.
func coarseEllipseNail(cx, cy, rx, ry float64, s int) Nail {
	box := image.Rect(int(cx-rx-2), int(cy-ry-2), int(cx+rx+3), int(cy+ry+3))
	m := &Mask{Rect: box, Scale: s}
	gw, gh := m.Cells()
	m.Alpha = make([]uint8, gw*gh)
	for j := range gh {
		for i := range gw {
			x, y := float64(box.Min.X)+(float64(i)+0.5)*float64(s), float64(box.Min.Y)+(float64(j)+0.5)*float64(s)
			dx, dy := (x-cx)/rx, (y-cy)/ry
			d := (1 - math.Sqrt(dx*dx+dy*dy)) * math.Min(rx, ry) / float64(s) // cells inside the edge
			m.Alpha[j*gw+i] = uint8(255 * math.Max(0, math.Min(1, d+0.5)))
		}
	}
	n := Nail{Mask: m}
	n.Area, n.Box = m.stats()
	return n
}

// The fast painter gives the reference painter's pixels, to one grey level (its sums
// and reciprocals round differently), for every finish, fine and coarse masks, nails
// at every angle, and a photo with texture and glints (so the shading, the kept gloss
// and the sheer filter all see varied brightness).
func TestPaintMatchesTheReference(t *testing.T) {
	const w, h = 420, 300
	photo := skinPhoto(w, h).RGBA()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(photo.Pix); i += 4 {
		for c := range 3 {
			photo.Pix[i+c] = uint8(max(0, min(255, int(photo.Pix[i+c])+rng.IntN(41)-20)))
		}
		if rng.IntN(50) == 0 {
			photo.Pix[i], photo.Pix[i+1], photo.Pix[i+2] = 250, 250, 245 // a glint
		}
	}
	// No round nails: a circle has no axis, and which way the two painters point it
	// is down to rounding.
	res := &Result{Width: w, Height: h, Nails: []Nail{
		ellipseNail(60, 70, 18, 40), ellipseNail(140, 60, 30, 14), ellipseNail(220, 200, 5, 9),
		coarseEllipseNail(300, 90, 25, 45, 3), coarseEllipseNail(360, 220, 40, 22, 4), coarseEllipseNail(110, 220, 18, 27, 2),
	}}
	for _, m := range append(everyMaterial(t), Material{Name: "translucent", Color: "#aa2244", Finish: Glossy, Opacity: 0.6}) {
		got := &image.RGBA{Pix: slices.Clone(photo.Pix), Stride: photo.Stride, Rect: photo.Rect}
		want := &image.RGBA{Pix: slices.Clone(photo.Pix), Stride: photo.Stride, Rect: photo.Rect}
		require.NoError(t, RenderInto(got, res, m))
		refPaintNails(want, res, m)
		changed, differ, worst := 0, 0, 0
		for i := range got.Pix {
			if want.Pix[i] != photo.Pix[i] {
				changed++
			}
			if d := int(got.Pix[i]) - int(want.Pix[i]); d != 0 {
				differ++
				worst = max(worst, d, -d)
			}
		}
		assert.LessOrEqual(t, worst, 1, "%s: at most one grey level apart", m.Name)
		assert.Less(t, differ, changed/50+1, "%s: and rarely that (%d of %d painted values)", m.Name, differ, changed)
		assert.Greater(t, changed, 10000, "%s: the reference painted", m.Name)
	}
}

// Full (separable) gives At (bilinear per pixel) everywhere, for cell sizes that do and
// do not divide the box.
func TestMaskFullMatchesAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ w, h, s int }{{30, 20, 3}, {31, 17, 4}, {9, 40, 2}, {64, 64, 8}, {5, 5, 7}} {
		m := &Mask{Rect: image.Rect(7, 11, 7+c.w, 11+c.h), Scale: c.s}
		gw, gh := m.Cells()
		m.Alpha = make([]uint8, gw*gh)
		for i := range m.Alpha {
			m.Alpha[i] = uint8(rng.IntN(256))
		}
		full := m.Full()
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
				require.Equal(t, m.At(x, y), full.At(x, y), "%+v at (%d,%d)", c, x, y)
			}
		}
	}
}
