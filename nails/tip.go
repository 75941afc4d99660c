package nails

import (
	"image"
	"math"
)

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
