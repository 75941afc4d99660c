package segment

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With automatic threads, a request alone gets the every-core slot, the next ones the
// narrow slots, and no more than Contexts run at once.
func TestLanesWideWhenAlone(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: automatic threads need no wide session")
	}
	s, err := Open(context.Background(), Config{Model: filepath.Join("..", "testdata", "semantic.json"), Backend: "onnxruntime", Contexts: 2})
	require.NoError(t, err)
	defer s.Close()
	require.NotNil(t, s.wide, "automatic threads on %d cores open a wide session", runtime.GOMAXPROCS(0))
	ctx := context.Background()
	first, err := s.lanes.acquire(ctx)
	require.NoError(t, err)
	require.Same(t, s.lanes.wide, first.Pool(), "a request alone runs on every core")
	second, err := s.lanes.acquire(ctx)
	require.NoError(t, err)
	require.Same(t, s.lanes.narrow, second.Pool(), "a concurrent request shares the cores")

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = s.lanes.acquire(short)
	require.Error(t, err, "Contexts=2 runs are already in flight")

	s.lanes.release(first)
	third, err := s.lanes.acquire(ctx)
	require.NoError(t, err)
	require.Same(t, s.lanes.narrow, third.Pool(), "another run is in flight: not alone")
	s.lanes.release(second)
	s.lanes.release(third)
	alone, err := s.lanes.acquire(ctx)
	require.NoError(t, err)
	require.Same(t, s.lanes.wide, alone.Pool())
	s.lanes.release(alone)
}

// Explicit threads keep one pool, as configured.
func TestLanesExplicitThreads(t *testing.T) {
	s := openFixture(t, "semantic")
	require.Nil(t, s.wide)
	require.Nil(t, s.lanes.wide)
}
