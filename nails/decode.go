package nails

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// Limits bound what Decode accepts. The zero value means the defaults.
type Limits struct {
	MaxPixels int // width*height; default 40 MP
	MaxSide   int // longest side; default 12,000 px
}

const (
	DefaultMaxPixels = 40_000_000
	DefaultMaxSide   = 12_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	return l
}

// Photo is a decoded image and the EXIF orientation to display it with. Width and
// Height are the displayed size; Src is as stored in the file.
type Photo struct {
	Src           image.Image
	Orientation   int // EXIF 1..8
	Width, Height int
	Format        string // "jpeg", "png", "gif", "webp"

	rgba *image.RGBA // oriented copy, made on first use by RGBA()
}

// Format sniffing by magic bytes: the Content-Type a client sends is not trusted.
func sniff(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return "jpeg"
	case len(data) >= 8 && bytes.Equal(data[:8], []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case len(data) >= 6 && (bytes.Equal(data[:6], []byte("GIF87a")) || bytes.Equal(data[:6], []byte("GIF89a"))):
		return "gif"
	case len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")):
		return "webp"
	}
	return ""
}

// Decode reads a JPEG, PNG, WebP or GIF (first frame). The header is read first and
// images over the limits are refused before any pixel memory is allocated. Errors wrap
// ErrEmpty, ErrUnsupportedFormat, ErrTooLarge or ErrUndecodable.
func Decode(data []byte, lim Limits) (p *Photo, err error) {
	lim = lim.withDefaults()
	if len(data) == 0 {
		return nil, wrap(ErrEmpty, "0 bytes")
	}
	format := sniff(data)
	if format == "" {
		return nil, wrap(ErrUnsupportedFormat, "not a JPEG, PNG, WebP or GIF (starts with % x)", data[:min(8, len(data))])
	}
	var cfg image.Config
	switch format {
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case "png":
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case "gif":
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
	case "webp":
		cfg, err = safeWebPConfig(data)
	}
	if err != nil {
		return nil, wrap(ErrUndecodable, "%s header: %v", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, wrap(ErrUndecodable, "%s header says %dx%d", format, cfg.Width, cfg.Height)
	}
	if cfg.Width > lim.MaxSide || cfg.Height > lim.MaxSide {
		return nil, wrap(ErrTooLarge, "%dx%d: a side exceeds %d px", cfg.Width, cfg.Height, lim.MaxSide)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(lim.MaxPixels) {
		return nil, wrap(ErrTooLarge, "%dx%d is %.1f MP, over the %.1f MP limit", cfg.Width, cfg.Height,
			float64(cfg.Width)*float64(cfg.Height)/1e6, float64(lim.MaxPixels)/1e6)
	}

	orientation := 1
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
			orientation = jpegOrientation(data)
			img, err = decodeJPEG(data)
		case "png":
			orientation = pngOrientation(data)
			img, err = png.Decode(bytes.NewReader(data))
		case "gif":
			img, err = gif.Decode(bytes.NewReader(data))
		case "webp":
			orientation = webpOrientation(data)
			img, err = webp.Decode(bytes.NewReader(data))
		}
		return err
	}()
	if err != nil {
		return nil, wrap(ErrUndecodable, "%s: %v", format, err)
	}
	b := img.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, wrap(ErrUndecodable, "%s decoded to %dx%d, its header said %dx%d", format, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	p = &Photo{Src: img, Orientation: orientation, Format: format}
	p.Width, p.Height = b.Dx(), b.Dy()
	if orientation >= 5 {
		p.Width, p.Height = p.Height, p.Width
	}
	return p, nil
}

func safeWebPConfig(data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return webp.DecodeConfig(bytes.NewReader(data))
}

// NewPhoto wraps an already decoded image (orientation 1).
func NewPhoto(img image.Image) *Photo {
	b := img.Bounds()
	return &Photo{Src: img, Orientation: 1, Width: b.Dx(), Height: b.Dy(), Format: "image"}
}
