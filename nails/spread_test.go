package nails

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

// withProcs runs fn with GOMAXPROCS set to procs (spread reads it on every call).
func withProcs(procs int, fn func()) {
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	fn()
}

func TestSpreadCoversEveryItemOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 5} {
		for _, n := range []int{0, 1, 2, 31, 32, 33, 100, 1000} {
			for _, grain := range []int{0, 1, 7, 32, 5000} {
				withProcs(procs, func() {
					seen := make([]atomic.Int32, n)
					var pieces atomic.Int32
					spread(n, grain, func(lo, hi int) {
						pieces.Add(1)
						assert.True(t, 0 <= lo && lo < hi && hi <= n, "piece [%d,%d) of %d", lo, hi, n)
						if procs > 1 {
							assert.LessOrEqual(t, hi-lo, max(grain, 1))
						}
						for i := lo; i < hi; i++ {
							seen[i].Add(1)
						}
					})
					for i := range seen {
						require.EqualValues(t, 1, seen[i].Load(), "item %d of %d, grain %d, %d procs", i, n, grain, procs)
					}
					if n == 0 {
						assert.Zero(t, pieces.Load(), "nothing to do: fn is not called")
					}
				})
			}
		}
	}
	withProcs(4, func() {
		var pieces atomic.Int32
		spreadRows(100, 8, func(lo, hi int) { pieces.Add(1) })
		assert.EqualValues(t, 4, pieces.Load(), "one piece per core")
		pieces.Store(0)
		spreadRows(100, 64, func(lo, hi int) { pieces.Add(1) })
		assert.EqualValues(t, 2, pieces.Load(), "pieces of at least minRows")
	})
}

// Rows and nails split across cores must give exactly what one core gives: each piece
// writes only its own outputs.
func TestPreprocessSameOnAnyNumberOfCores(t *testing.T) {
	jpg, err := Decode(testimg.JPEG(t, testimg.Pattern(640, 480), 90), Limits{})
	require.NoError(t, err)
	in := testInput
	in.Width, in.Height = 512, 512
	for name, p := range map[string]*Photo{
		"ycbcr":    jpg,
		"rgba":     NewPhoto(testimg.Pattern(640, 480)),
		"upscaled": NewPhoto(testimg.Pattern(200, 150)),
	} {
		g := NewGeometry(p.Width, p.Height, in)
		one := make([]float32, 3*512*512)
		many := make([]float32, 3*512*512)
		withProcs(1, func() { require.NoError(t, Preprocess(p, g, in, one)) })
		withProcs(3, func() { require.NoError(t, Preprocess(p, g, in, many)) })
		assert.Equal(t, one, many, name)
	}
}
