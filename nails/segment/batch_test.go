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
	// A window far longer than the test: the batch runs when it is full, not before.
	seg, err := segment.Open(context.Background(), segment.Config{Threads: 1, Contexts: 1, MaxBatch: 6, BatchDelay: time.Minute})
	require.NoError(t, err)
	defer seg.Close()
	members := seg.BatchStats().MaxImages / seg.Manifest().Batch() // requests that fill a batch
	require.GreaterOrEqual(t, members, 3, "room for the leader, the one that leaves and one more")
	joined := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return segment.OpenBatchMembers(seg) == n }, 30*time.Second, time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make([]error, members-1) // the leader's, then the others' that stay
	wg.Go(func() { _, errs[0] = seg.Segment(context.Background(), photo) })
	joined(1)

	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error)
	go func() { _, err := seg.Segment(ctx, photo); left <- err }()
	joined(2)
	cancel() // gives up while the batch waits for more
	require.ErrorIs(t, <-left, context.Canceled)

	for i := 1; i < len(errs); i++ { // the rest fill the batch, which then runs
		wg.Go(func() { _, errs[i] = seg.Segment(context.Background(), photo) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "member %d", i)
	}
	// The slot came back: the next batch (full at once, the window is long) runs.
	for range members {
		go func() { _, err := seg.Segment(context.Background(), photo); left <- err }()
	}
	for range members {
		require.NoError(t, <-left)
	}
}
