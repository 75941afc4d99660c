package nails

import (
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
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

func TestManifestRejectsBadPostProcessing(t *testing.T) {
	semantic, err := os.ReadFile(filepath.Join("testdata", "semantic.json"))
	require.NoError(t, err)
	for _, field := range []string{"min_score", "mask_threshold"} {
		for _, bad := range []string{"-0.1", "1", "1.5"} {
			man := strings.Replace(string(semantic), `"min_area": 4}`, `"min_area": 4, "`+field+`": `+bad+`}`, 1)
			_, err := parseManifest([]byte(man), "testdata")
			require.Error(t, err, "%s %s", field, bad)
			assert.Contains(t, err.Error(), field)
		}
		rfdetr, err := os.ReadFile(filepath.Join("testdata", "rfdetr.json"))
		require.NoError(t, err)
		man := strings.Replace(string(rfdetr), `"format": "rfdetr-seg",`, `"format": "rfdetr-seg", "`+field+`": 0.5,`, 1)
		require.NotEqual(t, string(rfdetr), man)
		_, err = parseManifest([]byte(man), "testdata")
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), field+" is only supported for the semantic format")
	}
}

// CacheID changes with anything that changes an answer (here the threshold and the min
// score), and not with the metrics or where the file lies.
func TestCacheIDFollowsTheSettings(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "semantic.json"))
	require.NoError(t, err)
	parse := func(old, with string) *Manifest {
		require.Contains(t, string(raw), old)
		m, err := parseManifest([]byte(strings.Replace(string(raw), old, with, 1)), "testdata")
		require.NoError(t, err)
		return m
	}
	base := parse(`"threshold": 0.5,`, `"threshold": 0.5,`)
	assert.True(t, strings.HasPrefix(base.CacheID(), "fixture-semantic@0.0.1+"), base.CacheID())
	assert.Len(t, base.CacheID(), len("fixture-semantic@0.0.1+")+12)
	for _, same := range [][2]string{
		{`"threshold": 0.5,`, `"threshold": 0.5, "metrics": {"val/hands": {"iou": 0.5}},`},
		{`"file": "semantic.onnx"`, `"file": "` + mustAbs(t, filepath.Join("testdata", "semantic.onnx")) + `"`},
	} {
		assert.Equal(t, base.CacheID(), parse(same[0], same[1]).CacheID(), same[1])
	}
	for _, other := range [][2]string{
		{`"threshold": 0.5,`, `"threshold": 0.6,`},
		{`"min_area": 4}`, `"min_area": 4, "min_score": 0.9}`},
		{`"min_area": 4}`, `"min_area": 4, "mask_threshold": 0.4}`},
	} {
		assert.NotEqual(t, base.CacheID(), parse(other[0], other[1]).CacheID(), other[1])
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
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
