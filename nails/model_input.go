package nails

import (
	"context"
	"image"
	"sync"
)

// What the model runtime (package segment) asks of the domain around one run: the size
// a photo is decoded at, its model input, and the size check that comes first.

// DecodeSize is the least size, as displayed, that a photo with header h is decoded at
// for the model: its letterboxed size in the model input.
func (m *Manifest) DecodeSize(h Header) image.Point {
	size := h.Displayed()
	g := NewGeometry(size.X, size.Y, m.Input)
	return image.Pt(g.NW, g.NH)
}

// Prepare writes p's model input into buf: the letterboxed, normalised photo and, with
// mirror TTA, its mirror image after it (in the same pass, for an upright JPEG).
func (m *Manifest) Prepare(p *Photo, buf []float32) (Geometry, error) {
	g := NewGeometry(p.Width, p.Height, m.Input)
	var mirrored []float32
	if m.TTA == TTAHFlip {
		mirrored = buf[3*g.InW*g.InH:]
	}
	return g, preprocess(p, g, m.Input, buf, mirrored)
}

// CheckPhoto refuses a decoded photo with a side under l.MinSide (ErrTooSmall).
func (l Limits) CheckPhoto(p *Photo) error {
	if least := l.withDefaults().MinSide; p.Width < least || p.Height < least {
		return wrap(ErrTooSmall, "%dx%d: a side is under %d px, too small to show a fingernail", p.Width, p.Height, least)
	}
	return nil
}

// DecodePooled is DecodeReduced into planes from a pool: for a photo that never leaves
// its caller, who must call release once nothing reads it any more (not deferred past
// a panic: a piece of spread may still be reading the planes, so they are left to the
// collector then). A 12 MP JPEG's 1/4-scale planes are 1.1 MB that a busy server would
// otherwise allocate and collect per request.
func DecodePooled(ctx context.Context, data []byte, h Header, lim Limits, size image.Point) (p *Photo, release func(), err error) {
	planes := planePool.Get().(*[]byte)
	p, err = decodeReduced(ctx, data, h, lim, size, planes)
	if err != nil {
		putPlanes(planes)
		return nil, nil, err
	}
	return p, func() { putPlanes(planes) }, nil
}

// planePool holds decoded YCbCr planes between DecodePooled calls; putPlanes keeps
// only those up to maxPooledPlanes, so a rare huge decode (a stretch-resized panorama)
// is not held past its request.
var planePool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledPlanes = 4 << 20

func putPlanes(b *[]byte) {
	if cap(*b) <= maxPooledPlanes {
		planePool.Put(b)
	}
}
