package nails

import (
	"fmt"
	"image"
	"slices"
	"sync"
)

// Render paints m onto every nail of res and returns a new image (the photo is not
// modified). Deterministic: the same photo, result and material give the same pixels.
func Render(p *Photo, res *Result, m Material) (*image.RGBA, error) {
	if p.Reduced() {
		return nil, fmt.Errorf("nails: render: the photo was decoded at reduced size for segmentation; decode it in full (DecodeHeader) to paint it")
	}
	src := p.RGBA()
	out := &image.RGBA{Pix: append([]uint8(nil), src.Pix...), Stride: src.Stride, Rect: src.Rect}
	// image.RGBA is premultiplied, and polish is painted in straight colour: in a photo
	// with transparency, the area paint can reach is unpremultiplied first and
	// premultiplied back after, once each (nails' areas may overlap), so colours come out
	// right whatever the alpha (PNG output keeps it).
	translucent := !opaqueKind(p.Src) && !out.Opaque()
	var painted image.Rectangle
	if translucent {
		for i := range res.Nails {
			if n := &res.Nails[i]; n.Mask != nil {
				painted = painted.Union(n.Mask.Rect.Inset(-tipGrowth))
			}
		}
		unpremultiply(out, painted)
	}
	if err := RenderInto(out, res, m); err != nil {
		return nil, err
	}
	if translucent {
		premultiply(out, painted)
	}
	return out, nil
}

// opaqueKind reports image types that cannot hold transparency (no alpha scan needed).
func opaqueKind(img image.Image) bool {
	switch img.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return true
	}
	return false
}

func unpremultiply(img *image.RGBA, r image.Rectangle) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			if a := uint32(row[i+3]); a != 0 && a != 255 {
				for c := 0; c < 3; c++ {
					row[i+c] = uint8(min(255, (uint32(row[i+c])*255+a/2)/a))
				}
			}
		}
	}
}

func premultiply(img *image.RGBA, r image.Rectangle) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			if a := uint32(row[i+3]); a != 255 {
				for c := 0; c < 3; c++ {
					row[i+c] = uint8((uint32(row[i+c])*a + 127) / 255)
				}
			}
		}
	}
}

// flatten composites a premultiplied image onto white (JPEG has no alpha), or returns it
// unchanged when it is opaque.
func flatten(img *image.RGBA) *image.RGBA {
	if img.Opaque() {
		return img
	}
	out := image.NewRGBA(img.Rect)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		src := img.Pix[img.PixOffset(img.Rect.Min.X, y):img.PixOffset(img.Rect.Max.X, y)]
		dst := out.Pix[out.PixOffset(img.Rect.Min.X, y):out.PixOffset(img.Rect.Max.X, y)]
		for i := 0; i < len(src); i += 4 {
			white := 255 - uint32(src[i+3]) // the background's premultiplied share
			for c := 0; c < 3; c++ {
				dst[i+c] = uint8(min(255, uint32(src[i+c])+white))
			}
			dst[i+3] = 255
		}
	}
	return out
}

// RenderInto paints m onto every nail of res directly into img, which must be the
// photo as displayed (same size as res). Only pixels inside each nail's mask box are
// touched.
func RenderInto(img *image.RGBA, res *Result, m Material) error {
	return paintNails(img, res, m, nil)
}

// paintNails paints the nails of res whose indices are in only (all of them when only
// is nil) into img, which may cover just part of the photo (bounds in photo
// coordinates) as long as it holds every pixel those nails' paint reaches.
func paintNails(img *image.RGBA, res *Result, m Material, only []int) error {
	m = m.withDefaults()
	if err := m.Validate(); err != nil {
		return err
	}
	b := paintPool.Get().(*paintBuffers)
	defer paintPool.Put(b)
	forEachNail(res, m, only, func(n *Nail, p polish) {
		full := n.Mask.fullInto(&b.full) // paint per photo pixel; the cached mask may be coarser
		sh := analyse(img, full, p.hx, p.hy, p.many)
		var light shading
		if !p.look.sheer { // translucent polish shows the nail itself, pattern and all
			light = fitShading(img, full, sh, b)
		}
		paintNail(img, growTip(full, sh, b), sh, light, p.look, p.base, p.tip, p.opacity)
	})
	return nil
}

// polish is what every nail of one render is painted with, and where the hand is.
type polish struct {
	base, tip RGB
	look      look
	opacity   float32
	// The hand's centre, roughly: nails point away from it, which tells each nail's
	// tip end from its cuticle end (many: there is more than one nail to tell it by).
	hx, hy float64
	many   bool
}

// forEachNail calls paint for every nail of res with a mask, in only when only is not
// nil, with material m (defaults applied, validated) made into a polish.
func forEachNail(res *Result, m Material, only []int, paint func(*Nail, polish)) {
	p := polish{tip: RGB{1, 1, 1}, look: lookOf(m), opacity: float32(m.Opacity), many: len(res.Nails) > 1}
	p.base, _ = ParseColor(m.Color)
	if m.TipColor != "" {
		p.tip, _ = ParseColor(m.TipColor)
	}
	for _, n := range res.Nails {
		c := n.Box.Min.Add(n.Box.Max).Div(2)
		p.hx += float64(c.X)
		p.hy += float64(c.Y)
	}
	if len(res.Nails) > 0 {
		p.hx /= float64(len(res.Nails))
		p.hy /= float64(len(res.Nails))
	}
	for i := range res.Nails {
		n := &res.Nails[i]
		if n.Mask == nil || n.Area == 0 || (only != nil && !slices.Contains(only, i)) {
			continue
		}
		paint(n, p)
	}
}

// paintBuffers are one painter's scratch, reused nail after nail and, through
// paintPool, request after request: a 12 MP nail's box is a quarter of a megapixel,
// and each buffer holds one alpha per pixel of it.
type paintBuffers struct {
	full, src, grown []uint8
	samples, dev     []float32 // fitShading's
	first, last      []int     // growTip's row extents
	c3, c5           []uint8   // and its column maxima
}

var paintPool = sync.Pool{New: func() any { return new(paintBuffers) }}
