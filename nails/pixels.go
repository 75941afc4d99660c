package nails

// clamp limits v to [lo, hi]. Branches, not min and max: for floats those keep NaN and
// order -0 before +0, which costs several instructions per call in the pixel loops
// (15% of a paint profile); a NaN comes back as itself here.
func clamp[T int | float32](v, lo, hi T) T {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// clamp01 is v clamped to [0, 1].
func clamp01(v float32) float32 { return clamp(v, 0, 1) }

func to8(v float32) uint8 { return uint8(clamp01(v)*255 + 0.5) }

// unit8 is v/255 for each 8-bit v.
var unit8 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

func luma(r, g, b float32) float32 { return 0.299*r + 0.587*g + 0.114*b }

// lumaR, lumaG and lumaB are luma's three terms for each 8-bit channel value: luma of
// a pixel is their sum, bit for bit what luma(r/255, g/255, b/255) computes.
var lumaR, lumaG, lumaB = func() (r, g, b [256]float32) {
	for i := range r {
		v := unit8[i]
		r[i], g[i], b[i] = 0.299*v, 0.587*v, 0.114*v
	}
	return r, g, b
}()
