//go:build !nonative

package server

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails/segment"
)

// Batching on and off give the same JSON (RLE masks, bit for bit) for concurrent
// requests; with one context and a long window, the requests share runs.
func TestBatchingSameAnswers(t *testing.T) {
	fixture := segment.Config{Model: fixtureModel, Backend: "onnxruntime", Threads: 1, Contexts: 1}
	offCfg, onCfg := fixture, fixture
	offCfg.MaxBatch = 1
	onCfg.MaxBatch, onCfg.BatchDelay = 8, 100*time.Millisecond
	off := newTestServer(t, Config{Contexts: 1}, segmentLoader(offCfg))
	on := newTestServer(t, Config{Contexts: 1}, segmentLoader(onCfg))
	waitReady(t, off)
	waitReady(t, on)
	photos := make([][]byte, 12)
	for i := range photos {
		photos[i] = photoJPEG(t, 80+8*i, 64+4*i, uint8(60+i))
	}
	fields := map[string]string{"mask_format": "rle"}
	got := make([]SegmentResponse, len(photos))
	var wg sync.WaitGroup
	for i, p := range photos {
		wg.Go(func() { got[i], _ = segmentJSON(t, on, p, fields) })
	}
	wg.Wait()
	for i, p := range photos {
		want, _ := segmentJSON(t, off, p, fields)
		require.NotEmpty(t, want.Nails)
		assert.Equal(t, want, got[i], "photo %d", i)
	}
	health := decodeJSON[map[string]any](t, do(t, on, "GET", "/api/health", nil, ""))
	b := health["batching"].(map[string]any)
	assert.EqualValues(t, len(photos)+1, b["requests"], "the photos and the warm-up")
	assert.Less(t, b["runs"], b["requests"], "requests shared runs")
	metrics := do(t, on, "GET", "/metrics", nil, "").Body.String()
	assert.True(t, strings.Contains(metrics, "\nnailtrt_batch_requests_total 13\n"), "the metric counts them")
}
