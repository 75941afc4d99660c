package nails

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every manifest either parses to a valid model description or fails with ErrManifest.
func FuzzManifest(f *testing.F) {
	for _, name := range []string{"semantic.json", "rfdetr.json", "yolo.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"name":"x","input":{"height":-1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data, "testdata")
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if m.Input.Width <= 0 || m.Input.Height <= 0 {
			t.Fatalf("valid manifest with input %dx%d", m.Input.Width, m.Input.Height)
		}
	})
}

// --model x.onnx is the commonest first mistake: say what to give instead.
func TestManifestPathThatIsONNX(t *testing.T) {
	_, err := LoadManifest("testdata/semantic.onnx")
	require.ErrorIs(t, err, ErrManifest)
	assert.Contains(t, err.Error(), "JSON manifest")
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
