package nails

import (
	"image"
	"testing"
)

// Internals lent to the external tests (package nails_test, which run the pipeline
// through package segment and so cannot live in package nails without an import cycle).
var (
	EncodeJPEGSampled = encodeJPEGSampled
	TurboSamplings    = turboSamplings
)

func StoredJPEGQuality(t *testing.T, disp *image.RGBA, o, quality, samp int) []byte {
	return storedJPEGQuality(t, disp, o, quality, samp)
}
