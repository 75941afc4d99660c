package nails

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNMS(t *testing.T) {
	dets := []yoloDet{
		{0, 0, 10, 10, 0.6, 0, 0},
		{1, 0, 11, 10, 0.9, 0, 1}, // overlaps the first: keeps the better one
		{1, 0, 11, 10, 0.5, 1, 2}, // same place, other class: kept
		{50, 50, 60, 60, 0.4, 0, 3},
	}
	got := nms(dets, 0.5, 10)
	require.Len(t, got, 3)
	assert.Equal(t, 1, got[0].anchor)
	assert.Equal(t, 2, got[1].anchor)
	assert.Equal(t, 3, got[2].anchor)
	assert.Len(t, nms(dets, 0.5, 1), 1)
}

func TestUnflipMean(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{30, 20, 10, 60, 50, 40} // a's rows mirrored and x10
	assert.Equal(t, []float32{5.5, 11, 16.5, 22, 27.5, 33}, unflipMean(make([]float32, 6), a, b, 3))
	dst := make([]float32, 6)
	mirror(a, dst, 3)
	assert.Equal(t, []float32{3, 2, 1, 6, 5, 4}, dst)
}

// Reading order is a total order: any input order of the same nails gives the same
// IDs. Boxes a, b, c below overlap a-b and b-c vertically but not a-c, the case that
// made the old pairwise comparison intransitive.
func TestReadingOrderIsTotal(t *testing.T) {
	box := func(x0, y0, x1, y1 int) Nail { return Nail{Box: image.Rect(x0, y0, x1, y1)} }
	nails := []Nail{
		box(300, 0, 340, 40),   // a: first row, right
		box(100, 30, 140, 70),  // b: overlaps a and c
		box(200, 60, 240, 100), // c: below a
		box(0, 200, 40, 240),   // d: a second row
		box(50, 205, 90, 250),
	}
	want := []image.Rectangle{nails[1].Box, nails[2].Box, nails[0].Box, nails[3].Box, nails[4].Box}
	perm := []int{0, 1, 2, 3, 4}
	for range 50 {
		rand.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		got := make([]Nail, len(nails))
		for i, k := range perm {
			got[i] = nails[k]
		}
		readingOrder(got)
		for i := range got {
			assert.Equal(t, want[i], got[i].Box, "order %v, place %d", perm, i)
		}
	}
}
