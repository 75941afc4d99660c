package server

import (
	"context"

	"github.com/nailtrt/nailtrt/nails"
)

// Segmenter is what the server needs of a model: the domain's types in, the domain's
// types out, so the server never imports the runtime. *segment.Segmenter is the real
// one (the nailtrt command opens it, cmd/nailtrt/serve.go); tests of HTTP behaviour
// that a real runner adds nothing to use a fake (fake_segmenter_test.go), and the
// fixture-model tests stay as integration tests.
type Segmenter interface {
	// SegmentHeader decodes an upload whose header was already read and checked, at
	// the size the model needs, and finds its nails.
	SegmentHeader(ctx context.Context, data []byte, h nails.Header) (*nails.Result, error)
	// SegmentPhoto finds the nails of a decoded photo.
	SegmentPhoto(ctx context.Context, p *nails.Photo) (*nails.Result, error)
	// Segment decodes and segments in one call (warm-up).
	Segment(ctx context.Context, data []byte) (*nails.Result, error)
	Manifest() *nails.Manifest
	// Backend names the runtime executing the model ("onnxruntime", "tensorrt").
	Backend() string
	BatchStats() nails.BatchStats
	Close() error
}
