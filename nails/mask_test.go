package nails

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaskScaleFollowsTheModelPixel(t *testing.T) {
	for _, c := range []struct {
		w, h, scale int
	}{
		{432, 432, 1},   // the dataset: a photo pixel is more than a model pixel
		{1280, 960, 1},  // 2.5 photo pixels per model pixel
		{2016, 1512, 1}, // 3.9
		{4032, 3024, 3}, // 7.9: two cells per model pixel
		{8000, 6000, 7},
	} {
		in := testInput
		in.Width, in.Height = 512, 512
		assert.Equal(t, c.scale, NewGeometry(c.w, c.h, in).MaskScale, "%dx%d", c.w, c.h)
	}
}

// A coarse mask reads per photo pixel by interpolating between cell centres: At and Full
// agree everywhere, Scale 1 is the stored alpha itself, and Cells round up.
func TestMaskCellsAtAndFull(t *testing.T) {
	m := &Mask{Rect: image.Rect(10, 20, 18, 25), Scale: 3, Alpha: []uint8{
		0, 255, 0,
		255, 255, 128,
	}}
	gw, gh := m.Cells()
	require.Equal(t, [2]int{3, 2}, [2]int{gw, gh}, "8x5 pixels are 3x2 cells of 3")
	full := m.Full()
	require.Equal(t, m.Rect, full.Rect)
	require.Len(t, full.Alpha, 8*5)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			assert.Equal(t, full.At(x, y), m.At(x, y), "(%d,%d)", x, y)
		}
	}
	// Cell centres keep their own value; pixels between them blend.
	assert.Equal(t, uint8(255), m.At(14, 21), "the centre of cell (1,0)")
	assert.Equal(t, uint8(0), m.At(11, 21), "the centre of cell (0,0)")
	assert.Equal(t, uint8(255), m.At(11, 24), "the centre of cell (0,1)")
	assert.Equal(t, uint8(85), m.At(12, 21), "a third of the way from cell (0,0)'s centre to (1,0)'s")
	assert.Zero(t, m.At(9, 21), "outside Rect")
	assert.Zero(t, m.At(18, 21), "outside Rect")

	fine := &Mask{Rect: image.Rect(0, 0, 2, 1), Alpha: []uint8{7, 9}}
	assert.Same(t, fine, fine.Full())
	assert.Equal(t, uint8(9), fine.At(1, 0))
}

// Area, bounds and contours of a coarse mask are counted in photo pixels: partial cells
// at the right and bottom count only what lies inside Rect.
func TestMaskStatsAndContoursAtScale(t *testing.T) {
	m := &Mask{Rect: image.Rect(10, 20, 18, 25), Scale: 3, Alpha: []uint8{
		0, 255, 255,
		0, 255, 255,
	}}
	area, box := m.stats()
	assert.Equal(t, image.Rect(13, 20, 18, 25), box)
	assert.Equal(t, 5*5, area, "cells (1..2, 0..1): columns 13-17, rows 20-24")
	rings := m.contours()
	require.Len(t, rings, 1)
	assert.False(t, rings[0].Hole)
	assert.Equal(t, 2*25, abs(shoelace(simplify(rings[0].Points, 0.5))), "the ring encloses the area")
	for _, p := range rings[0].Points {
		assert.True(t, p.In(image.Rect(13, 20, 19, 26)), "%v on the box's edge", p)
	}
}

// Masks sampled at two cells per model pixel keep the boundary the model drew: decoded
// from the same logit map, they differ from per-pixel masks only next to the boundary,
// with the same area and boxes to within a cell, and their outlines follow it.
func TestCoarseMasksMatchPerPixelMasks(t *testing.T) {
	in := testInput // 64x64 input, so a 1280x960 photo is 20 photo pixels per model pixel
	g := NewGeometry(1280, 960, in)
	require.Equal(t, 10, g.MaskScale)
	fine := g
	fine.MaskScale = 1
	// A smooth logit field with three nail-like blobs (logit 6 at the centre, 0 at the rim).
	lm := logitMap{w: 64, h: 64, stride: 1, data: make([]float32, 64*64)}
	blobs := [][4]float64{{14, 24, 4, 6}, {30, 30, 5.5, 8}, {48, 36, 3, 4.5}}
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			v := float32(-8)
			for _, b := range blobs {
				dx, dy := (float64(x)+0.5-b[0])/b[2], (float64(y)+0.5-b[1])/b[3]
				v = max(v, float32(6*(1-dx*dx-dy*dy)))
			}
			lm.data[y*64+x] = v
		}
	}
	for _, b := range blobs {
		box := g.photoBox(b[0]-b[2], b[1]-b[3], b[0]+b[2], b[1]+b[3], 2)
		want := FinishNails([]Nail{{Mask: fine.softMask(lm, box, nil)}}, 1)[0]
		got := FinishNails([]Nail{{Mask: g.softMask(lm, box, nil)}}, 1)[0]
		require.Equal(t, 10, got.Mask.Scale)
		assert.Less(t, len(got.Mask.Alpha)*90, len(want.Mask.Alpha), "1/100 the cells, and a partial row and column")

		const s = 10
		// Cells count whole or not at all: the area moves by less than half a cell along
		// the outline.
		perimeter := float64(2 * (want.Box.Dx() + want.Box.Dy()))
		assert.InDelta(t, want.Area, got.Area, perimeter*s/2, "area")
		for _, d := range []int{want.Box.Min.X - got.Box.Min.X, want.Box.Min.Y - got.Box.Min.Y,
			want.Box.Max.X - got.Box.Max.X, want.Box.Max.Y - got.Box.Max.Y} {
			assert.LessOrEqual(t, abs(d), s, "box %v vs %v", got.Box, want.Box)
		}
		// Per photo pixel (Full), the two masks disagree only within a cell of the
		// per-pixel mask's boundary.
		coarse := got.Mask.Full()
		inter, union := 0, 0
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				a, b := want.Mask.Inside(x, y), coarse.Inside(x, y)
				if a && b {
					inter++
				}
				if a || b {
					union++
				}
				if a != b {
					require.True(t, nearOther(want.Mask, x, y, s), "(%d,%d) differs %d px from the boundary", x, y, s)
				}
			}
		}
		assert.Greater(t, float64(inter)/float64(union), 0.97, "IoU")
		// The outline's vertices lie within a cell of the per-pixel outline.
		for _, p := range outline(&got) {
			assert.Less(t, distToRing(want.Contours[0].Points, p), float64(s), "vertex %v", p)
		}
	}
}

// outline is the nail's main outline (Polygon) as points.
func outline(n *Nail) []image.Point {
	flat := n.Polygon()
	out := make([]image.Point, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		out = append(out, image.Pt(flat[i], flat[i+1]))
	}
	return out
}

// nearOther reports whether a pixel within r of (x, y) has the other Inside value.
func nearOther(m *Mask, x, y, r int) bool {
	v := m.Inside(x, y)
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			if m.Inside(x+dx, y+dy) != v {
				return true
			}
		}
	}
	return false
}

// distToRing is the distance from p to the closed polyline ring.
func distToRing(ring []image.Point, p image.Point) float64 {
	best := math.Inf(1)
	for i := range ring {
		best = math.Min(best, math.Sqrt(segDist2(p, ring[i], ring[(i+1)%len(ring)])))
	}
	return best
}

// TestComponentsMatchPixelLabelling holds the run-based components to the definition it
// replaced, pixel-by-pixel two-pass labelling (componentsByPixel below): the same labels,
// numbered the same way, on random maps of every density, inside random rectangles, with
// the scratch reused from call to call as the semantic postprocessor does.
func TestComponentsMatchPixelLabelling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sc componentScratch
	for trial := range 400 {
		w, h := 1+rng.IntN(40), 1+rng.IntN(40)
		density := rng.Float64()
		mask := make([]bool, w*h)
		for i := range mask {
			mask[i] = rng.Float64() < density
		}
		x0, y0 := rng.IntN(w), rng.IntN(h)
		roi := image.Rect(x0, y0, x0+1+rng.IntN(w-x0), y0+1+rng.IntN(h-y0))
		got, n := components(mask, w, h, roi, make([]int32, w*h), &sc)
		want, wantN := componentsByPixel(mask, w, roi)
		require.Equal(t, wantN, n, "trial %d: %dx%d roi %v density %.2f", trial, w, h, roi, density)
		require.Equal(t, want, got, "trial %d", trial)
	}
}

// componentsByPixel labels 8-connected regions one pixel at a time (each set pixel joins
// its W, NW, N and NE neighbours), then numbers the roots in raster order of their first
// pixel: the reference components is tested against.
func componentsByPixel(mask []bool, w int, roi image.Rectangle) ([]int32, int) {
	labels := make([]int32, len(mask))
	parent := []int32{0}
	find := func(a int32) int32 {
		for parent[a] != a {
			a = parent[a]
		}
		return a
	}
	for y := roi.Min.Y; y < roi.Max.Y; y++ {
		for x := roi.Min.X; x < roi.Max.X; x++ {
			if !mask[y*w+x] {
				continue
			}
			var l int32
			for _, d := range [4][2]int{{-1, 0}, {-1, -1}, {0, -1}, {1, -1}} {
				nx, ny := x+d[0], y+d[1]
				if nx < roi.Min.X || nx >= roi.Max.X || ny < roi.Min.Y || labels[ny*w+nx] == 0 {
					continue
				}
				r := find(labels[ny*w+nx])
				if l == 0 {
					l = r
				} else if r != l {
					parent[max(r, l)] = min(r, l)
					l = min(r, l)
				}
			}
			if l == 0 {
				l = int32(len(parent))
				parent = append(parent, l)
			}
			labels[y*w+x] = l
		}
	}
	final := make(map[int32]int32)
	for i, l := range labels {
		if l == 0 {
			continue
		}
		r := find(l)
		if final[r] == 0 {
			final[r] = int32(len(final) + 1)
		}
		labels[i] = final[r]
	}
	return labels, len(final)
}
