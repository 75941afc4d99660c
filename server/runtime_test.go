//go:build !nonative

package server

import (
	"context"
	"testing"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

// The server's integration tests run the fixture model through the real runtime
// (package segment, hence the native runner). With -tags nonative (make test-layers)
// this file, batch_test.go and example_test.go are left out, the test binary links no
// runner, and the tests that need it skip (nonative_test.go): the fake-model tests
// still run.

var _ Segmenter = (*segment.Segmenter)(nil)

// modelLoader opens the manifest at model on ONNX Runtime (one thread) with limits.
func modelLoader(model string, limits nails.Limits) Loader {
	return segmentLoader(segment.Config{Model: model, Backend: "onnxruntime", Threads: 1, Limits: limits})
}

// segmentLoader is the Loader that opens cfg with the real runtime.
func segmentLoader(cfg segment.Config) Loader {
	return func(ctx context.Context) (Segmenter, error) {
		seg, err := segment.Open(ctx, cfg)
		if err != nil {
			return nil, err // not a non-nil interface around a nil pointer
		}
		return seg, nil
	}
}

// needsRuntime is a no-op where the runtime is built in.
func needsRuntime(testing.TB) {}
