package nails

import (
	"fmt"
	"image"
	"math"
	"slices"
)

// Render paints m onto every nail of res and returns a new image (the photo is not
// modified). Deterministic: the same photo, result and material give the same pixels.
func Render(p *Photo, res *Result, m Material) (*image.RGBA, error) {
	if p.Reduced() {
		return nil, fmt.Errorf("nails: render: the photo was decoded at reduced size for segmentation; decode it in full (DecodeHeader) to paint it")
	}
	src := p.RGBA()
	out := &image.RGBA{Pix: append([]uint8(nil), src.Pix...), Stride: src.Stride, Rect: src.Rect}
	// image.RGBA is premultiplied, and polish is painted in straight colour: in a photo
	// with transparency, the area paint can reach is unpremultiplied first and
	// premultiplied back after, once each (nails' areas may overlap), so colours come out
	// right whatever the alpha (PNG output keeps it).
	translucent := !opaqueKind(p.Src) && !out.Opaque()
	var painted image.Rectangle
	if translucent {
		for i := range res.Nails {
			if n := &res.Nails[i]; n.Mask != nil {
				painted = painted.Union(n.Mask.Rect.Inset(-tipGrowth))
			}
		}
		unpremultiply(out, painted)
	}
	if err := RenderInto(out, res, m); err != nil {
		return nil, err
	}
	if translucent {
		premultiply(out, painted)
	}
	return out, nil
}

// opaqueKind reports image types that cannot hold transparency (no alpha scan needed).
func opaqueKind(img image.Image) bool {
	switch img.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return true
	}
	return false
}

func unpremultiply(img *image.RGBA, r image.Rectangle) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			if a := uint32(row[i+3]); a != 0 && a != 255 {
				for c := 0; c < 3; c++ {
					row[i+c] = uint8(min(255, (uint32(row[i+c])*255+a/2)/a))
				}
			}
		}
	}
}

func premultiply(img *image.RGBA, r image.Rectangle) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			if a := uint32(row[i+3]); a != 255 {
				for c := 0; c < 3; c++ {
					row[i+c] = uint8((uint32(row[i+c])*a + 127) / 255)
				}
			}
		}
	}
}

// flatten composites a premultiplied image onto white (JPEG has no alpha), or returns it
// unchanged when it is opaque.
func flatten(img *image.RGBA) *image.RGBA {
	if img.Opaque() {
		return img
	}
	out := image.NewRGBA(img.Rect)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		src := img.Pix[img.PixOffset(img.Rect.Min.X, y):img.PixOffset(img.Rect.Max.X, y)]
		dst := out.Pix[out.PixOffset(img.Rect.Min.X, y):out.PixOffset(img.Rect.Max.X, y)]
		for i := 0; i < len(src); i += 4 {
			white := 255 - uint32(src[i+3]) // the background's premultiplied share
			for c := 0; c < 3; c++ {
				dst[i+c] = uint8(min(255, uint32(src[i+c])+white))
			}
			dst[i+3] = 255
		}
	}
	return out
}

// RenderInto paints m onto every nail of res directly into img, which must be the
// photo as displayed (same size as res). Only pixels inside each nail's mask box are
// touched.
func RenderInto(img *image.RGBA, res *Result, m Material) error {
	return paintNails(img, res, m, nil)
}

// paintNails paints the nails of res whose indices are in only (all of them when only
// is nil) into img, which may cover just part of the photo (bounds in photo
// coordinates) as long as it holds every pixel those nails' paint reaches.
func paintNails(img *image.RGBA, res *Result, m Material, only []int) error {
	m = m.withDefaults()
	if err := m.Validate(); err != nil {
		return err
	}
	base, _ := ParseColor(m.Color)
	tip := RGB{1, 1, 1}
	if m.TipColor != "" {
		tip, _ = ParseColor(m.TipColor)
	}
	look := lookOf(m)
	// The hand's centre, roughly: nails point away from it, which tells each nail's tip
	// end from its cuticle end.
	var hx, hy float64
	for _, n := range res.Nails {
		c := n.Box.Min.Add(n.Box.Max).Div(2)
		hx += float64(c.X)
		hy += float64(c.Y)
	}
	if len(res.Nails) > 0 {
		hx /= float64(len(res.Nails))
		hy /= float64(len(res.Nails))
	}
	for i := range res.Nails {
		n := &res.Nails[i]
		if n.Mask == nil || n.Area == 0 || (only != nil && !slices.Contains(only, i)) {
			continue
		}
		full := n.Mask.Full() // paint per photo pixel; the cached mask may be coarser
		sh := analyse(img, full, hx, hy, len(res.Nails) > 1)
		paintNail(img, growTip(full, sh), sh, look, base, tip, float32(m.Opacity))
	}
	return nil
}

// look holds the numbers a finish paints with.
type look struct {
	contrast  float32 // exponent on the photo's shading
	flatten   float32 // 0..1: how much shading is removed (matte)
	highlight float32 // strength of the specular band along the nail
	tint      float32 // 0 white highlight .. 1 highlight in the polish colour (metal)
	keepGloss float32 // how much of the photo's own bright glints survive
	bands     float32 // chrome: reflections varying along the nail
	shimmer   float32 // fine per-pixel sparkle
	glitter   float32 // density of bright flecks
	french    bool
	sheer     bool
}

func lookOf(m Material) look {
	l := look{contrast: 0.8, highlight: 0.35, keepGloss: 0.4}
	switch m.Finish {
	case Glossy:
		l.highlight, l.keepGloss = 0.55, 0.8
	case Matte:
		l.contrast, l.flatten, l.highlight, l.keepGloss = 0.5, 0.6, 0, 0
	case Metallic:
		l.contrast, l.highlight, l.tint, l.keepGloss = 1.6, 0.6, 0.6, 0.6
	case Chrome:
		l.contrast, l.highlight, l.tint, l.keepGloss, l.bands = 1.8, 0.8, 0.3, 0.8, 0.45
	case Shimmer:
		l.shimmer, l.highlight = 0.18, 0.4
	case Glitter:
		l.glitter, l.shimmer, l.highlight = 0.03, 0.1, 0.3
	case Sheer:
		l.sheer, l.highlight, l.keepGloss = true, 0.45, 0.9
	case Jelly:
		l.sheer, l.highlight, l.keepGloss = true, 0.65, 0.9
	case French:
		l.french, l.highlight, l.keepGloss = true, 0.45, 0.8
	}
	if m.Glossiness > 0 {
		l.highlight = float32(0.1 + 0.7*m.Glossiness)
		l.keepGloss = float32(m.Glossiness)
	}
	if m.Metallic > 0 {
		l.tint = float32(m.Metallic)
		l.contrast = float32(0.8 + 1.0*m.Metallic)
	}
	return l
}

// shape is a nail's geometry and lighting, from its mask: centroid, principal axis
// (base -> tip), half extents along and across it, mean and bright luminance.
type shape struct {
	cx, cy     float32
	ux, uy     float32 // unit vector from cuticle to tip
	halfU      float32
	halfV      float32
	meanL, p90 float32
}

func luma(r, g, b float32) float32 { return 0.299*r + 0.587*g + 0.114*b }

func analyse(img *image.RGBA, m *Mask, hx, hy float64, many bool) shape {
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
	// Major axis of the covariance ellipse.
	theta := 0.5 * math.Atan2(2*sxy, sxx-syy)
	ux, uy := math.Cos(theta), math.Sin(theta)
	tr, det := sxx+syy, sxx*syy-sxy*sxy
	disc := math.Sqrt(math.Max(0, tr*tr/4-det))
	l1, l2 := tr/2+disc, math.Max(tr/2-disc, 1e-6)
	// Tip end: away from the hand centre; a lone nail is assumed to point up.
	toX, toY := cx-hx, cy-hy
	if !many || math.Hypot(toX, toY) < 1 {
		toX, toY = 0, -1
	}
	if ux*toX+uy*toY < 0 {
		ux, uy = -ux, -uy
	}
	var acc, p90 float64
	for i, v := range hist {
		acc += v
		if acc >= 0.9*sw {
			p90 = float64(i+1) / 64
			break
		}
	}
	return shape{
		cx: float32(cx), cy: float32(cy), ux: float32(ux), uy: float32(uy),
		// An ellipse's half axis is 2 standard deviations.
		halfU: float32(math.Max(1, 2*math.Sqrt(l1))), halfV: float32(math.Max(1, 2*math.Sqrt(l2))),
		meanL: float32(math.Max(0.05, sl/sw)), p90: float32(p90),
	}
}

func smoothstep(a, b, x float32) float32 {
	t := (x - a) / (b - a)
	if t < 0 {
		return 0
	}
	if t > 1 {
		return 1
	}
	return t * t * (3 - 2*t)
}

// hash01 is a deterministic per-pixel random number in [0,1).
func hash01(x, y, seed uint32) float32 {
	h := x*0x8da6b343 ^ y*0xd8163841 ^ seed*0xcb1ab31f
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return float32(h&0xffffff) / float32(1<<24)
}

func paintNail(img *image.RGBA, m *Mask, s shape, l look, base, tip RGB, opacity float32) {
	r := m.Rect.Intersect(img.Rect)
	w := m.Rect.Dx()
	vx, vy := -s.uy, s.ux // across the nail
	var edge *freeEdge
	if l.french {
		edge = traceFreeEdge(m, s)
	}
	shading := shadeTable(s.meanL, l.contrast)
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
			// The photo's own shading, relative to the nail's mean brightness.
			shade := shading[int(L*(shadeSteps-1)+0.5)]
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
			// Bright glints already in the photo stay.
			spec += l.keepGloss * clamp((L-s.p90)/(1-s.p90+1e-3), 0, 1) * 0.6
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
			img.Pix[o] = to8(pr + (clamp(pr2, 0, 1)-pr)*k)
			img.Pix[o+1] = to8(pg + (clamp(pg2, 0, 1)-pg)*k)
			img.Pix[o+2] = to8(pb + (clamp(pb2, 0, 1)-pb)*k)
		}
	}
}

// shadeSteps is the resolution of shadeTable: the luma of 8-bit colours, to 1/1023.
const shadeSteps = 1024

// shadeTable holds the photo's shading relative to the nail's mean brightness, pow(L /
// meanL, contrast) clamped, for L = i/(shadeSteps-1): a table read per pixel instead
// of a pow (a 12 MP photo's nails are a million pixels or more; the error is under
// half a grey level).
func shadeTable(meanL, contrast float32) *[shadeSteps]float32 {
	var t [shadeSteps]float32
	for i := range t {
		L := float32(i) / (shadeSteps - 1)
		t[i] = float32(math.Pow(float64(clamp(L/meanL, 0.2, 2.5)), float64(contrast)))
	}
	return &t
}

// gaussLUT holds exp(-d*d) for d in [-4, 4] in steps of 1/256; gauss interpolates it.
var gaussLUT = func() (t [8*256 + 2]float32) {
	for i := range t {
		d := float64(i)/256 - 4
		t[i] = float32(math.Exp(-d * d))
	}
	return t
}()

// gauss is exp(-d*d) to within 1e-5.
func gauss(d float32) float32 {
	if d <= -4 || d >= 4 {
		return 0
	}
	f := (d + 4) * 256
	i := int(f)
	return gaussLUT[i] + (gaussLUT[i+1]-gaussLUT[i])*(f-float32(i))
}

// tipGrowth is how far past its mask growTip lets a nail's paint reach, in pixels.
const tipGrowth = 2

// growTip widens the mask by up to tipGrowth pixels around the tip half of the nail. The model
// tends to stop short of the free edge (it is paler than the nail bed), which left a thin
// unpainted rim at the tips; the cuticle and the sides, where the mask is right, stay.
func growTip(m *Mask, s shape) *Mask {
	r := m.Rect.Inset(-tipGrowth)
	w, h := r.Dx(), r.Dy()
	out := &Mask{Rect: r, Alpha: make([]uint8, w*h)}
	mw := m.Rect.Dx()
	for y := 0; y < m.Rect.Dy(); y++ {
		copy(out.Alpha[(y+tipGrowth)*w+tipGrowth:], m.Alpha[y*mw:(y+1)*mw])
	}
	// The nearest mask pixel's alpha, fading with distance: 85% one pixel out, 45% two.
	// Box maxima serve for rings (a closer or the pixel's own alpha always wins over
	// the same alpha fainter), computed separably.
	near1 := dilate3(out.Alpha, w, h)
	near2 := dilate3(near1, w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			a := out.Alpha[i]
			dx, dy := float32(x+r.Min.X)+0.5-s.cx, float32(y+r.Min.Y)+0.5-s.cy
			if a < 255 && (dx*s.ux+dy*s.uy)/s.halfU > 0.25 { // tip half, not fully inside
				out.Alpha[i] = max(a, uint8(float32(near1[i])*0.85), uint8(float32(near2[i])*0.45))
			}
		}
	}
	return out
}

// dilate3 is the maximum of a (w x h) over the 3x3 square around each pixel, as two
// separable passes (applied twice, the 5x5 square).
func dilate3(a []uint8, w, h int) []uint8 {
	rows := make([]uint8, len(a))
	for y := 0; y < h; y++ {
		in, out := a[y*w:(y+1)*w], rows[y*w:(y+1)*w]
		for x := range in {
			v := in[x]
			if x > 0 {
				v = max(v, in[x-1])
			}
			if x+1 < w {
				v = max(v, in[x+1])
			}
			out[x] = v
		}
	}
	out := make([]uint8, len(a))
	for y := 0; y < h; y++ {
		o := out[y*w : (y+1)*w]
		copy(o, rows[y*w:(y+1)*w])
		if y > 0 {
			for x, u := range rows[(y-1)*w : y*w] {
				o[x] = max(o[x], u)
			}
		}
		if y+1 < h {
			for x, u := range rows[(y+1)*w : (y+2)*w] {
				o[x] = max(o[x], u)
			}
		}
	}
	return out
}

// freeEdge is where a nail ends towards its tip, per position across it: the French tip
// is a band along that edge, and its inner boundary (the "smile line") curves towards
// the cuticle at the sides, as a manicurist paints it, instead of a straight cut.
type freeEdge struct {
	t [freeEdgeBins]float32 // largest t (along the nail) of the mask, per bin of v (across)
}

const freeEdgeBins = 24

// edgeBin maps v (-1..1 across the nail's half width, a little beyond at the rim) to a bin.
func edgeBin(v float32) int {
	return min(freeEdgeBins-1, max(0, int((v+1.5)/3*freeEdgeBins)))
}

func traceFreeEdge(m *Mask, s shape) *freeEdge {
	e := &freeEdge{}
	for i := range e.t {
		e.t[i] = -2 // no mask in this bin (yet)
	}
	vx, vy := -s.uy, s.ux
	w := m.Rect.Dx()
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			if m.Alpha[(y-m.Rect.Min.Y)*w+(x-m.Rect.Min.X)] < 128 {
				continue
			}
			dx, dy := float32(x)+0.5-s.cx, float32(y)+0.5-s.cy
			t := (dx*s.ux + dy*s.uy) / s.halfU
			b := edgeBin((dx*vx + dy*vy) / s.halfV)
			e.t[b] = max(e.t[b], t)
		}
	}
	// Smooth the jagged pixel edge; empty bins take their neighbours' values.
	var sm [freeEdgeBins]float32
	for i := range e.t {
		var sum, n float32
		for j := max(0, i-1); j <= min(freeEdgeBins-1, i+1); j++ {
			if e.t[j] > -2 {
				sum += e.t[j]
				n++
			}
		}
		sm[i] = -2
		if n > 0 {
			sm[i] = sum / n
		}
	}
	e.t = sm
	return e
}

// tip is the French tip's weight at (t, v): 1 within a band along the free edge that is
// deeper at the sides than in the middle, 0 below it, with a soft line between.
func (e *freeEdge) tip(t, v float32) float32 {
	end := e.t[edgeBin(v)]
	if end <= -2 {
		return 0
	}
	depth := 0.3 * (1 + 0.9*v*v) // in half-lengths: about 15% of the nail at the middle
	return smoothstep(end-depth-0.04, end-depth+0.04, t)
}

func to8(v float32) uint8 { return uint8(clamp(v, 0, 1)*255 + 0.5) }
