package nails

import (
	"image"
	"testing"
)

// Internals lent to orientation_test.go (package nails_test: it runs the pipeline
// through package segment, so it cannot live in package nails without an import cycle).
var (
	EncodeJPEGSampled = encodeJPEGSampled
	TurboSamplings    = turboSamplings
)

func StoredJPEGQuality(t *testing.T, disp *image.RGBA, o, quality, samp int) []byte {
	return storedJPEGQuality(t, disp, o, quality, samp)
}
