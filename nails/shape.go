package nails

import (
	"image"
	"math"
)

// shape is a nail's geometry and lighting, from its mask: centroid, principal axis
// (base -> tip), half extents along and across it, mean and bright luminance.
type shape struct {
	cx, cy     float32
	ux, uy     float32 // unit vector from cuticle to tip
	halfU      float32
	halfV      float32
	meanL, p90 float32
}

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
