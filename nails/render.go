package nails

import (
	"fmt"
	"image"
	"math"
	"slices"
	"sync"
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
	b := paintPool.Get().(*paintBuffers)
	defer paintPool.Put(b)
	forEachNail(res, m, only, func(n *Nail, p polish) {
		full := n.Mask.fullInto(&b.full) // paint per photo pixel; the cached mask may be coarser
		sh := analyse(img, full, p.hx, p.hy, p.many)
		var light shading
		if !p.look.sheer { // translucent polish shows the nail itself, pattern and all
			light = fitShading(img, full, sh, b)
		}
		paintNail(img, growTip(full, sh, b), sh, light, p.look, p.base, p.tip, p.opacity)
	})
	return nil
}

// polish is what every nail of one render is painted with, and where the hand is.
type polish struct {
	base, tip RGB
	look      look
	opacity   float32
	// The hand's centre, roughly: nails point away from it, which tells each nail's
	// tip end from its cuticle end (many: there is more than one nail to tell it by).
	hx, hy float64
	many   bool
}

// forEachNail calls paint for every nail of res with a mask, in only when only is not
// nil, with material m (defaults applied, validated) made into a polish.
func forEachNail(res *Result, m Material, only []int, paint func(*Nail, polish)) {
	p := polish{tip: RGB{1, 1, 1}, look: lookOf(m), opacity: float32(m.Opacity), many: len(res.Nails) > 1}
	p.base, _ = ParseColor(m.Color)
	if m.TipColor != "" {
		p.tip, _ = ParseColor(m.TipColor)
	}
	for _, n := range res.Nails {
		c := n.Box.Min.Add(n.Box.Max).Div(2)
		p.hx += float64(c.X)
		p.hy += float64(c.Y)
	}
	if len(res.Nails) > 0 {
		p.hx /= float64(len(res.Nails))
		p.hy /= float64(len(res.Nails))
	}
	for i := range res.Nails {
		n := &res.Nails[i]
		if n.Mask == nil || n.Area == 0 || (only != nil && !slices.Contains(only, i)) {
			continue
		}
		paint(n, p)
	}
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
	if g := m.Glossiness; g != nil {
		// 0.1 + 0.7g, faded to nothing below g = 1/8 so that no gloss means no highlight.
		l.highlight = float32(min(8**g, 1)*0.1 + 0.7**g)
		l.keepGloss = float32(*g)
	}
	// Metallic 0 is a plain polish, which every finish but a metal one already is: it
	// keeps the finish's own look (a metal finish stays metal).
	if mt := m.Metallic; mt != nil && *mt > 0 {
		l.tint = float32(*mt)
		l.contrast = float32(0.8 + 1.0**mt)
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

// analyse measures a nail from its full-resolution mask (pixels with alpha >= 128,
// weighted by alpha) and the photo under it, in one pass: the centroid and covariance
// come from integer moments (sums of a, a·x, a·x², ... per row), the luminance from
// per-channel tables. A 12 MP nail is a quarter of a megapixel.
func analyse(img *image.RGBA, m *Mask, hx, hy float64, many bool) shape {
	r := m.Rect.Intersect(img.Rect)
	w := m.Rect.Dx()
	var sw, sx, sy, sxx, syy, sxy int64
	var sl float64
	var hist [64]int64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		arow := m.Alpha[(y-m.Rect.Min.Y)*w+r.Min.X-m.Rect.Min.X:][:r.Dx()]
		prow := img.Pix[img.PixOffset(r.Min.X, y):][:4*r.Dx()]
		var rw, rx, rxx int64
		var rl float32
		for i, a8 := range arow {
			if a8 < 128 { // alpha/255 < 0.5
				continue
			}
			a, x := int64(a8), int64(r.Min.X+i)
			p := prow[4*i : 4*i+3 : 4*i+3]
			l := lumaR[p[0]] + lumaG[p[1]] + lumaB[p[2]]
			rw += a
			rx += a * x
			rxx += a * x * x
			rl += float32(a8) * l
			hist[min(63, int(l*64))] += a
		}
		// float32 per row (at most ~4,000 terms of up to 255), float64 across rows.
		sl += float64(rl)
		yy := int64(y)
		sw += rw
		sx += rx
		sy += rw * yy
		sxx += rxx
		syy += rw * yy * yy
		sxy += rx * yy
	}
	if sw == 0 {
		return shape{cx: float32(r.Min.X+r.Max.X) / 2, cy: float32(r.Min.Y+r.Max.Y) / 2, ux: 0, uy: -1, halfU: 1, halfV: 1, meanL: 0.5, p90: 1}
	}
	fw := float64(sw)
	cx, cy := float64(sx)/fw, float64(sy)/fw
	// Central moments from raw ones: exact integer sums, so no cancellation beyond
	// float64's 16 digits (a 4,000 px coordinate squared is 1.6e7).
	cxx := float64(sxx)/fw - cx*cx
	cyy := float64(syy)/fw - cy*cy
	cxy := float64(sxy)/fw - cx*cy
	var fh [64]float64
	for i, v := range hist {
		fh[i] = float64(v)
	}
	return shapeOf(cx, cy, cxx, cyy, cxy, &fh, fw, sl/fw, hx, hy, many)
}

// shapeOf turns a nail's alpha-weighted statistics into its shape: centroid (cx, cy),
// covariance (cxx, cyy, cxy), luma histogram (64 bins whose weights sum to sw) and mean
// luma; (hx, hy) is the hand's centre, many whether there are other nails.
func shapeOf(cx, cy, cxx, cyy, cxy float64, hist *[64]float64, sw, meanL, hx, hy float64, many bool) shape {
	// Major axis of the covariance ellipse.
	theta := 0.5 * math.Atan2(2*cxy, cxx-cyy)
	ux, uy := math.Cos(theta), math.Sin(theta)
	tr, det := cxx+cyy, cxx*cyy-cxy*cxy
	disc := math.Sqrt(math.Max(0, tr*tr/4-det))
	l1, l2 := math.Max(tr/2+disc, 0), math.Max(tr/2-disc, 1e-6)
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
		meanL: float32(math.Max(0.05, meanL)), p90: float32(p90),
	}
}

// lumaR, lumaG and lumaB are luma's three terms for each 8-bit channel value: luma of
// a pixel is their sum, bit for bit what luma(r/255, g/255, b/255) computes.
var lumaR, lumaG, lumaB = func() (r, g, b [256]float32) {
	for i := range r {
		v := unit8[i]
		r[i], g[i], b[i] = 0.299*v, 0.587*v, 0.114*v
	}
	return r, g, b
}()

// unit8 is v/255 for each 8-bit v.
var unit8 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

func smoothstep(a, b, x float32) float32 { return smooth01((x - a) / (b - a)) }

// ramp is smoothstep(a, a+1/inv, x) with the division done once, by the caller.
func ramp(a, inv, x float32) float32 { return smooth01((x - a) * inv) }

// smooth01 is the smoothstep curve 3t² - 2t³ of t clamped to [0, 1].
func smooth01(t float32) float32 {
	t = clamp01(t)
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

// paintNail paints one nail (m at full resolution, s its shape) into img. Per pixel it
// is a handful of float32 operations: what depends on the pixel's brightness alone
// comes from a table, what depends on the position along the nail is worked out per
// pixel only where a finish uses it, and pixels outside the mask are skipped.
//
// Opaque polish takes its shading from light, the photo's lighting smoothed over the
// nail, and covers what is on the nail (tips, art, glints): the finish's own highlight
// stands in for the photo's. Translucent polish (l.sheer) filters the photo's own
// pixels, so there the nail shows through, and its glints stay.
func paintNail(img *image.RGBA, m *Mask, s shape, light shading, l look, base, tip RGB, opacity float32) {
	r := m.Rect.Intersect(img.Rect)
	if r.Empty() {
		return
	}
	w := m.Rect.Dx()
	vx, vy := -s.uy, s.ux // across the nail
	var edge *freeEdge
	if l.french {
		edge = traceFreeEdge(m, s)
	}
	// The photo's own shading relative to the nail's mean brightness, with a matte
	// finish's flattening folded in.
	meanL := s.meanL
	if !l.sheer {
		meanL = max(0.05, light.mean)
	}
	shading := shadeTable(meanL, l.contrast)
	for i, v := range shading {
		shading[i] = v*(1-l.flatten) + l.flatten
	}
	invU, invV := 1/s.halfU, 1/s.halfV
	invGloss := 1 / (1 - s.p90 + 1e-3)
	invMean := 1 / s.meanL
	// The highlight's tint and the per-alpha weights, fixed for all but French tips.
	c := base
	hr, hg, hb := 1+(c.R-1)*l.tint, 1+(c.G-1)*l.tint, 1+(c.B-1)*l.tint
	var weight [256]float32
	for a := range weight {
		weight[a] = opacity * float32(a) / 255
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		arow := m.Alpha[(y-m.Rect.Min.Y)*w+r.Min.X-m.Rect.Min.X:][:r.Dx()]
		prow := img.Pix[img.PixOffset(r.Min.X, y):][:4*r.Dx()]
		dy := float32(y) + 0.5 - s.cy
		for i, a := range arow {
			if a == 0 {
				continue
			}
			x := r.Min.X + i
			p := prow[4*i : 4*i+3 : 4*i+3]
			pr, pg, pb := unit8[p[0]], unit8[p[1]], unit8[p[2]]
			L := lumaR[p[0]] + lumaG[p[1]] + lumaB[p[2]]
			dx := float32(x) + 0.5 - s.cx
			t := (dx*s.ux + dy*s.uy) * invU // -1 cuticle .. 1 tip
			v := (dx*vx + dy*vy) * invV     // -1 .. 1 across

			k := weight[a]
			if l.french {
				f := edge.tip(t, v)
				c = RGB{base.R + (tip.R-base.R)*f, base.G + (tip.G-base.G)*f, base.B + (tip.B-base.B)*f}
				hr, hg, hb = 1+(c.R-1)*l.tint, 1+(c.G-1)*l.tint, 1+(c.B-1)*l.tint
				k = opacity * (0.55 + 0.45*f) * float32(a) / 255 // sheer base, opaque tip
			}
			lit := L
			if !l.sheer {
				lit = clamp01(light.at(t, v))
			}
			shade := shading[int(lit*(shadeSteps-1)+0.5)]
			if l.bands > 0 {
				shade *= 1 - l.bands + l.bands*2*band(t)
			}
			if l.shimmer > 0 {
				shade *= 1 + l.shimmer*(hash01(uint32(x), uint32(y), 1)-0.5)
			}
			pr2, pg2, pb2 := c.R*shade, c.G*shade, c.B*shade
			if l.sheer {
				// Translucent polish filters the nail underneath rather than covering it.
				f := shade / max(L*invMean, 0.2)
				pr2, pg2, pb2 = pr*(0.35+0.65*c.R)*f, pg*(0.35+0.65*c.G)*f, pb*(0.35+0.65*c.B)*f
			}
			// Specular band along the nail, offset towards one side as under a ceiling
			// light, fading out at the cuticle and the free edge.
			var spec float32
			if l.highlight > 0 && t > -0.9 && t < 0.9 {
				spec = l.highlight * gauss((v+0.35)*(1/0.22)) * ramp(-0.9, 1/0.5, t) * (1 - ramp(0.45, 1/0.45, t))
			}
			// Bright glints already in the photo stay under translucent polish.
			if l.sheer && L > s.p90 {
				spec += l.keepGloss * min((L-s.p90)*invGloss, 1) * 0.6
			}
			if l.glitter > 0 && hash01(uint32(x), uint32(y), 7) < l.glitter {
				spec += 0.5 + 0.5*hash01(uint32(x), uint32(y), 9)
			}
			// Soft mask edge: anti-aliased, and nothing outside the mask changes.
			p[0] = to8(pr + (clamp01(pr2+spec*hr)-pr)*k)
			p[1] = to8(pg + (clamp01(pg2+spec*hg)-pg)*k)
			p[2] = to8(pb + (clamp01(pb2+spec*hb)-pb)*k)
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

// bandLUT holds chrome's band profile 0.5+0.5·cos(4.2t+0.6) for t in [-2, 2] (the
// axis runs -1 at the cuticle to 1 at the tip; the grown tip reaches a little past) in
// steps of 1/256; band interpolates it. A cos per pixel was a fifth of a chrome render.
var bandLUT = func() (t [4*256 + 2]float32) {
	for i := range t {
		t[i] = float32(0.5 + 0.5*math.Cos((float64(i)/256-2)*4.2+0.6))
	}
	return t
}()

// band is 0.5+0.5·cos(4.2t+0.6) to within 1e-4.
func band(t float32) float32 {
	if !(t > -2 && t < 2) {
		return float32(0.5 + 0.5*math.Cos(float64(t)*4.2+0.6))
	}
	f := (t + 2) * 256
	i := int(f)
	return bandLUT[i] + (bandLUT[i+1]-bandLUT[i])*(f-float32(i))
}

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
// The grown mask and its source are written into b's buffers.
func growTip(m *Mask, s shape, b *paintBuffers) *Mask {
	r := m.Rect.Inset(-tipGrowth)
	w, h := r.Dx(), r.Dy()
	// src is the mask on r (zero in the margin); out starts as a copy and grows, while
	// every neighbourhood is read from src, so the order pixels are visited in is moot.
	src := resize(&b.src, w*h)
	clear(src)
	mw := m.Rect.Dx()
	for y := 0; y < m.Rect.Dy(); y++ {
		copy(src[(y+tipGrowth)*w+tipGrowth:], m.Alpha[y*mw:(y+1)*mw])
	}
	out := &Mask{Rect: r, Alpha: resize(&b.grown, w*h)}
	copy(out.Alpha, src)
	tip := tipHalf(r, s)
	if tip.Empty() {
		return out
	}
	// Each row's painted extent [first, last] (first > last: none). A pixel more than
	// tipGrowth from every painted pixel has nothing within reach, so only the columns
	// within reach of the extents of the rows within reach need looking at.
	first, last := resize(&b.first, h), resize(&b.last, h)
	for y := max(tip.Min.Y-tipGrowth, 0); y < min(tip.Max.Y+tipGrowth, h); y++ {
		row := src[y*w : (y+1)*w]
		first[y], last[y] = w, -1
		for x, a := range row {
			if a != 0 {
				first[y] = x
				break
			}
		}
		for x := len(row) - 1; x >= first[y]; x-- {
			if row[x] != 0 {
				last[y] = x
				break
			}
		}
	}
	// Per row, the columns' maxima over the rows within one and two pixels (c3, c5):
	// a pixel's 3x3 and 5x5 maxima are then the maxima of 3 and 5 of them.
	c3, c5 := resize(&b.c3, w), resize(&b.c5, w)
	for y := tip.Min.Y; y < tip.Max.Y; y++ {
		lo, hi := w, -1
		for j := max(y-tipGrowth, 0); j <= min(y+tipGrowth, h-1); j++ {
			lo, hi = min(lo, first[j]), max(hi, last[j])
		}
		lo, hi = max(lo-tipGrowth, tip.Min.X), min(hi+tipGrowth, tip.Max.X-1)
		if lo > hi {
			continue
		}
		x0, x1 := max(lo-tipGrowth, 0), min(hi+tipGrowth+1, w)
		copy(c3[x0:x1], src[y*w+x0:y*w+x1])
		maxRows(c3[x0:x1], src, w, h, x0, y-1, y+1)
		copy(c5[x0:x1], c3[x0:x1])
		maxRows(c5[x0:x1], src, w, h, x0, y-2, y+2)
		dy := float32(y+r.Min.Y) + 0.5 - s.cy
		row := out.Alpha[y*w : (y+1)*w]
		for x := lo; x <= hi; x++ {
			a := row[x]
			if a >= 216 { // no neighbour, at 85% or 45%, can beat it (255 * 0.85 = 216.75)
				continue
			}
			dx := float32(x+r.Min.X) + 0.5 - s.cx
			if (dx*s.ux+dy*s.uy)/s.halfU <= 0.25 { // not the tip half
				continue
			}
			// The nearest mask pixel's alpha, fading with distance: 85% one pixel out,
			// 45% two. Square maxima serve for rings (a closer or the pixel's own alpha
			// always wins over the same alpha fainter).
			var near1, near2 uint8
			for _, v := range c3[max(x-1, 0):min(x+2, w)] {
				near1 = max(near1, v)
			}
			for _, v := range c5[max(x-2, 0):min(x+3, w)] {
				near2 = max(near2, v)
			}
			if near2 != 0 {
				row[x] = max(a, uint8(float32(near1)*0.85), uint8(float32(near2)*0.45))
			}
		}
	}
	return out
}

// maxRows raises out to a's rows ys (rows of width w from column x0; rows outside a's
// h rows are skipped).
func maxRows(out, a []uint8, w, h, x0 int, ys ...int) {
	for _, j := range ys {
		if j < 0 || j >= h {
			continue
		}
		for x, v := range a[j*w+x0 : j*w+x0+len(out)] {
			out[x] = max(out[x], v)
		}
	}
}

// tipHalf returns the part of r, in r's own pixel coordinates (0,0 at r.Min), that can
// hold pixels of s's tip half: the bounding box of the half-plane {along the axis > a
// quarter of halfU} over r's pixel centres, a pixel wider on every side for rounding.
// A shape of no length gives all of r; a NaN axis, which no pixel passes, none of it.
func tipHalf(r image.Rectangle, s shape) image.Rectangle {
	w, h := r.Dx(), r.Dy()
	all := image.Rect(0, 0, w, h)
	if !(s.halfU > 0) { // growTip's test divides by it: any pixel may pass
		return all
	}
	// f is growTip's test, minus its threshold, at a pixel centre: linear in x and y.
	f := func(x, y float64) float64 {
		dx := float64(r.Min.X) + x + 0.5 - float64(s.cx)
		dy := float64(r.Min.Y) + y + 0.5 - float64(s.cy)
		return (dx*float64(s.ux)+dy*float64(s.uy))/float64(s.halfU) - 0.25
	}
	// The region's corners: r's corner pixels on the tip side, and where f crosses zero
	// along r's edges.
	corners := [4][2]float64{{0, 0}, {float64(w - 1), 0}, {float64(w - 1), float64(h - 1)}, {0, float64(h - 1)}}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	add := func(x, y float64) {
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	for i, c := range corners {
		d := corners[(i+1)%4]
		fc, fd := f(c[0], c[1]), f(d[0], d[1])
		if fc > 0 {
			add(c[0], c[1])
		}
		if (fc > 0) != (fd > 0) {
			t := fc / (fc - fd)
			add(c[0]+t*(d[0]-c[0]), c[1]+t*(d[1]-c[1]))
		}
	}
	if x0 > x1 {
		return image.Rectangle{} // the tip half misses r
	}
	return image.Rect(int(math.Floor(x0))-1, int(math.Floor(y0))-1, int(math.Ceil(x1))+2, int(math.Ceil(y1))+2).Intersect(all)
}

// paintBuffers are one painter's scratch, reused nail after nail and, through
// paintPool, request after request: a 12 MP nail's box is a quarter of a megapixel,
// and each buffer holds one alpha per pixel of it.
type paintBuffers struct {
	full, src, grown []uint8
	samples, dev     []float32 // fitShading's
	first, last      []int     // growTip's row extents
	c3, c5           []uint8   // and its column maxima
}

var paintPool = sync.Pool{New: func() any { return new(paintBuffers) }}

// resize returns *b with length n, growing its storage only when it is too small (the
// contents are whatever was there: callers clear what they read before writing).
func resize[T any](b *[]T, n int) []T {
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return *b
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

func to8(v float32) uint8 { return uint8(clamp01(v)*255 + 0.5) }

// clamp01 is v clamped to [0, 1].
func clamp01(v float32) float32 { return clamp(v, 0, 1) }
