package nails

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func maskFrom(rows ...string) ([]uint8, int, int) {
	h, w := len(rows), len(rows[0])
	m := make([]uint8, w*h)
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				m[y*w+x] = 1
			}
		}
	}
	return m, w, h
}

func ringArea(rings []Contour) int {
	s := 0
	for _, r := range rings {
		s += shoelace(r.Points)
	}
	return s / 2
}

func TestTraceContours(t *testing.T) {
	cases := []struct {
		name         string
		rows         []string
		outer, holes int
	}{
		{"single pixel", []string{"#"}, 1, 0},
		{"square", []string{"##", "##"}, 1, 0},
		{"L shape", []string{"#..", "#..", "###"}, 1, 0},
		{"ring", []string{"###", "#.#", "###"}, 1, 1},
		{"two blobs", []string{"##...", "##..#"}, 2, 0},
		{"diagonal pixels are one 8-connected ring", []string{"#.", ".#"}, 1, 0},
		{"anti-diagonal", []string{".#", "#."}, 1, 0},
		{"two holes", []string{"#####", "#.#.#", "#####"}, 1, 2},
		{"blob inside a hole", []string{"#####", "#...#", "#.#.#", "#...#", "#####"}, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, w, h := maskFrom(c.rows...)
			rings := traceContours(m, w, h, image.Point{10, 20})
			outer, holes := 0, 0
			for _, r := range rings {
				if r.Hole {
					holes++
				} else {
					outer++
				}
				for _, p := range r.Points {
					assert.True(t, p.X >= 10 && p.X <= 10+w && p.Y >= 20 && p.Y <= 20+h, "vertex %v outside", p)
				}
			}
			assert.Equal(t, c.outer, outer, "outer rings")
			assert.Equal(t, c.holes, holes, "holes")
			// Signed ring areas add up to the pixel count exactly.
			n := 0
			for _, v := range m {
				n += int(v)
			}
			assert.Equal(t, n, ringArea(rings))
		})
	}
}

// Rings come in raster order of their first corner, each starting there: the order and
// vertices API clients have always been given (these are the tracer's output before it
// kept its table between calls).
func TestTraceContoursOrder(t *testing.T) {
	m, w, h := maskFrom("#####.#", "#...#..", "#.#.#.#", "#...###", "#####..")
	pts := func(xy ...int) []image.Point {
		var p []image.Point
		for i := 0; i < len(xy); i += 2 {
			p = append(p, image.Pt(xy[i], xy[i+1]))
		}
		return p
	}
	assert.Equal(t, []Contour{
		{Points: pts(0, 0, 5, 0, 5, 3, 6, 3, 6, 2, 7, 2, 7, 4, 5, 4, 5, 5, 0, 5)},
		{Points: pts(6, 0, 7, 0, 7, 1, 6, 1)},
		{Points: pts(1, 1, 1, 4, 4, 4, 4, 1), Hole: true},
		{Points: pts(2, 2, 3, 2, 3, 3, 2, 3)},
	}, traceContours(m, w, h, image.Point{}))
}

// traceContours keeps its corner table between calls (all zero, so a call neither fills
// nor scans it whole): masks of every size in a row, growing and shrinking the table,
// must each be traced as if first, and the same mask must give the same rings every time.
func TestTraceContoursReusesItsTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	first, fw, fh := randomMask(rng, 17, 9, 0.5)
	want := traceContours(first, fw, fh, image.Point{})
	for trial := range 300 {
		w, h := 1+rng.IntN(60), 1+rng.IntN(60)
		m, _, _ := randomMask(rng, w, h, rng.Float64())
		n := 0
		for _, v := range m {
			n += int(v)
		}
		require.Equal(t, n, ringArea(traceContours(m, w, h, image.Point{})), "trial %d: %dx%d", trial, w, h)
		if trial%50 == 0 {
			require.Equal(t, want, traceContours(first, fw, fh, image.Point{}), "trial %d", trial)
		}
	}
}

func randomMask(rng *rand.Rand, w, h int, density float64) ([]uint8, int, int) {
	m := make([]uint8, w*h)
	for i := range m {
		if rng.Float64() < density {
			m[i] = 1
		}
	}
	return m, w, h
}

func TestSimplify(t *testing.T) {
	// A 20x10 rectangle traced with a staircase-free boundary keeps its 4 corners.
	rows := make([]string, 10)
	for i := range rows {
		rows[i] = "####################"
	}
	m, w, h := maskFrom(rows...)
	rings := traceContours(m, w, h, image.Point{})
	require.Len(t, rings, 1)
	assert.Len(t, rings[0].Points, 4)
	// A circle loses most vertices at tolerance 1 but stays within it.
	circle := make([]uint8, 41*41)
	for y := 0; y < 41; y++ {
		for x := 0; x < 41; x++ {
			if (x-20)*(x-20)+(y-20)*(y-20) <= 400 {
				circle[y*41+x] = 1
			}
		}
	}
	rings = traceContours(circle, 41, 41, image.Point{})
	require.Len(t, rings, 1)
	full := rings[0].Points
	simple := simplify(full, 1)
	assert.Less(t, len(simple), len(full)/2)
	assert.GreaterOrEqual(t, len(simple), 8)
	for _, p := range full {
		best := 1e9
		for i := range simple {
			best = min(best, segDist2(p, simple[i], simple[(i+1)%len(simple)]))
		}
		assert.LessOrEqual(t, best, 1.0+1e-9, "vertex %v is %v px from the simplified ring", p, best)
	}
	assert.Equal(t, full, simplify(full, 0), "tolerance 0 keeps every vertex")
}
