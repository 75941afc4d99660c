package nails

import (
	"errors"
	"fmt"
)

// Error classes a caller (the HTTP server) maps to responses. Every error from
// decoding wraps exactly one of them.
var (
	// ErrUnsupportedFormat: the bytes are not an image format nailtrt reads (HTTP 415).
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrUndecodable: a known format, but truncated or corrupt (HTTP 422).
	ErrUndecodable = errors.New("undecodable image")
	// ErrTooLarge: over the pixel or side limit, refused before decoding (HTTP 422).
	ErrTooLarge = errors.New("image too large")
	// ErrTooSmall: a side under Limits.MinSide, too small to hold a nail (HTTP 422).
	ErrTooSmall = errors.New("image too small")
	// ErrEmpty: zero bytes (HTTP 400).
	ErrEmpty = errors.New("empty image")
	// ErrBadMaterial: a material with a value out of range (colour, finish, 0..1 knobs)
	// (HTTP 400).
	ErrBadMaterial = errors.New("invalid material")
	// ErrUnknownMaterial: a preset name that does not exist (HTTP 400).
	ErrUnknownMaterial = errors.New("unknown material")
	// ErrManifest: a model manifest that cannot be used.
	ErrManifest = errors.New("invalid model manifest")
	// ErrUnavailable: the inference backend cannot run here (no GPU, no TensorRT, a
	// missing library) (HTTP 503). The runtime (package segment) wraps its runner's
	// errors of that kind in it, so callers need not import the runner.
	ErrUnavailable = errors.New("inference backend unavailable")
)

// wrap attaches detail to one of the error classes above.
func wrap(class error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", class, fmt.Sprintf(format, args...))
}
