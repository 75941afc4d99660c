package segment

import (
	"errors"
	"fmt"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// Versions describes the native libraries, e.g.
// "nailtrt abi 1; onnxruntime 1.30.0; tensorrt none; cuda none".
func Versions() string { return trt.Versions() }

// domainError is err as callers of this package classify it: a runner failure that
// means "cannot run here" (trt.ErrUnavailable) also matches nails.ErrUnavailable, so
// the server maps it to 503 without importing the runner. Everything else (context
// ends included, which trt errors unwrap to) is returned as it is.
func domainError(err error) error {
	if err != nil && errors.Is(err, trt.ErrUnavailable) && !errors.Is(err, nails.ErrUnavailable) {
		return fmt.Errorf("%w: %w", nails.ErrUnavailable, err)
	}
	return err
}
