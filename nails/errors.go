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
	// ErrEmpty: zero bytes (HTTP 400).
	ErrEmpty = errors.New("empty image")
	// ErrUnknownMaterial: a render material that is neither a preset nor valid custom (HTTP 400).
	ErrUnknownMaterial = errors.New("unknown material")
	// ErrManifest: a model manifest that cannot be used.
	ErrManifest = errors.New("invalid model manifest")
)

// wrap attaches detail to one of the error classes above.
func wrap(class error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", class, fmt.Sprintf(format, args...))
}
