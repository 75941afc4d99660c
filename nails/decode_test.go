package nails

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

func TestDecodeFormats(t *testing.T) {
	img := testimg.Pattern(40, 30)
	var gifBuf bytes.Buffer
	require.NoError(t, gif.Encode(&gifBuf, img, nil))
	webpData, err := os.ReadFile(filepath.Join("testdata", "tiny.webp"))
	require.NoError(t, err)
	cases := []struct {
		name, format string
		data         []byte
		w, h         int
	}{
		{"jpeg", "jpeg", testimg.JPEG(t, img, 90), 40, 30},
		{"png", "png", testimg.PNG(t, img), 40, 30},
		{"gif first frame", "gif", gifBuf.Bytes(), 40, 30},
		{"webp", "webp", webpData, 8, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode(c.data, Limits{})
			require.NoError(t, err)
			assert.Equal(t, c.format, p.Format)
			assert.Equal(t, c.w, p.Width)
			assert.Equal(t, c.h, p.Height)
			assert.Equal(t, 1, p.Orientation)
			assert.Equal(t, image.Rect(0, 0, c.w, c.h), p.RGBA().Bounds())
		})
	}
	// The lossless formats decode exactly.
	p, err := Decode(testimg.PNG(t, img), Limits{})
	require.NoError(t, err)
	assert.Equal(t, img.Pix, p.RGBA().Pix)
}

// hugePNGHeader is a valid PNG signature + IHDR claiming w x h, with no pixel data:
// the limits must refuse it from the header alone.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	writeChunk(&b, "IHDR", ihdr)
	return b.Bytes()
}

func writeChunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(append([]byte(typ), data...)))
	b.Write(n[:])
}

func TestDecodeBadInput(t *testing.T) {
	good := testimg.JPEG(t, testimg.Pattern(64, 48), 90)
	goodPNG := testimg.PNG(t, testimg.Pattern(64, 48))
	cases := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"zero bytes", nil, Limits{}, ErrEmpty},
		{"text", []byte("hello, this is not an image"), Limits{}, ErrUnsupportedFormat},
		{"pdf", []byte("%PDF-1.4\n..."), Limits{}, ErrUnsupportedFormat},
		{"jpeg magic only", []byte{0xFF, 0xD8, 0xFF}, Limits{}, ErrUndecodable},
		{"truncated jpeg", good[:len(good)/2], Limits{}, ErrUndecodable},
		{"truncated png", goodPNG[:len(goodPNG)-30], Limits{}, ErrUndecodable},
		{"corrupt png body", append(append([]byte{}, goodPNG[:40]...), bytes.Repeat([]byte{0xAB}, 200)...), Limits{}, ErrUndecodable},
		{"riff but broken webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00\x00\x00"), Limits{}, ErrUndecodable},
		{"50000x50000 header", hugePNGHeader(50000, 50000), Limits{}, ErrTooLarge},
		{"over pixel budget", hugePNGHeader(8000, 6000), Limits{}, ErrTooLarge},
		{"over side limit", hugePNGHeader(13000, 10), Limits{}, ErrTooLarge},
		{"custom pixel limit", good, Limits{MaxPixels: 1000}, ErrTooLarge},
		{"zero width", hugePNGHeader(0, 10), Limits{}, ErrUndecodable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode(c.data, c.lim)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, c.want, "%v", err)
		})
	}
}

// exifJPEG inserts an APP1 EXIF segment carrying orientation o right after SOI.
func exifJPEG(jpg []byte, o int, bigEndian bool) []byte {
	tiff := exifTIFF(o, bigEndian)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func exifTIFF(o int, bigEndian bool) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	hdr := []byte("II")
	if bigEndian {
		bo, hdr = binary.BigEndian, []byte("MM")
	}
	t := make([]byte, 8+2+12+4)
	copy(t, hdr)
	bo.PutUint16(t[2:], 42)
	bo.PutUint32(t[4:], 8)
	bo.PutUint16(t[8:], 1)
	bo.PutUint16(t[10:], tagOrientation)
	bo.PutUint16(t[12:], 3)
	bo.PutUint32(t[14:], 1)
	bo.PutUint16(t[18:], uint16(o))
	return t
}

// exifPNG inserts an eXIf chunk after IHDR.
func exifPNG(p []byte, o int) []byte {
	ihdrEnd := 8 + 8 + 13 + 4
	var b bytes.Buffer
	b.Write(p[:ihdrEnd])
	writeChunk(&b, "eXIf", exifTIFF(o, true))
	b.Write(p[ihdrEnd:])
	return b.Bytes()
}

// The stored image is 3x2 blocks of 8 px, each a distinct colour. For each EXIF
// orientation, the displayed photo must show the block the EXIF spec puts there.
func TestEXIFOrientation(t *testing.T) {
	colors := [2][3]color.RGBA{
		{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}},
		{{255, 255, 0, 255}, {0, 255, 255, 255}, {255, 0, 255, 255}},
	}
	stored := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			stored.Set(x, y, colors[y/8][x/8])
		}
	}
	// Displayed block grid for each orientation, by stored (row, col) indices.
	type rc struct{ r, c int }
	want := map[int][][]rc{
		1: {{{0, 0}, {0, 1}, {0, 2}}, {{1, 0}, {1, 1}, {1, 2}}},
		2: {{{0, 2}, {0, 1}, {0, 0}}, {{1, 2}, {1, 1}, {1, 0}}},
		3: {{{1, 2}, {1, 1}, {1, 0}}, {{0, 2}, {0, 1}, {0, 0}}},
		4: {{{1, 0}, {1, 1}, {1, 2}}, {{0, 0}, {0, 1}, {0, 2}}},
		5: {{{0, 0}, {1, 0}}, {{0, 1}, {1, 1}}, {{0, 2}, {1, 2}}},
		6: {{{1, 0}, {0, 0}}, {{1, 1}, {0, 1}}, {{1, 2}, {0, 2}}},
		7: {{{1, 2}, {0, 2}}, {{1, 1}, {0, 1}}, {{1, 0}, {0, 0}}},
		8: {{{0, 2}, {1, 2}}, {{0, 1}, {1, 1}}, {{0, 0}, {1, 0}}},
	}
	for o := 1; o <= 8; o++ {
		for _, enc := range []string{"jpeg-le", "jpeg-be", "png"} {
			var data []byte
			switch enc {
			case "jpeg-le":
				data = exifJPEG(testimg.JPEG(t, stored, 95), o, false)
			case "jpeg-be":
				data = exifJPEG(testimg.JPEG(t, stored, 95), o, true)
			default:
				data = exifPNG(testimg.PNG(t, stored), o)
			}
			p, err := Decode(data, Limits{})
			require.NoError(t, err, "orientation %d %s", o, enc)
			require.Equal(t, o, p.Orientation, enc)
			img := p.RGBA()
			grid := want[o]
			require.Equal(t, len(grid[0])*8, p.Width, "orientation %d width", o)
			require.Equal(t, len(grid)*8, p.Height, "orientation %d height", o)
			for gy, row := range grid {
				for gx, cell := range row {
					got := img.RGBAAt(gx*8+4, gy*8+4)
					exp := colors[cell.r][cell.c]
					assert.True(t, testimg.Near(int(got.R), int(exp.R), 40) && testimg.Near(int(got.G), int(exp.G), 40) && testimg.Near(int(got.B), int(exp.B), 40),
						"orientation %d %s block (%d,%d): got %v want %v", o, enc, gx, gy, got, exp)
				}
			}
		}
	}
}

func TestOrientationParsersRejectGarbage(t *testing.T) {
	assert.Equal(t, 1, jpegOrientation(nil))
	assert.Equal(t, 1, jpegOrientation([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}))
	assert.Equal(t, 1, tiffOrientation([]byte("II*\x00\xff\xff\xff\xff")))
	assert.Equal(t, 1, tiffOrientation(exifTIFF(9, false)), "out-of-range values mean no rotation")
	assert.Equal(t, 6, tiffOrientation(exifTIFF(6, true)))
	assert.Equal(t, 1, pngOrientation([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x10eXIf")))
	assert.Equal(t, 1, webpOrientation([]byte("RIFF\x00\x00\x00\x00WEBPEXIF\xff\xff\xff\x7f")))
}

// The JPEG decoder in use (libjpeg-turbo, or image/jpeg with -tags noturbojpeg) agrees
// with image/jpeg to within IDCT rounding, for every chroma subsampling.
func TestJPEGDecoderAgreesWithImageJPEG(t *testing.T) {
	src := testimg.Pattern(101, 67) // odd sizes exercise the chroma plane padding
	for _, q := range []int{60, 95} {
		data := testimg.JPEG(t, src, q)
		p, err := Decode(data, Limits{})
		require.NoError(t, err)
		ref, err := jpeg.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		refP := NewPhoto(ref)
		a, b := p.RGBA().Pix, refP.RGBA().Pix
		require.Equal(t, len(b), len(a))
		var sum, worst int
		for i := range a {
			d := int(a[i]) - int(b[i])
			if d < 0 {
				d = -d
			}
			sum += d
			worst = max(worst, d)
		}
		assert.Less(t, float64(sum)/float64(len(a)), 1.5, "mean abs difference at quality %d", q)
		assert.LessOrEqual(t, worst, 40, "worst pixel at quality %d", q)
	}
	// Greyscale JPEGs take the image/jpeg path and still decode.
	gray := image.NewGray(image.Rect(0, 0, 30, 20))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	p, err := Decode(testimg.JPEG(t, gray, 90), Limits{})
	require.NoError(t, err)
	assert.Equal(t, 30, p.Width)
}

func TestEncodeJPEG(t *testing.T) {
	src := testimg.Pattern(101, 67)
	data, err := EncodeJPEG(src, 92)
	require.NoError(t, err)
	p, err := Decode(data, Limits{})
	require.NoError(t, err)
	assert.Equal(t, 101, p.Width)
	var sum int
	for i, v := range p.RGBA().Pix {
		d := int(v) - int(src.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
	}
	assert.Less(t, float64(sum)/float64(len(src.Pix)), 6.0, "a faithful JPEG")
	// A sub-image (non-zero origin) encodes its own pixels.
	sub := src.SubImage(image.Rect(10, 10, 40, 30)).(*image.RGBA)
	data, err = EncodeJPEG(sub, 90)
	require.NoError(t, err)
	p, err = Decode(data, Limits{})
	require.NoError(t, err)
	assert.Equal(t, 30, p.Width)
	assert.Equal(t, 20, p.Height)
	_, err = EncodeJPEG(image.NewRGBA(image.Rect(0, 0, 0, 0)), 90)
	assert.Error(t, err)
}
