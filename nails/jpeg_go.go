//go:build noturbojpeg

package nails

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
)

// decodeJPEG is image/jpeg when built with -tags noturbojpeg (no libturbojpeg needed).
// It decodes at full size only (jpegScales).
func decodeJPEG(data []byte, _ Header, _ int, _ *[]byte) (image.Image, error) {
	return jpeg.Decode(bytes.NewReader(data))
}

// EncodeJPEG compresses img with image/jpeg (built with -tags noturbojpeg).
func EncodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	if img.Bounds().Empty() {
		return nil, errors.New("jpeg: empty image")
	}
	img = flatten(img)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// RenderJPEG needs libjpeg's coefficient access: without libjpeg-turbo, photos are
// painted with Render and encoded whole (ok is false).
func RenderJPEG([]byte, *Result, Material) ([]byte, bool, error) { return nil, false, nil }

// jpegScales: image/jpeg has no DCT scaling.
var jpegScales = []int{8}

// turboBuilt says JPEGs go through libjpeg-turbo (tests compare it with image/jpeg).
const turboBuilt = false

func stdDecodeJPEG(data []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(data)) }

func cmykJPEG([]byte, int, int) []byte { return nil }

func decodePackedRGB(data []byte, _, _ int) (image.Image, error) { return stdDecodeJPEG(data) }
