package nails

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

// Every input either decodes to a photo of the size its header claims, or fails with one
// of the error classes; nothing panics. make fuzz runs each target briefly in CI.
//
//nailtrt:fuzz-execs 60000 (each input is a whole image decode)
func FuzzDecode(f *testing.F) {
	img := testimg.Pattern(16, 12)
	f.Add(testimg.JPEG(f, img, 80))
	f.Add(exifJPEG(testimg.JPEG(f, img, 80), 6, false))
	f.Add(testimg.PNG(f, img))
	var g bytes.Buffer
	_ = gif.Encode(&g, img, nil)
	f.Add(g.Bytes())
	if w, err := os.ReadFile(filepath.Join("testdata", "tiny.webp")); err == nil {
		f.Add(w)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, Limits{MaxPixels: 1 << 20, MaxSide: 2048})
		if err != nil {
			for _, class := range []error{ErrEmpty, ErrUnsupportedFormat, ErrUndecodable, ErrTooLarge} {
				if errors.Is(err, class) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		if p.Width <= 0 || p.Height <= 0 || p.Width*p.Height > 1<<20 {
			t.Fatalf("bad size %dx%d", p.Width, p.Height)
		}
		if b := p.RGBA().Bounds(); b != image.Rect(0, 0, p.Width, p.Height) {
			t.Fatalf("oriented bounds %v for %dx%d", b, p.Width, p.Height)
		}
	})
}

func FuzzOrientation(f *testing.F) {
	f.Add(exifJPEG(testimg.JPEG(f, testimg.Pattern(8, 8), 80), 6, true))
	f.Add(exifTIFF(3, false))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []int{jpegOrientation(data), tiffOrientation(data), pngOrientation(data), webpOrientation(data)} {
			if o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
		}
	})
}

func FuzzDecodeRLE(f *testing.F) {
	f.Add(2, 2, "0120")
	f.Add(1000, 1000, (&Mask{Rect: image.Rect(9, 9, 12, 12), Alpha: bytes.Repeat([]byte{255}, 9)}).RLE(1000, 1000).Counts)
	f.Fuzz(func(t *testing.T, h, w int, counts string) {
		if h > 4096 || w > 4096 {
			return
		}
		bits, err := DecodeRLE(RLE{Size: [2]int{h, w}, Counts: counts})
		if err != nil {
			return
		}
		if len(bits) != h*w {
			t.Fatalf("decoded %d values for %dx%d", len(bits), w, h)
		}
		// Re-encoding what was decoded and decoding again is stable.
		m := &Mask{Rect: image.Rect(0, 0, w, h), Alpha: make([]uint8, w*h)}
		for i, b := range bits {
			m.Alpha[i] = 255 * b
		}
		again, err := DecodeRLE(m.RLE(w, h))
		if err != nil || !bytes.Equal(again, bits) {
			t.Fatalf("re-encode round trip failed: %v", err)
		}
	})
}

// Run-based labelling gives the labels the pixel-by-pixel definition gives, for any map
// and any rectangle inside it, with its scratch carried from input to input.
func FuzzComponents(f *testing.F) {
	f.Add(uint8(3), uint8(0), uint8(0), uint8(3), uint8(3), []byte{1, 0, 1, 0, 1, 0, 1, 0, 1})
	f.Add(uint8(5), uint8(1), uint8(0), uint8(4), uint8(2), []byte{1, 1, 0, 1, 1, 0, 0, 1, 0, 0})
	var sc componentScratch
	f.Fuzz(func(t *testing.T, width, x0, y0, x1, y1 uint8, data []byte) {
		w := int(width%32) + 1
		if len(data) < w || len(data) > 32*32 {
			return
		}
		h := len(data) / w
		mask := make([]bool, w*h)
		for i := range mask {
			mask[i] = data[i]&1 == 1
		}
		roi := image.Rect(int(x0)%w, int(y0)%h, int(x1)%(w+1), int(y1)%(h+1)).Canon().Intersect(image.Rect(0, 0, w, h))
		got, n := components(mask, w, h, roi, make([]int32, w*h), &sc)
		want, wantN := componentsByPixel(mask, w, roi)
		if n != wantN || !slices.Equal(got, want) {
			t.Fatalf("%dx%d roi %v: %d components %v, want %d %v", w, h, roi, n, got, wantN, want)
		}
	})
}

func FuzzContours(f *testing.F) {
	f.Add(uint8(3), []byte{1, 1, 1, 1, 0, 1, 1, 1, 1})
	f.Add(uint8(2), []byte{1, 0, 0, 1})
	f.Fuzz(func(t *testing.T, width uint8, data []byte) {
		w := int(width%24) + 1
		if len(data) < w || len(data) > 24*24 {
			return
		}
		h := len(data) / w
		mask := make([]uint8, w*h)
		n := 0
		for i := range mask {
			mask[i] = data[i] & 1
			n += int(mask[i])
		}
		rings := traceContours(mask, w, h, image.Point{})
		if got := ringArea(rings); got != n {
			t.Fatalf("rings enclose %d pixels, mask has %d", got, n)
		}
		for _, r := range rings {
			if s := simplify(r.Points, 1); len(s) < 3 {
				t.Fatalf("simplified ring has %d points", len(s))
			}
		}
	})
}
