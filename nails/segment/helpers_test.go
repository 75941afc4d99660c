package segment

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// openFixture opens a postprocessor fixture model from nails/testdata on the CPU.
func openFixture(t testing.TB, name string) *Segmenter {
	t.Helper()
	s, err := Open(context.Background(), Config{Model: filepath.Join("..", "testdata", name+".json"), Backend: "onnxruntime", Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}
