package nails

import (
	"image"
	"image/draw"
)

// Photo is a decoded image and the EXIF orientation to display it with. Width and
// Height are the displayed size; Src is as stored in the file.
type Photo struct {
	Src           image.Image
	Orientation   int // EXIF 1..8
	Width, Height int
	Format        string // "jpeg", "png", "gif", "webp"

	rgba *image.RGBA // oriented copy, made on first use by RGBA()
}

// NewPhoto wraps an already decoded image (orientation 1).
func NewPhoto(img image.Image) *Photo {
	b := img.Bounds()
	return &Photo{Src: img, Orientation: 1, Width: b.Dx(), Height: b.Dy(), Format: "image"}
}

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

// Reduced reports whether Src holds fewer pixels than the photo has (DecodeReduced).
func (p *Photo) Reduced() bool {
	b := p.Src.Bounds()
	w, h := b.Dx(), b.Dy()
	if p.Orientation >= 5 {
		w, h = h, w
	}
	return w != p.Width || h != p.Height
}

// stored is the photo at Src's resolution: p itself unless it is Reduced.
func (p *Photo) stored() *Photo {
	if !p.Reduced() {
		return p
	}
	b := p.Src.Bounds()
	q := &Photo{Src: p.Src, Orientation: p.Orientation, Width: b.Dx(), Height: b.Dy(), Format: p.Format}
	if p.Orientation >= 5 {
		q.Width, q.Height = q.Height, q.Width
	}
	return q
}

// displayPoint is srcPoint's inverse: the displayed pixel that stored pixel (x, y)
// becomes. w, h are the stored size.
func displayPoint(o, x, y, w, h int) (int, int) {
	switch o {
	case 6:
		return h - 1 - y, x
	case 7:
		return h - 1 - y, w - 1 - x
	case 8:
		return y, w - 1 - x
	}
	return srcPoint(o, x, y, w, h) // the other orientations are their own inverses
}

// srcRect maps a displayed rectangle to the stored rectangle it covers.
func (p *Photo) srcRect(r image.Rectangle) image.Rectangle {
	b := p.Src.Bounds()
	return storedRect(p.Orientation, r, b.Dx(), b.Dy()).Add(b.Min)
}

// storedRect maps a displayed rectangle to the stored one of a w x h (stored) photo.
func storedRect(o int, r image.Rectangle, w, h int) image.Rectangle {
	return mapRect(r, func(x, y int) (int, int) { return srcPoint(o, x, y, w, h) })
}

// displayRect maps a stored rectangle of a w x h (stored) photo to the displayed one.
func displayRect(o int, r image.Rectangle, w, h int) image.Rectangle {
	return mapRect(r, func(x, y int) (int, int) { return displayPoint(o, x, y, w, h) })
}

// mapRect maps a rectangle's corner pixels with f (a flip, rotation or transpose).
func mapRect(r image.Rectangle, f func(x, y int) (int, int)) image.Rectangle {
	ax, ay := f(r.Min.X, r.Min.Y)
	bx, by := f(r.Max.X-1, r.Max.Y-1)
	return image.Rect(min(ax, bx), min(ay, by), max(ax, bx)+1, max(ay, by)+1)
}

// RGBA returns the photo as displayed (orientation applied), as an *image.RGBA with
// bounds starting at (0,0), at Src's resolution (smaller than Width x Height when the
// photo is Reduced). Made once and cached: the caller must not modify it (Render copies
// it).
func (p *Photo) RGBA() *image.RGBA {
	if p.rgba != nil {
		return p.rgba
	}
	if p.Reduced() {
		p.rgba = p.stored().RGBA()
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
