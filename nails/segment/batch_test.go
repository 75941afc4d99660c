package segment_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

// Batched requests get bit-for-bit the answers they get alone: the same nails, scores,
// masks and contours, for photos of different sizes sent at once (run with -race in
// make test).
func TestBatchingMatchesUnbatched(t *testing.T) {
	ex, err := benchkit.ExamplePhoto()
	require.NoError(t, err)
	sizes := [][2]int{{640, 480}, {1280, 960}, {480, 640}, {900, 700}, {640, 480}, {1024, 768}, {500, 500}, {800, 600}}
	photos := make([][]byte, len(sizes))
	for i, sz := range sizes {
		photos[i], err = benchkit.ScaledJPEG(ex, sz[0], sz[1], uint64(i+1))
		require.NoError(t, err)
	}
	ctx := context.Background()
	alone, err := segment.Open(ctx, segment.Config{Contexts: 1, MaxBatch: 1})
	require.NoError(t, err)
	defer alone.Close()
	require.Zero(t, alone.BatchStats().MaxImages, "MaxBatch 1 is off")
	want := make([]*nails.Result, len(photos))
	for i, p := range photos {
		want[i], err = alone.Segment(ctx, p)
		require.NoError(t, err)
	}

	// One context and a long window: the concurrent requests must share runs.
	batched, err := segment.Open(ctx, segment.Config{Contexts: 2, MaxBatch: 8, BatchDelay: 200 * time.Millisecond})
	require.NoError(t, err)
	defer batched.Close()
	require.Equal(t, 8, batched.BatchStats().MaxImages)
	for round := range 2 {
		got := make([]*nails.Result, len(photos))
		var wg sync.WaitGroup
		for i, p := range photos {
			wg.Go(func() {
				r, err := batched.Segment(ctx, p)
				if err == nil {
					got[i] = r
				}
			})
		}
		wg.Wait()
		for i := range photos {
			require.NotNil(t, got[i], "round %d photo %d failed", round, i)
			require.NotEmpty(t, want[i].Nails)
			got[i].Timings, want[i].Timings = nails.Timings{}, nails.Timings{}
			require.Equal(t, want[i], got[i], fmt.Sprintf("round %d, photo %d %v", round, i, sizes[i]))
		}
	}
	st := batched.BatchStats()
	require.EqualValues(t, 2*len(photos), st.Requests)
	require.Less(t, st.Runs, st.Requests, "some requests shared a run: %+v", st)
	t.Logf("%d requests in %d runs", st.Requests, st.Runs)
}

// A request that gives up while its batch waits does not take the batch (or the slot)
// with it.
func TestBatchingCancelledMember(t *testing.T) {
	ex, err := benchkit.ExamplePhoto()
	require.NoError(t, err)
	photo, err := benchkit.ScaledJPEG(ex, 640, 480, 9)
	require.NoError(t, err)
	seg, err := segment.Open(context.Background(), segment.Config{Threads: 1, Contexts: 1, MaxBatch: 4, BatchDelay: 300 * time.Millisecond})
	require.NoError(t, err)
	defer seg.Close()
	var wg sync.WaitGroup
	var leaderErr error
	wg.Go(func() { _, leaderErr = seg.Segment(context.Background(), photo) })
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = seg.Segment(ctx, photo)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	wg.Wait()
	require.NoError(t, leaderErr)
	// The slot came back: the next request runs.
	_, err = seg.Segment(context.Background(), photo)
	require.NoError(t, err)
}
