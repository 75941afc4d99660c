package segment

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

	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/nails"
)

// The fixture models (tools/fixtures/make_fixtures.py) emit fixed tensors for a 64x64
// input. A 128x96 photo letterboxes to 64x48 at y offset 8, so photo = 2*(model - (0,8)).

func segmentFixture(t *testing.T, name string) *nails.Result {
	s := openFixture(t, name)
	res, err := s.SegmentPhoto(context.Background(), nails.NewPhoto(testimg.Solid(128, 96, color.RGBA{90, 60, 50, 255})))
	require.NoError(t, err)
	assert.Equal(t, 128, res.Width)
	assert.Equal(t, 96, res.Height)
	assert.Equal(t, "fixture-"+name+"@0.0.1", res.Model)
	return res
}

func TestPostprocessSemantic(t *testing.T) {
	res := segmentFixture(t, "semantic")
	// The rectangle, the ring; the speck at model y=60 lies in the letterbox padding.
	require.Len(t, res.Nails, 2)
	rect, ring := res.Nails[0], res.Nails[1]
	assert.Equal(t, 1, rect.ID)
	assert.True(t, testimg.RectNear(rect.Box, 20, 0, 40, 44, 1), "rect box %v", rect.Box)
	assert.InDelta(t, sigmoid(5), rect.Score, 1e-3)
	assert.InDelta(t, 20*44, rect.Area, 40)
	assert.Len(t, rect.Contours, 1)
	assert.Len(t, rect.Polygon(), 8, "a rectangle simplifies to its 4 corners")

	assert.Equal(t, 2, ring.ID)
	assert.True(t, testimg.RectNear(ring.Box, 70, 54, 106, 90, 2), "ring box %v", ring.Box)
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

func TestPostprocessRFDETR(t *testing.T) {
	res := segmentFixture(t, "rfdetr")
	require.Len(t, res.Nails, 2)
	a, b := res.Nails[0], res.Nails[1]
	assert.Equal(t, 0, a.Class)
	assert.InDelta(t, sigmoid(3), a.Score, 1e-4)
	assert.True(t, testimg.RectNear(a.Box, 16, 0, 48, 32, 1), "query 0 box %v", a.Box)
	assert.Equal(t, 1, b.Class)
	assert.InDelta(t, sigmoid(2), b.Score, 1e-4)
	assert.True(t, testimg.RectNear(b.Box, 72, 40, 104, 88, 2), "query 1 box %v", b.Box)
}

func TestPostprocessYOLO(t *testing.T) {
	res := segmentFixture(t, "yolo")
	// Anchor 1 duplicates anchor 0 and is suppressed; anchor 3 is below threshold.
	require.Len(t, res.Nails, 2)
	a, b := res.Nails[0], res.Nails[1]
	assert.InDelta(t, 0.9, a.Score, 1e-5)
	assert.True(t, testimg.RectNear(a.Box, 20, 4, 44, 28, 1), "anchor 0 box %v (mask cropped to the box)", a.Box)
	assert.InDelta(t, 0.7, b.Score, 1e-5)
	assert.True(t, testimg.RectNear(b.Box, 86, 48, 106, 80, 1), "anchor 2 box %v", b.Box)
}

// With hflip TTA the batch holds the photo and its mirror image and the postprocessor averages
// the two maps, mirrored back. The fixture ignores its input, so the averaged map is
// M(x)+M(63-x) over 2: every shape appears with its mirror image at half strength
// (rectangle: (5-5)/2 = 0, p 0.5; ring: (4-5)/2, p 0.38), so at threshold 0.35 both
// come with a mirrored twin, and the result is left-right symmetric.
func TestPostprocessSemanticHFlip(t *testing.T) {
	s := openSemanticWith(t, `"threshold": 0.5,`, `"threshold": 0.35, "tta": "hflip",`)
	assert.Equal(t, 2, s.Manifest().Batch())
	res, err := s.SegmentPhoto(context.Background(), nails.NewPhoto(testimg.Solid(128, 96, color.RGBA{90, 60, 50, 255})))
	require.NoError(t, err)
	require.Len(t, res.Nails, 4)
	for _, n := range res.Nails {
		found := false
		for _, o := range res.Nails {
			found = found || testimg.RectNear(o.Box, 128-n.Box.Max.X, n.Box.Min.Y, 128-n.Box.Min.X, n.Box.Max.Y, 1)
		}
		assert.True(t, found, "nail %v has a mirror image", n.Box)
		assert.True(t, math.Abs(n.Score-0.5) < 0.02 || math.Abs(n.Score-0.378) < 0.02, "half strength: averaged with background (%v)", n.Score)
	}
}

// openSemanticWith opens the semantic fixture with old in its manifest replaced by with.
func openSemanticWith(t *testing.T, old, with string) *Segmenter {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "semantic.json"))
	require.NoError(t, err)
	require.Contains(t, string(raw), old)
	man := strings.Replace(string(raw), old, with, 1)
	man = strings.Replace(man, `"file": "semantic.onnx"`, `"file": "`+mustAbs(t, filepath.Join("..", "testdata", "semantic.onnx"))+`"`, 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.json"), []byte(man), 0o644))
	s, err := Open(context.Background(), Config{Model: filepath.Join(dir, "m.json"), Backend: "onnxruntime", Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// output.min_score drops a component whose mean probability is under it: the fixture's
// rectangle (logit 5, p 0.993) stays and its ring (logit 4, p 0.982) goes at 0.99; at
// 0.98 both stay.
func TestPostprocessSemanticMinScore(t *testing.T) {
	for _, c := range []struct {
		minScore string
		want     int
	}{{"0.99", 1}, {"0.98", 2}} {
		s := openSemanticWith(t, `"min_area": 4}`, `"min_area": 4, "min_score": `+c.minScore+`}`)
		res, err := s.SegmentPhoto(context.Background(), nails.NewPhoto(testimg.Solid(128, 96, color.RGBA{90, 60, 50, 255})))
		require.NoError(t, err)
		require.Len(t, res.Nails, c.want, "min_score %s", c.minScore)
		assert.InDelta(t, sigmoid(5), res.Nails[0].Score, 1e-3, "the rectangle is kept")
	}
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
func TestPostprocessSemanticMaskThreshold(t *testing.T) {
	var areas []int
	for _, at := range []string{"0.9", "0.1"} {
		s := openSemanticWith(t, `"min_area": 4}`, `"min_area": 4, "mask_threshold": `+at+`}`)
		res, err := s.SegmentPhoto(context.Background(), nails.NewPhoto(testimg.Solid(128, 96, color.RGBA{90, 60, 50, 255})))
		require.NoError(t, err)
		require.Len(t, res.Nails, 2, "mask_threshold %s", at)
		assert.InDelta(t, sigmoid(5), res.Nails[0].Score, 1e-3)
		areas = append(areas, res.Nails[0].Area)
	}
	assert.Greater(t, areas[1], areas[0], "the rectangle's mask at 0.1 (%d px) is larger than at 0.9 (%d px)", areas[1], areas[0])
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }
