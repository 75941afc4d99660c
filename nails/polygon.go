package nails

import (
	"image"
	"math"
	"slices"
	"sync"
)

// traceScratch is traceContours' memory between calls: the per-corner edge table (all
// zero between calls, so a call neither fills nor scans the whole of it), the corners
// that have edges, and the ring being walked (each ring kept is copied out at its final
// length).
type traceScratch struct {
	edges   [][2]int8
	corners []int32
	pts     []image.Point
}

var tracePool = sync.Pool{New: func() any { return new(traceScratch) }}

// traceContours returns every boundary ring of a binary mask (w x h, 1 = set) offset by
// origin: outer rings and holes, for any number of components.
//
// Method: each set pixel contributes the edges it shares with unset pixels, directed so
// the set pixel is on the right (clockwise around regions in image coordinates). Every
// corner then has as many edges in as out, and following them yields closed rings. At a
// saddle (two diagonal set pixels) the walk turns left, keeping diagonal pixels in one
// ring, the 8-connectivity the components use. Outer rings have positive shoelace area,
// holes negative.
func traceContours(mask []uint8, w, h int, origin image.Point) []Contour {
	at := func(x, y int) bool { return x >= 0 && y >= 0 && x < w && y < h && mask[y*w+x] != 0 }
	vw := w + 1
	// Up to two outgoing edges per corner, stored as direction+1 (directions 0=E 1=S
	// 2=W 3=N; 0 = none). The corners given edges are listed as they get them, so the
	// walks below visit just those, in raster order, and not the whole table.
	sc := tracePool.Get().(*traceScratch)
	defer tracePool.Put(sc)
	out := resize(&sc.edges, vw*(h+1))
	corners := sc.corners[:0]
	add := func(x, y int, d int8) {
		c := y*vw + x
		o := &out[c]
		if o[0] == 0 {
			o[0] = d + 1
			corners = append(corners, int32(c))
		} else {
			o[1] = d + 1
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask[y*w+x] == 0 {
				continue
			}
			if !at(x, y-1) {
				add(x, y, 0) // top edge, heading east
			}
			if !at(x+1, y) {
				add(x+1, y, 1) // right edge, heading south
			}
			if !at(x, y+1) {
				add(x+1, y+1, 2) // bottom edge, heading west
			}
			if !at(x-1, y) {
				add(x, y+1, 3) // left edge, heading north
			}
		}
	}
	dx := [4]int{1, 0, -1, 0}
	dy := [4]int{0, 1, 0, -1}
	slices.Sort(corners)
	var rings []Contour
	for _, c := range corners {
		start := int(c)
		for out[start][0] != 0 {
			sx, sy := start%vw, start/vw
			x, y := sx, sy
			d0 := take(&out[start], -1)
			d := d0
			pts := sc.pts[:0]
			for {
				pts = append(pts, image.Point{x + origin.X, y + origin.Y})
				x, y = x+dx[d], y+dy[d]
				o := &out[y*vw+x]
				if x == sx && y == sy {
					// Back at the start: close unless this is a saddle whose left turn
					// (the rule every corner follows) is the other edge, not d0.
					if o[0] == 0 || leftOf(d) == d0 || o[0]-1 != leftOf(d) {
						break
					}
				}
				nd := take(o, d)
				if nd < 0 {
					break // cannot happen for a consistent edge set; never loop forever
				}
				d = nd
			}
			sc.pts = pts
			if ring := dropCollinear(pts); len(ring) >= 3 {
				rings = append(rings, Contour{Points: ring, Hole: shoelace(ring) < 0})
			}
		}
	}
	// The walks use up a consistent edge set; whatever is left is cleared, keeping the
	// table all zero for the next call.
	for _, c := range corners {
		out[c] = [2]int8{}
	}
	sc.corners = corners
	return rings
}

func leftOf(in int8) int8 { return (in + 3) % 4 }

// take removes and returns an outgoing edge of a corner. With two (a saddle) it prefers
// a left turn relative to the incoming direction in (-1: first edge).
func take(o *[2]int8, in int8) int8 {
	if o[0] == 0 {
		return -1
	}
	pick := 0
	if o[1] != 0 && in >= 0 && o[1]-1 == leftOf(in) {
		pick = 1
	}
	d := o[pick] - 1
	if pick == 0 {
		o[0], o[1] = o[1], 0
	} else {
		o[1] = 0
	}
	return d
}

// dropCollinear returns the corners where the ring turns, in new memory of their
// exact number (pts is scratch).
func dropCollinear(pts []image.Point) []image.Point {
	n := len(pts)
	if n < 3 {
		return slices.Clone(pts)
	}
	turns := func(i int) bool {
		a, b, c := pts[(i+n-1)%n], pts[i], pts[(i+1)%n]
		return (b.X-a.X)*(c.Y-b.Y)-(b.Y-a.Y)*(c.X-b.X) != 0
	}
	k := 0
	for i := range n {
		if turns(i) {
			k++
		}
	}
	out := make([]image.Point, 0, k)
	for i := range n {
		if turns(i) {
			out = append(out, pts[i])
		}
	}
	return out
}

// shoelace returns twice the signed area of a ring (positive = clockwise in image
// coordinates, i.e. an outer ring here).
func shoelace(pts []image.Point) int {
	s := 0
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		s += a.X*b.Y - b.X*a.Y
	}
	return s
}

// simplify applies Douglas-Peucker to a closed ring with the given tolerance in pixels,
// keeping at least 3 points. tolerance <= 0 returns the ring unchanged.
func simplify(pts []image.Point, tolerance float64) []image.Point {
	if tolerance <= 0 || len(pts) <= 4 {
		return pts
	}
	// Split the ring at its first point and the point farthest from it, then simplify
	// the two open chains.
	far, best := 0, -1.0
	for i, p := range pts {
		if d := dist2(p, pts[0]); d > best {
			far, best = i, d
		}
	}
	sc := simplifyPool.Get().(*simplifyScratch)
	defer simplifyPool.Put(sc)
	keep := resize(&sc.keep, len(pts))
	clear(keep)
	keep[0], keep[far] = true, true
	dp(pts, 0, far, tolerance*tolerance, keep)
	ring := append(append(sc.ring[:0], pts[far:]...), pts[0])
	sc.ring = ring
	keepRing := resize(&sc.keepRing, len(ring))
	clear(keepRing)
	keepRing[0], keepRing[len(ring)-1] = true, true
	dp(ring, 0, len(ring)-1, tolerance*tolerance, keepRing)
	for i := 1; i < len(ring)-1; i++ {
		if keepRing[i] {
			keep[far+i] = true
		}
	}
	k := 0
	for _, kept := range keep {
		if kept {
			k++
		}
	}
	if k < 3 {
		return pts
	}
	out := make([]image.Point, 0, k)
	for i, p := range pts {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}

// simplifyScratch is simplify's memory between calls: which points stay, and the
// second chain with its flags.
type simplifyScratch struct {
	keep, keepRing []bool
	ring           []image.Point
}

var simplifyPool = sync.Pool{New: func() any { return new(simplifyScratch) }}

func dp(pts []image.Point, a, b int, tol2 float64, keep []bool) {
	if b <= a+1 {
		return
	}
	idx, best := -1, tol2
	for i := a + 1; i < b; i++ {
		if d := segDist2(pts[i], pts[a], pts[b]); d > best {
			idx, best = i, d
		}
	}
	if idx < 0 {
		return
	}
	keep[idx] = true
	dp(pts, a, idx, tol2, keep)
	dp(pts, idx, b, tol2, keep)
}

func dist2(a, b image.Point) float64 {
	dx, dy := float64(a.X-b.X), float64(a.Y-b.Y)
	return dx*dx + dy*dy
}

// segDist2 is the squared distance from p to the segment ab.
func segDist2(p, a, b image.Point) float64 {
	vx, vy := float64(b.X-a.X), float64(b.Y-a.Y)
	wx, wy := float64(p.X-a.X), float64(p.Y-a.Y)
	l2 := vx*vx + vy*vy
	if l2 == 0 {
		return wx*wx + wy*wy
	}
	t := math.Max(0, math.Min(1, (wx*vx+wy*vy)/l2))
	dx, dy := wx-t*vx, wy-t*vy
	return dx*dx + dy*dy
}
