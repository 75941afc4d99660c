//go:build noturbojpeg

package nails

import (
	"bytes"
	"image"
	"image/jpeg"
)

// decodeJPEG is image/jpeg when built with -tags noturbojpeg (no libturbojpeg needed).
func decodeJPEG(data []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(data)) }
