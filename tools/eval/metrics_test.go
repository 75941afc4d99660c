package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func grid(rows ...string) ([]bool, int, int) {
	w, h := len(rows[0]), len(rows)
	m := make([]bool, w*h)
	for y, r := range rows {
		for x, c := range r {
			m[y*w+x] = c == '#'
		}
	}
	return m, w, h
}

func TestMetricsPerfectAndDisjoint(t *testing.T) {
	truth, w, h := grid(
		"##......",
		"##....##",
		"......##",
	)
	var a accumulator
	a.add(truth, truth, w, h, components(truth, w, h), nil)
	r := a.result()
	for _, k := range []string{"iou", "dice", "boundary_f", "precision", "recall", "f1"} {
		assert.Equal(t, 1.0, r[k], k)
	}

	empty := make([]bool, len(truth))
	var b accumulator
	b.add(empty, truth, w, h, nil, nil)
	r = b.result()
	assert.Equal(t, 0.0, r["iou"])
	assert.Equal(t, 0.0, r["recall"])
}

func TestMetricsHalfMatch(t *testing.T) {
	truth, w, h := grid(
		"####....",
		"####....",
		"........",
	)
	// Predicts the left half of the nail plus a false nail elsewhere.
	pred, _, _ := grid(
		"##......",
		"##.....#",
		".......#",
	)
	var a accumulator
	a.add(pred, truth, w, h, components(pred, w, h), nil)
	r := a.result()
	assert.InDelta(t, 4.0/10.0, r["iou"], 1e-4) // |inter|=4, |union|=8+2
	assert.Equal(t, 0.5, r["precision"], "the half nail matches at IoU 0.5; the false one does not")
	assert.Equal(t, 1.0, r["recall"])
}

func TestMetricsInstanceMaps(t *testing.T) {
	// Three nails that touch: as components they are one, the instance map keeps them apart.
	truth, w, h := grid(
		"######..",
		"######..",
		"........",
	)
	left, _, _ := grid("##......", "##......", "........")
	mid, _, _ := grid("..##....", "..##....", "........")
	right, _, _ := grid("....##..", "....##..", "........")
	truths := [][]bool{left, mid, right}

	var merged accumulator
	merged.add(truth, truth, w, h, [][]bool{truth}, truths)
	assert.Equal(t, 0.0, merged.result()["recall"], "one blob over two nails matches neither at IoU 0.5")

	var split accumulator
	split.add(truth, truth, w, h, [][]bool{left, mid, right}, truths)
	assert.Equal(t, 1.0, split.result()["f1"])

	var comps accumulator
	comps.add(truth, truth, w, h, [][]bool{truth}, nil)
	assert.Equal(t, 1.0, comps.result()["f1"], "without instance maps the blob is one true nail")
}

func TestInstancesFromLabels(t *testing.T) {
	labels := []uint8{0, 1, 1, 0, 2, 2, 0, 0, 3}
	got := instancesFromLabels(labels)
	if assert.Len(t, got, 3) {
		assert.Equal(t, []bool{false, true, true, false, false, false, false, false, false}, got[0])
		assert.Equal(t, []bool{false, false, false, false, true, true, false, false, false}, got[1])
		assert.True(t, got[2][8])
	}
}

// TestGoldenFixture scores testdata/golden (written by tools/fixtures/make_golden.py) and
// compares every count and metric with expected.json, which tools/train/tests/test_golden.py
// checks the Python metrics against too: the two implementations must agree exactly.
func TestGoldenFixture(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	require.NoError(t, err)
	type scored struct {
		Counts  map[string]float64 `json:"counts"`
		Metrics map[string]float64 `json:"metrics"`
	}
	var want struct {
		Size       [2]int `json:"size"`
		Instances  scored `json:"instances"`
		Components scored `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &want))

	// Read as run() reads the dataset's masks and instance maps.
	pred, w, h, err := readMask(filepath.Join(dir, "pred.png"))
	require.NoError(t, err)
	truth, tw, th, err := readMask(filepath.Join(dir, "truth.png"))
	require.NoError(t, err)
	labels, lw, lh, err := readLabels(filepath.Join(dir, "instances.png"))
	require.NoError(t, err)
	require.Equal(t, [2]int{h, w}, want.Size)
	require.Equal(t, [4]int{w, h, w, h}, [4]int{tw, th, lw, lh})

	for name, c := range map[string]struct {
		truths [][]bool
		want   scored
	}{
		"instances":  {instancesFromLabels(labels), want.Instances},
		"components": {nil, want.Components},
	} {
		t.Run(name, func(t *testing.T) {
			var a accumulator
			a.add(pred, truth, w, h, components(pred, w, h), c.truths)
			got := map[string]float64{
				"inter": a.inter, "union": a.union, "psum": a.psum, "tsum": a.tsum,
				"bp_hit": a.bpHit, "bp_all": a.bpAll, "br_hit": a.brHit, "br_all": a.brAll,
				"tp": float64(a.tp), "npred": float64(a.npred), "ntrue": float64(a.ntrue),
			}
			assert.Equal(t, c.want.Counts, got)
			res := a.result()
			assert.Equal(t, 1.0, res["images"])
			for k, v := range c.want.Metrics {
				assert.InDelta(t, v, res[k], 1e-9, k)
			}
		})
	}
}

func TestRecallBySize(t *testing.T) {
	// Three true nails: 2 px, 22 px and 45 px long; the prediction finds the first and last.
	w, h := 60, 8
	nail := func(x0, x1, y int) []bool {
		m := make([]bool, w*h)
		for x := x0; x < x1; x++ {
			m[y*w+x] = true
		}
		return m
	}
	small, mid, large := nail(0, 2, 0), nail(5, 27, 2), nail(10, 55, 5)
	truths := [][]bool{small, mid, large}
	pred, truth := make([]bool, w*h), make([]bool, w*h)
	for i := range pred {
		pred[i] = small[i] || large[i]
		truth[i] = small[i] || mid[i] || large[i]
	}
	var a accumulator
	a.add(pred, truth, w, h, [][]bool{small, large}, truths)
	r := a.result()
	assert.Equal(t, 1.0, r["recall_lt20"])
	assert.Equal(t, 0.0, r["recall_20_25"])
	assert.Equal(t, 0.0, r["nails_25_40"])
	assert.Equal(t, 0.0, r["recall_25_40"], "no nails: 0, not NaN")
	assert.Equal(t, 1.0, r["recall_ge40"])
	assert.Equal(t, []float64{1, 1, 0, 1}, []float64{r["nails_lt20"], r["nails_20_25"], r["nails_25_40"], r["nails_ge40"]})

	var b accumulator
	b.merge(&a)
	b.merge(&a)
	assert.Equal(t, 2.0, b.result()["nails_ge40"])
}

func TestSizeBucketEdges(t *testing.T) {
	for side, want := range map[int]int{0: 0, 19: 0, 20: 1, 24: 1, 25: 2, 39: 2, 40: 3, 1000: 3} {
		assert.Equal(t, want, sizeBucket(side), side)
	}
	m, w, _ := grid(
		"........",
		"..###...",
		"..#.....",
	)
	assert.Equal(t, 3, longSide(m, w))
	assert.Equal(t, 0, longSide(make([]bool, 4), 2))
}

func TestTestSplitRelabelsTrainRows(t *testing.T) {
	dir := t.TempDir()
	csv := "id,source,split,image,mask\n" +
		"hands/a,hands,train,images/a.png,masks/a.png\n" +
		"hands/b,hands,train,images/b.png,masks/b.png\n" +
		"hands/c,hands,val,images/c.png,masks/c.png\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(csv), 0o644))
	ids := filepath.Join(dir, "test.txt")
	require.NoError(t, os.WriteFile(ids, []byte("# comment\nhands/b\n"), 0o644))
	test, err := readTestIDs(ids)
	require.NoError(t, err)

	for split, want := range map[string][]string{"train": {"hands/a"}, "test": {"hands/b"}, "val": {"hands/c"}} {
		rows, err := readManifest(dir, split, test)
		require.NoError(t, err, split)
		var got []string
		for _, r := range rows {
			got = append(got, r.id)
			assert.Equal(t, split, r.split)
		}
		assert.Equal(t, want, got, split)
	}

	test["hands/c"] = true
	_, err = readManifest(dir, "val", test)
	assert.ErrorContains(t, err, "hands/c is in val, not train")

	_, err = readTestIDs(filepath.Join(dir, "missing.txt"))
	assert.ErrorContains(t, err, "test split")
}

// A fresh clone has no data set: the error says where it comes from and which setting
// points at it, instead of a bare "no such file or directory".
func TestMissingDatasetSaysWhere(t *testing.T) {
	_, err := readManifest(filepath.Join(t.TempDir(), "nails"), "val", nil)
	require.Error(t, err)
	for _, want := range []string{"not in the repository", "Evaluate the model", "NAILTRT_DATASET", "DATASET", "--dataset"} {
		assert.Contains(t, err.Error(), want)
	}
}
