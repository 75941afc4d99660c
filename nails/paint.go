package nails

import (
	"image"
	"math"
)

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
