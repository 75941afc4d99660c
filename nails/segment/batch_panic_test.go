package segment

import (
	"context"
	"image/color"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/trt"
)

// A batch run that panics fails each member with an error (none reads outputs of a run
// that never happened) and gives its slot back: with one context, the next request runs.
func TestBatchLeaderPanic(t *testing.T) {
	s, err := Open(context.Background(), Config{Model: filepath.Join("..", "testdata", "semantic.json"), Backend: "onnxruntime",
		Threads: 1, Contexts: 1, MaxBatch: 4, BatchDelay: 100 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	require.NotNil(t, s.batch)
	var panicked atomic.Bool
	s.batch.beforeRun = func() {
		if panicked.CompareAndSwap(false, true) {
			panic("boom")
		}
	}
	photo := testimg.PNG(t, testimg.Solid(64, 48, color.RGBA{200, 150, 120, 255}))
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Segment(context.Background(), photo) })
	}
	wg.Wait()
	require.True(t, panicked.Load())
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			var te *trt.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, trt.CodeInternal, te.Code)
			assert.Contains(t, te.Msg, "the batch run panicked: boom")
		}
	}
	assert.Positive(t, failed, "the panicking batch's members get its error")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = s.Segment(ctx, photo)
	require.NoError(t, err, "the slot came back")
}
