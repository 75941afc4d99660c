package nails

import (
	"context"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixture models (tools/fixtures/make_fixtures.py) emit fixed tensors for a 64x64
// input. A 128x96 photo letterboxes to 64x48 at y offset 8, so photo = 2*(model - (0,8)).

func segmentFixture(t *testing.T, name string) *Result {
	s := openFixture(t, name)
	res, err := s.SegmentPhoto(context.Background(), NewPhoto(solidPhoto(128, 96, color.RGBA{90, 60, 50, 255})))
	require.NoError(t, err)
	assert.Equal(t, 128, res.Width)
	assert.Equal(t, 96, res.Height)
	assert.Equal(t, "fixture-"+name+"@0.0.1", res.Model)
	return res
}

func TestDecodeSemantic(t *testing.T) {
	res := segmentFixture(t, "semantic")
	// The rectangle, the ring; the speck at model y=60 lies in the letterbox padding.
	require.Len(t, res.Nails, 2)
	rect, ring := res.Nails[0], res.Nails[1]
	assert.Equal(t, 1, rect.ID)
	assert.True(t, rectNear(rect.Box, 20, 0, 40, 44, 1), "rect box %v", rect.Box)
	assert.InDelta(t, sigmoid(5), rect.Score, 1e-3)
	assert.InDelta(t, 20*44, rect.Area, 40)
	assert.Len(t, rect.Contours, 1)
	assert.Len(t, rect.Polygon(), 8, "a rectangle simplifies to its 4 corners")

	assert.Equal(t, 2, ring.ID)
	assert.True(t, rectNear(ring.Box, 70, 54, 106, 90, 2), "ring box %v", ring.Box)
	assert.InDelta(t, sigmoid(4), ring.Score, 1e-3)
	holes := 0
	for _, c := range ring.Contours {
		if c.Hole {
			holes++
		}
	}
	assert.Equal(t, 1, holes, "the ring's hole is traced")
	// Area of an annulus of radii 18 and 6 photo pixels.
	assert.InDelta(t, math.Pi*(18*18-6*6), float64(ring.Area), 60)
	// The masks do not overlap and each is inside its own box.
	for _, n := range res.Nails {
		assert.False(t, n.Mask.Inside(n.Box.Max.X+2, n.Box.Max.Y+2))
	}
}

func TestDecodeRFDETR(t *testing.T) {
	res := segmentFixture(t, "rfdetr")
	require.Len(t, res.Nails, 2)
	a, b := res.Nails[0], res.Nails[1]
	assert.Equal(t, 0, a.Class)
	assert.InDelta(t, sigmoid(3), a.Score, 1e-4)
	assert.True(t, rectNear(a.Box, 16, 0, 48, 32, 1), "query 0 box %v", a.Box)
	assert.Equal(t, 1, b.Class)
	assert.InDelta(t, sigmoid(2), b.Score, 1e-4)
	assert.True(t, rectNear(b.Box, 72, 40, 104, 88, 2), "query 1 box %v", b.Box)
}

func TestDecodeYOLO(t *testing.T) {
	res := segmentFixture(t, "yolo")
	// Anchor 1 duplicates anchor 0 and is suppressed; anchor 3 is below threshold.
	require.Len(t, res.Nails, 2)
	a, b := res.Nails[0], res.Nails[1]
	assert.InDelta(t, 0.9, a.Score, 1e-5)
	assert.True(t, rectNear(a.Box, 20, 4, 44, 28, 1), "anchor 0 box %v (mask cropped to the box)", a.Box)
	assert.InDelta(t, 0.7, b.Score, 1e-5)
	assert.True(t, rectNear(b.Box, 86, 48, 106, 80, 1), "anchor 2 box %v", b.Box)
}

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

// With hflip TTA the batch holds the photo and its mirror image and the decoder averages
// the two maps, mirrored back. The fixture ignores its input, so the averaged map is
// M(x)+M(63-x) over 2: every shape appears with its mirror image at half strength
// (rectangle: (5-5)/2 = 0, p 0.5; ring: (4-5)/2, p 0.38), so at threshold 0.35 both
// come with a mirrored twin, and the result is left-right symmetric.
func TestDecodeSemanticHFlip(t *testing.T) {
	s := openSemanticWith(t, `"threshold": 0.5,`, `"threshold": 0.35, "tta": "hflip",`)
	assert.Equal(t, 2, s.Manifest().Batch())
	res, err := s.SegmentPhoto(context.Background(), NewPhoto(solidPhoto(128, 96, color.RGBA{90, 60, 50, 255})))
	require.NoError(t, err)
	require.Len(t, res.Nails, 4)
	for _, n := range res.Nails {
		found := false
		for _, o := range res.Nails {
			found = found || rectNear(o.Box, 128-n.Box.Max.X, n.Box.Min.Y, 128-n.Box.Min.X, n.Box.Max.Y, 1)
		}
		assert.True(t, found, "nail %v has a mirror image", n.Box)
		assert.True(t, math.Abs(n.Score-0.5) < 0.02 || math.Abs(n.Score-0.378) < 0.02, "half strength: averaged with background (%v)", n.Score)
	}
}

// openSemanticWith opens the semantic fixture with old in its manifest replaced by with.
func openSemanticWith(t *testing.T, old, with string) *Segmenter {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("testdata", "semantic.json"))
	require.NoError(t, err)
	require.Contains(t, string(raw), old)
	man := strings.Replace(string(raw), old, with, 1)
	man = strings.Replace(man, `"file": "semantic.onnx"`, `"file": "`+mustAbs(t, filepath.Join("testdata", "semantic.onnx"))+`"`, 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.json"), []byte(man), 0o644))
	s, err := Open(context.Background(), Config{Model: filepath.Join(dir, "m.json"), Backend: "onnxruntime", Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// output.min_score drops a component whose mean probability is under it: the fixture's
// rectangle (logit 5, p 0.993) stays and its ring (logit 4, p 0.982) goes at 0.99; at
// 0.98 both stay.
func TestDecodeSemanticMinScore(t *testing.T) {
	for _, c := range []struct {
		minScore string
		want     int
	}{{"0.99", 1}, {"0.98", 2}} {
		s := openSemanticWith(t, `"min_area": 4}`, `"min_area": 4, "min_score": `+c.minScore+`}`)
		res, err := s.SegmentPhoto(context.Background(), NewPhoto(solidPhoto(128, 96, color.RGBA{90, 60, 50, 255})))
		require.NoError(t, err)
		require.Len(t, res.Nails, c.want, "min_score %s", c.minScore)
		assert.InDelta(t, sigmoid(5), res.Nails[0].Score, 1e-3, "the rectangle is kept")
	}
}

func TestUnflipMean(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{30, 20, 10, 60, 50, 40} // a's rows mirrored and x10
	assert.Equal(t, []float32{5.5, 11, 16.5, 22, 27.5, 33}, unflipMean(make([]float32, 6), a, b, 3))
	dst := make([]float32, 6)
	mirror(a, dst, 3)
	assert.Equal(t, []float32{3, 2, 1, 6, 5, 4}, dst)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}

// output.mask_threshold draws the kept nails' masks at another probability than the one
// that finds them: lower, the fixture's rectangle (logit 5 on -5) grows by a fraction of
// a model pixel where it meets the background (880 against 876 photo pixels); its score
// and the nails found stay the same.
func TestDecodeSemanticMaskThreshold(t *testing.T) {
	var areas []int
	for _, at := range []string{"0.9", "0.1"} {
		s := openSemanticWith(t, `"min_area": 4}`, `"min_area": 4, "mask_threshold": `+at+`}`)
		res, err := s.SegmentPhoto(context.Background(), NewPhoto(solidPhoto(128, 96, color.RGBA{90, 60, 50, 255})))
		require.NoError(t, err)
		require.Len(t, res.Nails, 2, "mask_threshold %s", at)
		assert.InDelta(t, sigmoid(5), res.Nails[0].Score, 1e-3)
		areas = append(areas, res.Nails[0].Area)
	}
	assert.Greater(t, areas[1], areas[0], "the rectangle's mask at 0.1 (%d px) is larger than at 0.9 (%d px)", areas[1], areas[0])
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
