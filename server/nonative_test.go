//go:build nonative

package server

import (
	"context"
	"errors"
	"testing"

	"github.com/nailtrt/nailtrt/nails"
)

// Built with -tags nonative: no runtime, so no native runner to link (runtime_test.go
// says why). Tests that need the model skip; a loader that is used anyway fails.

func modelLoader(string, nails.Limits) Loader {
	return func(context.Context) (Segmenter, error) {
		return nil, errors.New("built with -tags nonative: no runtime to open a model with")
	}
}

func needsRuntime(t testing.TB) {
	t.Helper()
	t.Skip("needs the native runtime (this build has -tags nonative)")
}
