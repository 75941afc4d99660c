package nails

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strconv"
	"strings"

	"github.com/nailtrt/nailtrt/option"
)

// DefaultJPEGQuality is the JPEG quality of a painted photo that is encoded whole.
const DefaultJPEGQuality = 90

// JPEGQualityOption is the one definition of the JPEG quality setting: nailtrt serve
// (server.Config) and nailtrt render both register it, so they share its default.
func JPEGQualityOption(p *int) option.Option {
	return option.Option{Flag: "jpeg-quality", Env: "NAILTRT_JPEG_QUALITY", Default: strconv.Itoa(DefaultJPEGQuality), Value: option.Int(p),
		Help: "JPEG quality 1..100 of a painted photo encoded whole (any photo but a colour JPEG, or one whose request names a quality); a colour JPEG is otherwise painted in place and keeps its own compression"}
}

// Output is how a painted photo is written: the HTTP API's format and quality fields,
// nailtrt render's output extension and --jpeg-quality. Its methods are the one render
// policy the server and the command share, so a request gives the same pixels either way.
type Output struct {
	Format string // "jpeg" ("" or "jpg" too) or "png"
	// Quality is the JPEG quality this request asks for (1..100), which encodes the
	// photo whole; 0: none asked for.
	Quality int
	// DefaultQuality is the JPEG quality of a photo that must be encoded whole when the
	// request names none (NAILTRT_JPEG_QUALITY); 0: DefaultJPEGQuality.
	DefaultQuality int
}

// Check returns o with its format spelled one way, or why it cannot be written.
func (o Output) Check() (Output, error) {
	switch strings.ToLower(strings.TrimSpace(o.Format)) {
	case "", "jpeg", "jpg":
		o.Format = "jpeg"
	case "png":
		o.Format = "png"
	default:
		return o, fmt.Errorf("format %q: want jpeg or png", o.Format)
	}
	for _, q := range []int{o.Quality, o.DefaultQuality} {
		if q < 0 || q > 100 {
			return o, fmt.Errorf("JPEG quality %d: want 1..100", q)
		}
	}
	if o.DefaultQuality == 0 {
		o.DefaultQuality = DefaultJPEGQuality
	}
	return o, nil
}

// InPlace reports whether a colour JPEG is painted in place (RenderJPEG: only the
// blocks under the nails re-encoded, the photo's own compression kept): a JPEG asked
// for with no quality. Otherwise, and for photos RenderJPEG does not edit, the photo is
// painted whole (Render) and written by Encode.
func (o Output) InPlace() bool { return o.Format == "jpeg" && o.Quality == 0 }

// ContentType is the media type of what Encode writes.
func (o Output) ContentType() string {
	if o.Format == "png" {
		return "image/png"
	}
	return "image/jpeg"
}

// Encode writes a painted photo whole: PNG (keeping its transparency) or JPEG at the
// request's quality, else the default.
func (o Output) Encode(img *image.RGBA) ([]byte, error) {
	if o.Format == "png" {
		var buf bytes.Buffer
		err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		return buf.Bytes(), err
	}
	q := o.Quality
	if q == 0 {
		q = o.DefaultQuality
	}
	if q == 0 {
		q = DefaultJPEGQuality
	}
	return EncodeJPEG(img, q)
}

// RenderFile paints m onto the nails of res in the photo data and writes it as o says:
// in place when o.InPlace() and RenderJPEG edits the photo, else decoded (within lim),
// painted and encoded whole. nailtrt render calls it; the server takes the same steps
// with its memory admission between them.
func RenderFile(data []byte, res *Result, m Material, o Output, lim Limits) ([]byte, error) {
	o, err := o.Check()
	if err != nil {
		return nil, err
	}
	if o.InPlace() {
		if out, ok, err := RenderJPEG(data, res, m); err != nil || ok {
			return out, err
		}
	}
	photo, err := Decode(data, lim)
	if err != nil {
		return nil, err
	}
	img, err := Render(photo, res, m)
	if err != nil {
		return nil, err
	}
	return o.Encode(img)
}
