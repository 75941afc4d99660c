package nails

import (
	"image"
	"image/draw"
)

// srcPoint maps a displayed pixel (x, y) to the stored pixel it shows, for the photo's
// EXIF orientation. w, h are the stored size.
func srcPoint(o, x, y, w, h int) (int, int) {
	switch o {
	case 2: // mirrored horizontally
		return w - 1 - x, y
	case 3: // rotated 180
		return w - 1 - x, h - 1 - y
	case 4: // mirrored vertically
		return x, h - 1 - y
	case 5: // transposed
		return y, x
	case 6: // stored rotated 90 CCW: display rotates it 90 CW
		return y, h - 1 - x
	case 7: // transverse
		return w - 1 - y, h - 1 - x
	case 8: // stored rotated 90 CW: display rotates it 90 CCW
		return w - 1 - y, x
	}
	return x, y
}

// srcRect maps a displayed rectangle to the stored rectangle it covers.
func (p *Photo) srcRect(r image.Rectangle) image.Rectangle {
	b := p.Src.Bounds()
	w, h := b.Dx(), b.Dy()
	ax, ay := srcPoint(p.Orientation, r.Min.X, r.Min.Y, w, h)
	bx, by := srcPoint(p.Orientation, r.Max.X-1, r.Max.Y-1, w, h)
	if ax > bx {
		ax, bx = bx, ax
	}
	if ay > by {
		ay, by = by, ay
	}
	return image.Rect(ax+b.Min.X, ay+b.Min.Y, bx+1+b.Min.X, by+1+b.Min.Y)
}

// RGBA returns the photo as displayed (orientation applied), as an *image.RGBA with
// bounds starting at (0,0). Made once and cached: the caller must not modify it (Render
// copies it).
func (p *Photo) RGBA() *image.RGBA {
	if p.rgba != nil {
		return p.rgba
	}
	b := p.Src.Bounds()
	stored, ok := p.Src.(*image.RGBA)
	if !ok || b.Min != (image.Point{}) {
		stored = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		// draw has fast paths for *image.YCbCr, *image.NRGBA, *image.Gray, paletted.
		draw.Draw(stored, stored.Bounds(), p.Src, b.Min, draw.Src)
	}
	if p.Orientation <= 1 || p.Orientation > 8 {
		p.rgba = stored
		return p.rgba
	}
	out := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	w, h := b.Dx(), b.Dy()
	for y := 0; y < p.Height; y++ {
		row := out.Pix[y*out.Stride : y*out.Stride+4*p.Width]
		for x := 0; x < p.Width; x++ {
			sx, sy := srcPoint(p.Orientation, x, y, w, h)
			s := stored.Pix[sy*stored.Stride+4*sx : sy*stored.Stride+4*sx+4]
			copy(row[4*x:4*x+4], s)
		}
	}
	p.rgba = out
	return out
}
