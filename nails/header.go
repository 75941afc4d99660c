package nails

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/gif"
	"image/png"

	"golang.org/x/image/webp"
)

// Header is what an image's header says about it, read without decoding pixels: enough
// to refuse it (Limits) and to estimate the memory a decode will take (DecodeBytes)
// before any pixel memory is allocated.
type Header struct {
	Format        string // "jpeg", "png", "gif", "webp"
	Width, Height int    // as stored (before EXIF orientation)
	Components    int    // colour channels: 1 grey, 3 colour, 4 CMYK or RGBA
	BitDepth      int    // bits per channel (PNG 16; 8 elsewhere)
	Progressive   bool   // JPEG: progressive (SOF2), which buffers every coefficient
	Scans         int    // JPEG: start-of-scan markers in the file
	// Orientation is the EXIF orientation (2..8) when the file carries one that
	// transforms the photo, else 0: the photo displays as stored.
	Orientation int
}

// orientation is h.Orientation as 1..8.
func (h Header) orientation() int { return max(1, h.Orientation) }

// Displayed is the photo's size as shown, after EXIF orientation: the size of the Photo
// a decode gives and of the Result a segmentation returns.
func (h Header) Displayed() image.Point {
	if h.orientation() >= 5 {
		return image.Pt(h.Height, h.Width)
	}
	return image.Pt(h.Width, h.Height)
}

// Pixels is Width*Height.
func (h Header) Pixels() int64 { return int64(h.Width) * int64(h.Height) }

// DecodeBytes estimates the peak memory of decoding the image to pixels, as this
// package's decoders do it, and of the oriented RGBA copy that preprocessing and
// rendering read. It is an upper bound measured per format (see header_test.go):
//
//   - JPEG: the decoded planes (components bytes a pixel, written straight into Go
//     memory), priced at twice that for libjpeg-turbo's own buffers;
//     progressive files also hold every DCT coefficient until the last scan: 2 bytes
//     per component a pixel in libjpeg-turbo, 4 in image/jpeg (-tags noturbojpeg),
//     priced at 4;
//   - PNG: the decoded image at its bit depth (4 or 8 bytes a pixel for RGBA) plus one
//     filtered row and zlib's window;
//   - GIF: the frame (1 byte a pixel) and the canvas it is drawn on (4);
//   - WebP: YCbCr or NRGBA (up to 4 bytes a pixel).
//
// Every format adds 4 bytes a pixel for the RGBA copy.
func (h Header) DecodeBytes() int64 {
	px := h.Pixels()
	comps := int64(max(1, h.Components))
	var perPixel int64
	switch h.Format {
	case "jpeg":
		perPixel = 2 * comps
		if h.Progressive {
			perPixel += 4 * comps
		}
	case "png":
		perPixel = comps * int64(max(8, h.BitDepth)/8)
		if perPixel < 4 {
			perPixel = 4 // grey and paletted PNGs are converted when drawn
		}
	case "gif":
		perPixel = 5
	default:
		perPixel = 4
	}
	return px*(perPixel+4) + 1<<20
}

// Limits bound what Decode accepts. The zero value means the defaults.
type Limits struct {
	MaxPixels int // width*height; default 40 MP
	MaxSide   int // longest side; default 12,000 px
	// MaxScans bounds a JPEG's start-of-scan markers. Encoders write at most a dozen or
	// so; a crafted progressive file repeating an empty scan thousands of times costs
	// seconds of CPU per kilobyte. Default 64.
	MaxScans int
	// MinSide is the shortest side a photo may have to be segmented (ErrTooSmall below):
	// no nail is big enough to find there, and the model answered noise (a 10x10 image
	// came back "one nail, 0.80"). Default 32 px.
	MinSide int
}

const (
	DefaultMaxPixels = 40_000_000
	DefaultMaxSide   = 12_000
	DefaultMaxScans  = 64
	DefaultMinSide   = 32
)

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.MaxScans <= 0 {
		l.MaxScans = DefaultMaxScans
	}
	if l.MinSide <= 0 {
		l.MinSide = DefaultMinSide
	}
	return l
}

// Check refuses a header over the limits (ErrTooLarge), before any pixel is decoded.
// (MinSide is checked where nails are searched for: small images decode fine.)
func (l Limits) Check(h Header) error {
	l = l.withDefaults()
	if h.Width <= 0 || h.Height <= 0 {
		return wrap(ErrUndecodable, "%s header says %dx%d", h.Format, h.Width, h.Height)
	}
	if h.Width > l.MaxSide || h.Height > l.MaxSide {
		return wrap(ErrTooLarge, "%dx%d: a side exceeds %d px", h.Width, h.Height, l.MaxSide)
	}
	if h.Pixels() > int64(l.MaxPixels) {
		return wrap(ErrTooLarge, "%dx%d is %.1f MP, over the %.1f MP limit", h.Width, h.Height,
			float64(h.Pixels())/1e6, float64(l.MaxPixels)/1e6)
	}
	if h.Scans > l.MaxScans {
		return wrap(ErrTooLarge, "the JPEG has %d scans, over the limit of %d", h.Scans, l.MaxScans)
	}
	return nil
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

// ReadHeader sniffs the format and reads the header. Errors wrap ErrEmpty,
// ErrUnsupportedFormat or ErrUndecodable.
func ReadHeader(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, wrap(ErrEmpty, "0 bytes")
	}
	h := Header{Format: sniff(data), BitDepth: 8}
	var err error
	var cfg image.Config
	switch h.Format {
	case "":
		return h, wrap(ErrUnsupportedFormat, "not a JPEG, PNG, WebP or GIF")
	case "jpeg":
		return readJPEGHeader(data)
	case "png":
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		if err == nil && len(data) >= 26 {
			// IHDR: bit depth at 24, colour type at 25.
			h.BitDepth = int(data[24])
			h.Components = map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[data[25]]
		}
	case "gif":
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
		h.Components = 1
	case "webp":
		cfg, err = safeWebPConfig(data)
		h.Components = 4
	}
	if err != nil {
		return h, wrap(ErrUndecodable, "%s header: %v", h.Format, err)
	}
	h.Width, h.Height = cfg.Width, cfg.Height
	switch h.Format {
	case "png":
		h.Orientation = pngOrientation(data)
	case "webp":
		h.Orientation = webpOrientation(data)
	}
	if h.Orientation == 1 {
		h.Orientation = 0
	}
	return h, nil
}

// safeWebPConfig is webp.DecodeConfig with a panic turned into an error (x/image/webp
// has panicked on crafted files before).
func safeWebPConfig(data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return webp.DecodeConfig(bytes.NewReader(data))
}

// jpegSegments walks a JPEG's marker segments after SOI, calling fn with each marker
// and its payload (nil for standalone markers) until fn returns false or the image ends
// (EOI, or the end of the bytes). After a start of scan (SOS) it skips the entropy-coded
// data up to the next real marker. It reports false when the bytes are not a JPEG or a
// segment is malformed (every offset is bounds-checked: the bytes come from clients;
// FuzzOrientation and FuzzDecode cover it).
func jpegSegments(data []byte, fn func(marker byte, seg []byte) bool) bool {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return false
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return false
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7): // standalone
			if !fn(m, nil) {
				return true
			}
			i += 2
			continue
		case m == 0xD9: // end of image
			return true
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return false
		}
		if !fn(m, data[i+4:i+2+n]) {
			return true
		}
		i += 2 + n
		if m == 0xDA {
			for i+1 < len(data) && (data[i] != 0xFF || data[i+1] == 0 || (data[i+1] >= 0xD0 && data[i+1] <= 0xD7)) {
				i++
			}
		}
	}
	return true
}

// readJPEGHeader reads the frame header (SOFn: size, components, progressive or not)
// and the EXIF orientation, and counts every start of scan (SOS). A progressive file with thousands of (empty)
// scans decodes for minutes: Limits.MaxScans refuses it before decoding.
func readJPEGHeader(data []byte) (Header, error) {
	h := Header{Format: "jpeg", BitDepth: 8}
	var bad string
	exif := false
	ok := jpegSegments(data, func(m byte, seg []byte) bool {
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // SOFn
			if len(seg) < 6 || h.Width != 0 {
				bad = "bad or repeated frame header"
				return false
			}
			h.BitDepth = int(seg[0])
			h.Height = int(binary.BigEndian.Uint16(seg[1:]))
			h.Width = int(binary.BigEndian.Uint16(seg[3:]))
			h.Components = int(seg[5])
			h.Progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
		case m == 0xDA:
			h.Scans++
		case h.Scans == 0 && !exif: // the first EXIF block before the image data
			if o, ok := exifOrientation(m, seg); ok {
				exif = true
				if o > 1 {
					h.Orientation = o
				}
			}
		}
		return true
	})
	switch {
	case !ok:
		bad = "malformed marker segments"
	case bad != "":
	case h.Width == 0:
		bad = "no frame header"
	case h.Scans == 0:
		bad = "no image data"
	default:
		return h, nil
	}
	return h, wrap(ErrUndecodable, "jpeg header: %s", bad)
}
