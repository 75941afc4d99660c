package nails

import (
	"image"
	"math"
)

// shading is a nail's lighting as opaque polish keeps it: the photo's luminance as a
// smooth field over the nail, a quadratic in the nail's own coordinates (t along it,
// v across, both -1..1), fitted robustly. What is painted on the nail or reflected in
// it (a French tip's white, nail art, a window's glint) is an outlier to that fit and
// is left out, so an opaque finish covers it instead of showing it through as shading.
type shading struct {
	c    [6]float32 // L(t, v) = c0 + c1·t + c2·v + c3·t² + c4·v² + c5·t·v
	mean float32    // the field's mean over the nail: shading is relative to it
}

// at is the field at (t, v).
func (f *shading) at(t, v float32) float32 {
	return f.c[0] + t*(f.c[1]+f.c[3]*t+f.c[5]*v) + v*(f.c[2]+f.c[4]*v)
}

// shadingSamples bounds the pixels a fit reads: a 12 MP nail (a quarter of a
// megapixel) is sampled on a grid, a small one read whole.
const shadingSamples = 4096

// fitShading fits the shading of the nail m (full resolution, shape s) in img. The fit
// is least squares twice over: first on the pixels whose luminance is within a few
// MADs of the nail's median (a pattern covering less than half the nail is not the
// median), then on those within 2.5 robust deviations of that first fit. The
// samples are kept in b between nails.
func fitShading(img *image.RGBA, m *Mask, s shape, b *paintBuffers) shading {
	r := m.Rect.Intersect(img.Rect)
	step := max(1, int(math.Sqrt(float64(r.Dx()*r.Dy())/shadingSamples)))
	w := m.Rect.Dx()
	samples := b.samples[:0]
	vx, vy := -s.uy, s.ux
	invU, invV := 1/s.halfU, 1/s.halfV
	for y := r.Min.Y + step/2; y < r.Max.Y; y += step {
		row := (y - m.Rect.Min.Y) * w
		dy := float32(y) + 0.5 - s.cy
		for x := r.Min.X + step/2; x < r.Max.X; x += step {
			if m.Alpha[row+x-m.Rect.Min.X] < 128 {
				continue
			}
			p := img.Pix[img.PixOffset(x, y):][:3:3]
			dx := float32(x) + 0.5 - s.cx
			samples = append(samples, (dx*s.ux+dy*s.uy)*invU, (dx*vx+dy*vy)*invV, lumaR[p[0]]+lumaG[p[1]]+lumaB[p[2]])
		}
	}
	b.samples = samples
	n := len(samples) / 3
	if n == 0 {
		return shading{c: [6]float32{s.meanL}, mean: s.meanL}
	}
	// The luminance's median and spread, from a histogram (to 1/1024).
	dev := b.dev[:0]
	for i := 2; i < len(samples); i += 3 {
		dev = append(dev, samples[i])
	}
	med := quantile(dev, 0.5)
	for i := range dev {
		dev[i] = abs32(dev[i] - med)
	}
	keep := max(3*1.4826*quantile(dev, 0.5), 0.04)
	fit, ok := fitQuadratic(samples, func(t, v, l float32) bool { return abs32(l-med) <= keep })
	if !ok {
		return shading{c: [6]float32{med}, mean: med}
	}
	// Residuals of the first fit over every sample, then the second fit.
	dev = dev[:0]
	for i := 0; i < len(samples); i += 3 {
		dev = append(dev, abs32(samples[i+2]-fit.at(samples[i], samples[i+1])))
	}
	b.dev = dev
	keep = max(2.5*1.4826*quantile(dev, 0.5), 0.02)
	first := fit
	if fit, ok = fitQuadratic(samples, func(t, v, l float32) bool { return abs32(l-first.at(t, v)) <= keep }); !ok {
		fit = first
	}
	return fit
}

// fitQuadratic is the least-squares quadratic in (t, v) through the samples (t, v, L
// triples) that use accepts, with the mean of those samples' L; ok is false when fewer
// than a dozen are accepted.
func fitQuadratic(samples []float32, use func(t, v, l float32) bool) (shading, bool) {
	var a [6][7]float64 // normal equations, right-hand side in column 6
	var sum float64
	n := 0
	for i := 0; i < len(samples); i += 3 {
		t, v, l := samples[i], samples[i+1], samples[i+2]
		if !use(t, v, l) {
			continue
		}
		ft, fv := float64(t), float64(v)
		phi := [6]float64{1, ft, fv, ft * ft, fv * fv, ft * fv}
		for j := range 6 {
			for k := j; k < 6; k++ {
				a[j][k] += phi[j] * phi[k]
			}
			a[j][6] += phi[j] * float64(l)
		}
		sum += float64(l)
		n++
	}
	if n < 12 {
		return shading{}, false
	}
	for j := range 6 {
		for k := 0; k < j; k++ {
			a[j][k] = a[k][j]
		}
	}
	// A little ridge on the curvature and slopes: a nail seen edge-on (samples on a
	// line) has directions the data cannot fix, and there the field stays flat.
	for j := 1; j < 6; j++ {
		a[j][j] += 1e-3 * float64(n)
	}
	c, ok := solve6(&a)
	if !ok {
		return shading{}, false
	}
	f := shading{mean: float32(sum / float64(n))}
	for j := range c {
		f.c[j] = float32(c[j])
	}
	return f, true
}

// solve6 solves the 6x6 system a (augmented) by Gaussian elimination with partial
// pivoting.
func solve6(a *[6][7]float64) ([6]float64, bool) {
	var x [6]float64
	for col := range 6 {
		p := col
		for r := col + 1; r < 6; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-12 {
			return x, false
		}
		a[col], a[p] = a[p], a[col]
		for r := col + 1; r < 6; r++ {
			f := a[r][col] / a[col][col]
			for k := col; k < 7; k++ {
				a[r][k] -= f * a[col][k]
			}
		}
	}
	for r := 5; r >= 0; r-- {
		v := a[r][6]
		for k := r + 1; k < 6; k++ {
			v -= a[r][k] * x[k]
		}
		x[r] = v / a[r][r]
	}
	return x, true
}

// quantile is the q-quantile of v (values in 0..1, or deviations of them), read from a
// 1024-bin histogram: to within a thousandth, without sorting.
func quantile(v []float32, q float64) float32 {
	var hist [1024]int32
	for _, x := range v {
		hist[min(1023, max(0, int(x*1024)))]++
	}
	target := int32(math.Ceil(q * float64(len(v))))
	var acc int32
	for i, c := range hist {
		if acc += c; acc >= target && c > 0 {
			return (float32(i) + 0.5) / 1024
		}
	}
	return 1
}

func abs32(v float32) float32 { return max(v, -v) }
