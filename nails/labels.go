package nails

import (
	"bytes"
	"image"
	"image/png"
)

// LabelImage paints every nail's mask into a photo-sized greyscale image: pixel value =
// nail ID (1..255), 0 = background.
func (r *Result) LabelImage() *image.Gray {
	img := image.NewGray(image.Rect(0, 0, r.Width, r.Height))
	for _, n := range r.Nails {
		if n.Mask == nil {
			continue
		}
		id := uint8(min(n.ID, 255))
		m := n.Mask.Full()
		box := m.Rect.Intersect(img.Rect)
		bw := m.Rect.Dx()
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				if m.Alpha[(y-m.Rect.Min.Y)*bw+(x-m.Rect.Min.X)] >= 128 {
					img.Pix[y*img.Stride+x] = id
				}
			}
		}
	}
	return img
}

// LabelPNG is LabelImage encoded as PNG.
func (r *Result) LabelPNG() ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, r.LabelImage()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
