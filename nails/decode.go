package nails

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/png"

	"golang.org/x/image/webp"
)

// Decode reads a JPEG, PNG, WebP or GIF (first frame). The header is read first and
// images over the limits are refused before any pixel memory is allocated. Errors wrap
// ErrEmpty, ErrUnsupportedFormat, ErrTooLarge or ErrUndecodable.
func Decode(data []byte, lim Limits) (*Photo, error) {
	return DecodeContext(context.Background(), data, lim)
}

// DecodeContext is Decode that gives up (with ctx's error) when ctx ends before the
// pixels are decoded. A decoder already running is not interrupted: Limits bound its
// time (pixels, JPEG scans).
func DecodeContext(ctx context.Context, data []byte, lim Limits) (*Photo, error) {
	h, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	return DecodeHeader(ctx, data, h, lim)
}

// DecodeHeader decodes data whose header the caller has already read with ReadHeader
// (to admit the work by its DecodeBytes first).
func DecodeHeader(ctx context.Context, data []byte, h Header, lim Limits) (*Photo, error) {
	return DecodeReduced(ctx, data, h, lim, image.Point{})
}

// DecodeReduced is DecodeHeader for a photo that will only be looked at at size, as
// displayed (segment.Segmenter.Decode asks for its model's input): a JPEG is decoded with
// libjpeg-turbo's DCT scaling at the smallest of 1/8, 1/4, 1/2 and 1 whose size still
// covers size in both directions. A 12 MP photo for a 512 px model decodes at 1/4. The
// Photo keeps the full displayed size in Width and Height, with Src smaller (Reduced);
// it can be segmented, not rendered. Other formats, and size (0, 0), decode in full.
func DecodeReduced(ctx context.Context, data []byte, h Header, lim Limits, size image.Point) (*Photo, error) {
	return decodeReduced(ctx, data, h, lim, size, nil)
}

// decodeReduced is DecodeReduced with a JPEG's YCbCr planes decoded into *planes when it
// is not nil (decodeJPEG): the photo then lives only as long as the caller lends them.
func decodeReduced(ctx context.Context, data []byte, h Header, lim Limits, size image.Point, planes *[]byte) (p *Photo, err error) {
	if err := lim.Check(h); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	format := h.Format
	orientation := h.orientation()
	eighths := 8 // decoded size, in eighths of the stored size
	var img image.Image
	err = func() (err error) {
		// The standard decoders return errors on bad input; x/image/webp has panicked on
		// crafted files before. A panic here must not take the server down.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("decoder panic: %v", r)
			}
		}()
		switch format {
		case "jpeg":
			eighths = jpegScale(h, orientation, size)
			img, err = decodeJPEG(data, h, eighths, planes)
		case "png":
			img, err = png.Decode(bytes.NewReader(data))
		case "gif":
			img, err = decodeGIF(data)
		case "webp":
			img, err = webp.Decode(bytes.NewReader(data))
		}
		return err
	}()
	if err != nil {
		return nil, wrap(ErrUndecodable, "%s: %v", format, err)
	}
	b := img.Bounds()
	if sw, sh := scaledSize(h.Width, h.Height, eighths); b.Dx() != sw || b.Dy() != sh {
		return nil, wrap(ErrUndecodable, "%s decoded to %dx%d, its header said %dx%d (%d/8 scale)", format, b.Dx(), b.Dy(),
			h.Width, h.Height, eighths)
	}
	p = &Photo{Src: img, Orientation: orientation, Format: format}
	p.Width, p.Height = h.Width, h.Height
	if orientation >= 5 {
		p.Width, p.Height = p.Height, p.Width
	}
	return p, nil
}

// scaledSize is the size libjpeg-turbo decodes a w x h JPEG to at eighths/8 (TJSCALED).
func scaledSize(w, h, eighths int) (int, int) {
	return (w*eighths + 7) / 8, (h*eighths + 7) / 8
}

// jpegScale picks the smallest of jpegScales whose displayed size covers size.
func jpegScale(h Header, orientation int, size image.Point) int {
	if size.X <= 0 || size.Y <= 0 {
		return 8 // full size asked for
	}
	if orientation >= 5 {
		size.X, size.Y = size.Y, size.X // compare in stored orientation
	}
	for _, n := range jpegScales {
		if w, ht := scaledSize(h.Width, h.Height, n); w >= size.X && ht >= size.Y {
			return n
		}
	}
	return 8
}

// decodeGIF returns the first frame drawn on the logical screen: a frame may be smaller
// than the canvas and placed anywhere on it (what browsers show).
func decodeGIF(data []byte) (image.Image, error) {
	cfg, err := gif.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	frame, err := gif.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	if frame.Bounds() == screen {
		return frame, nil
	}
	canvas := image.NewRGBA(screen)
	draw.Draw(canvas, frame.Bounds().Intersect(screen), frame, frame.Bounds().Min, draw.Src)
	return canvas, nil
}
