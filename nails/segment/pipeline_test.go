package segment

// Whole-pipeline checks that need the runtime: what Open refuses, answers that do not
// depend on the cores, and a real result through the codec.

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/nails"
)

// --model x.onnx is the commonest first mistake: say what to give instead.
func TestManifestPathThatIsONNX(t *testing.T) {
	_, err := Open(context.Background(), Config{Model: "../testdata/semantic.onnx"})
	require.ErrorIs(t, err, nails.ErrManifest)
}

func TestSegmentSameOnAnyNumberOfCores(t *testing.T) {
	s, err := Open(context.Background(), Config{Model: testimg.BundledModel(t), Backend: "onnxruntime", Threads: 1})
	require.NoError(t, err)
	defer s.Close()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	var one, many *nails.Result
	withProcs(1, func() { one, err = s.Segment(context.Background(), data) })
	require.NoError(t, err)
	withProcs(3, func() { many, err = s.Segment(context.Background(), data) })
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(one.Nails), 3, "the example photo shows a hand")
	assert.Equal(t, one.Nails, many.Nails)
}

// A real segmentation (the bundled model on a 12 MP photo) survives the round trip
// exactly and shrinks: soft masks compress well, even kept at two cells per model pixel.
func TestResultCodecRealResult(t *testing.T) {
	ex, err := benchkit.ExamplePhoto()
	require.NoError(t, err)
	data, err := benchkit.ScaledJPEG(ex, 4032, 3024, 1)
	require.NoError(t, err)
	seg, err := Open(context.Background(), Config{Threads: 1, Contexts: 1})
	require.NoError(t, err)
	defer seg.Close()
	want, err := seg.Segment(context.Background(), data)
	require.NoError(t, err)
	require.NotEmpty(t, want.Nails)

	b, err := want.MarshalBinary()
	require.NoError(t, err)
	size := image.Pt(want.Width, want.Height)
	got, err := nails.UnmarshalResult(b, size, want.Bytes())
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Less(t, len(b), want.Bytes()/3, "encoded %d bytes for %d held", len(b), want.Bytes())
	t.Logf("%d nails: %d bytes held, %d encoded", len(want.Nails), want.Bytes(), len(b))

	_, err = nails.UnmarshalResult(b, size, want.Bytes()/2)
	require.ErrorIs(t, err, nails.ErrBadResult, "a value larger than the limit is refused")
}

func withProcs(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}
