//go:build !noturbojpeg

package nails

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
)

// storedJPEG makes the JPEG (4:2:0, quality 92) that displays as disp with EXIF
// orientation o.
func storedJPEG(t *testing.T, disp *image.RGBA, o int) []byte {
	return storedJPEGSampled(t, disp, o, turboSamplings["4:2:0"])
}

// storedJPEGSampled is storedJPEG with another chroma sampling (turboSamplings).
func storedJPEGSampled(t *testing.T, disp *image.RGBA, o, samp int) []byte {
	return storedJPEGQuality(t, disp, o, 92, samp)
}

// Painting in place matches painting the decoded photo inside the nails, and leaves
// the photo's own pixels (bit for bit) away from them, whatever the orientation and
// for every chroma sampling libjpeg-turbo writes. 4:4:0 (what a lossless 90-degree
// rotation of a 4:2:2 phone photo gives) has 8x16 MCUs: its regions were once grown by
// the MCU's width on every side, off the grid vertically, and the polish landed ~8 rows
// low. 4:1:1 (32x8 MCUs) is not edited in place: it must say so and be painted whole.
func TestRenderJPEGPaintsOnlyTheNails(t *testing.T) {
	for _, name := range []string{"4:4:4", "4:2:2", "4:2:0", "4:4:0", "4:1:1"} {
		t.Run(name, func(t *testing.T) { testRenderJPEGSampling(t, turboSamplings[name], name != "4:1:1") })
	}
}

func testRenderJPEGSampling(t *testing.T, samp int, inPlace bool) {
	for _, o := range []int{1, 3, 6, 8} {
		disp := skinPhoto(203, 157).RGBA() // sides that are not whole MCUs
		res := &Result{Width: 203, Height: 157, Nails: []Nail{
			ellipseNail(50, 40, 12, 20), ellipseNail(70, 45, 11, 18), ellipseNail(160, 110, 12, 19),
		}}
		data := storedJPEGSampled(t, disp, o, samp)
		photo, err := Decode(data, Limits{})
		require.NoError(t, err)
		require.Equal(t, o, photo.Orientation)
		want, err := Render(photo, res, Material{Color: "#d01030", Finish: "glossy"})
		require.NoError(t, err)

		out, ok, err := RenderJPEG(data, res, Material{Color: "#d01030", Finish: "glossy"})
		require.NoError(t, err)
		require.Equal(t, inPlace, ok, "edited in place")
		if !inPlace {
			continue
		}
		got, err := Decode(out, Limits{})
		require.NoError(t, err)
		require.Equal(t, o, got.Orientation, "the orientation travels with the stored pixels")
		require.Equal(t, [2]int{203, 157}, [2]int{got.Width, got.Height})

		// What the whole-photo path gives: Render, then a JPEG of the same quality.
		whole, err := EncodeJPEG(want, 92)
		require.NoError(t, err)
		wp, err := Decode(whole, Limits{})
		require.NoError(t, err)
		orig, g, w := photo.RGBA(), got.RGBA(), wp.RGBA()
		var inside, diff, wholeDiff, changed int
		for _, n := range res.Nails {
			for y := n.Mask.Rect.Min.Y; y < n.Mask.Rect.Max.Y; y++ {
				for x := n.Mask.Rect.Min.X; x < n.Mask.Rect.Max.X; x++ {
					if !n.Mask.Inside(x, y) {
						continue
					}
					i := g.PixOffset(x, y)
					for c := range 3 {
						diff += abs(int(g.Pix[i+c]) - int(want.Pix[i+c]))
						wholeDiff += abs(int(w.Pix[i+c]) - int(want.Pix[i+c]))
						changed += abs(int(g.Pix[i+c]) - int(orig.Pix[i+c]))
					}
					inside++
				}
			}
		}
		// JPEG's own error on saturated polish (4:2:0 chroma) is a few levels: the
		// in-place paint must be as close to Render as re-encoding the whole photo is.
		assert.Less(t, float64(diff)/float64(3*inside), float64(wholeDiff)/float64(3*inside)+0.5,
			"orientation %d: in-place paint is further from Render than a whole-photo JPEG", o)
		assert.Less(t, float64(diff)/float64(3*inside), 6.0, "orientation %d", o)
		assert.Greater(t, float64(changed)/float64(3*inside), 40.0, "orientation %d: the nails are painted", o)
		far := 0
		for y := 0; y < 157; y++ {
			for x := 0; x < 203; x++ {
				near := false
				for _, n := range res.Nails {
					near = near || image.Pt(x, y).In(n.Mask.Rect.Inset(-40))
				}
				if near {
					continue
				}
				i := g.PixOffset(x, y)
				require.Equal(t, orig.Pix[i:i+4], g.Pix[i:i+4], "orientation %d: pixel (%d,%d) far from every nail changed", o, x, y)
				far++
			}
		}
		require.Greater(t, far, 5000)
	}
}

func TestEditRegionsMergeOverlapsOnTheMCUGrid(t *testing.T) {
	res := &Result{Width: 200, Height: 150, Nails: []Nail{
		ellipseNail(50, 40, 12, 20), ellipseNail(70, 45, 11, 18), ellipseNail(160, 110, 12, 19),
	}}
	regions := editRegions(res, 1, 200, 150, 16, 16)
	require.Len(t, regions, 2, "the first two nails' areas overlap")
	if len(regions[0].nails) == 2 {
		regions[0], regions[1] = regions[1], regions[0]
	}
	assert.Equal(t, []int{2}, regions[0].nails)
	assert.ElementsMatch(t, []int{0, 1}, regions[1].nails)
	for _, r := range regions {
		assert.Zero(t, r.rect.Min.X%16)
		assert.Zero(t, r.rect.Min.Y%16)
		assert.True(t, r.rect.Max.X%16 == 0 || r.rect.Max.X == 200)
		for _, i := range r.nails {
			assert.True(t, res.Nails[i].Mask.Rect.Inset(-tipGrowth).Intersect(image.Rect(0, 0, 200, 150)).In(r.rect))
		}
	}
	assert.False(t, regions[0].rect.Overlaps(regions[1].rect))
}

// What goes back out: the ICC profile and orientation, none of the photo's other
// metadata; and JPEGs it does not edit are left to Render.
func TestRenderJPEGMetadataAndFallback(t *testing.T) {
	p, res := testResult()
	data, err := EncodeJPEG(p.RGBA(), 90)
	require.NoError(t, err)
	icc := append([]byte("ICC_PROFILE\x00\x01\x01"), []byte("fake-icc-profile-bytes")...)
	withMeta := insertSegment(insertSegment(data, 0xE2, icc), 0xFE, []byte("secret-location"))
	out, ok, err := RenderJPEG(withMeta, res, Material{Color: "#d01030", Finish: "glossy"})
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, bytes.Contains(out, []byte("fake-icc-profile-bytes")), "the ICC profile is kept")
	assert.False(t, bytes.Contains(out, []byte("secret-location")), "other metadata is dropped")

	grey := image.NewGray(image.Rect(0, 0, 200, 150))
	out, ok, err = RenderJPEG(testimg.JPEG(t, grey, 90), res, Material{Color: "#d01030", Finish: "glossy"})
	require.NoError(t, err)
	assert.False(t, ok, "greyscale: painted with Render instead")
	assert.Nil(t, out)

	_, _, err = RenderJPEG(data[:len(data)/2], res, Material{Color: "#d01030", Finish: "glossy"})
	assert.ErrorIs(t, err, ErrUndecodable, "a truncated photo is an error, not a half-painted one")
	_, _, err = RenderJPEG(data, &Result{Width: 10, Height: 10}, Material{Color: "#d01030", Finish: "glossy"})
	assert.Error(t, err, "a segmentation of another photo")
}

// insertSegment puts a marker segment right after SOI.
func insertSegment(jpg []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append(append([]byte{}, jpg[:2]...), append(seg, payload...)...)
	return append(out, jpg[2:]...)
}

// Whatever the bytes, RenderJPEG declines, fails with a classified error, or returns a
// JPEG of the photo's size; nothing panics or reads outside its buffers.
func FuzzRenderJPEG(f *testing.F) {
	img := skinPhoto(40, 30).RGBA()
	for _, o := range []int{1, 6} {
		data, err := EncodeJPEG(img, 85)
		require.NoError(f, err)
		f.Add(exifJPEG(data, o, false))
	}
	f.Add(testimg.JPEG(f, image.NewGray(image.Rect(0, 0, 20, 20)), 80))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHeader(data)
		if err != nil || (Limits{MaxPixels: 1 << 18, MaxSide: 1024, MaxScans: 16}).Check(h) != nil {
			return // what the server refuses before painting
		}
		w, ht := h.Width, h.Height
		if jpegOrientation(data) >= 5 {
			w, ht = ht, w
		}
		res := &Result{Width: w, Height: ht, Nails: []Nail{ellipseNail(float64(w)/2, float64(ht)/2, 6, 9)}}
		out, ok, err := RenderJPEG(data, res, Material{Color: "#d01030", Finish: "glossy"})
		if err != nil || !ok {
			return
		}
		p, err := Decode(out, Limits{})
		if err != nil {
			t.Fatalf("RenderJPEG wrote an undecodable JPEG: %v", err)
		}
		if p.Width != w || p.Height != ht {
			t.Fatalf("painted %dx%d, photo %dx%d", p.Width, p.Height, w, ht)
		}
	})
}

// Painting in place writes the file with the photo's own Huffman tables when they can
// code anything (standard tables, as cameras write them): one pass, and the same tables
// out. A photo whose tables lack a symbol gets tables fitted to it instead, and both
// decode to the same painted pixels.
func TestRenderJPEGHuffmanTables(t *testing.T) {
	disp := skinPhoto(203, 157).RGBA()
	res := &Result{Width: 203, Height: 157, Nails: []Nail{ellipseNail(50, 40, 12, 20), ellipseNail(160, 110, 12, 19)}}
	std := storedJPEG(t, disp, 1)
	// The same scan with one AC table one symbol short: (run 15, size 10), the last
	// 16-bit code, which no block of this photo uses, so every other code is unchanged.
	short := dropLastACSymbol(t, std)
	require.NotEqual(t, huffmanTables(t, std), huffmanTables(t, short))
	want, err := Decode(std, Limits{})
	require.NoError(t, err)
	again, err := Decode(short, Limits{})
	require.NoError(t, err)
	require.Equal(t, want.RGBA().Pix, again.RGBA().Pix, "the shortened table still decodes the photo")

	mat := Material{Color: "#d01030", Finish: "glossy"}
	outStd, ok, err := RenderJPEG(std, res, mat)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, huffmanTables(t, std), huffmanTables(t, outStd), "complete tables are reused")
	outShort, ok, err := RenderJPEG(short, res, mat)
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotEqual(t, huffmanTables(t, short), huffmanTables(t, outShort), "incomplete tables are replaced")
	a, err := Decode(outStd, Limits{})
	require.NoError(t, err)
	b, err := Decode(outShort, Limits{})
	require.NoError(t, err)
	assert.Equal(t, a.RGBA().Pix, b.RGBA().Pix, "the tables change the file, not the pixels")
}

// huffmanTables is every DHT segment's payload before the scan, concatenated.
func huffmanTables(t *testing.T, data []byte) []byte {
	var out []byte
	require.True(t, jpegSegments(data, func(m byte, seg []byte) bool {
		if m == 0xC4 {
			out = append(out, seg...)
		}
		return m != 0xDA
	}))
	return out
}

// dropLastACSymbol removes the last symbol of the file's first AC table (the longest
// code: every other code of a canonical Huffman table keeps its bits).
func dropLastACSymbol(t *testing.T, data []byte) []byte {
	var out []byte
	jpegSegments(data, func(m byte, seg []byte) bool {
		if m != 0xC4 {
			return m != 0xDA
		}
		at := cap(data) - cap(seg) // seg's offset in data: a subslice shares its end
		for p := 0; p+17 <= len(seg); {
			count := 0
			for _, c := range seg[p+1 : p+17] {
				count += int(c)
			}
			if seg[p]>>4 == 1 {
				require.NotZero(t, seg[p+16], "the table has 16-bit codes")
				last := at + p + 17 + count - 1
				out = append(bytes.Clone(data[:last]), data[last+1:]...)
				out[at+p+16]--
				binary.BigEndian.PutUint16(out[at-2:], uint16(len(seg)+2-1))
				return false
			}
			p += 17 + count
		}
		return true
	})
	require.NotNil(t, out, "an AC table")
	return out
}

// A file that does not fit the first output buffer is written again into a larger one,
// with the same bytes as when it fits.
func TestRenderJPEGOutgrowsItsBuffer(t *testing.T) {
	disp := skinPhoto(203, 157).RGBA()
	res := &Result{Width: 203, Height: 157, Nails: []Nail{ellipseNail(50, 40, 12, 20), ellipseNail(160, 110, 12, 19)}}
	data := storedJPEG(t, disp, 6)
	m := Material{Color: "#d01030", Finish: "glossy"}
	want, ok, err := RenderJPEG(data, res, m)
	require.NoError(t, err)
	require.True(t, ok)
	require.LessOrEqual(t, cap(want), finishCapacity(len(data)), "the default buffer fits a render")

	defer func(f func(int) int) { finishCapacity = f }(finishCapacity)
	finishCapacity = func(int) int { return 64 } // not even the headers fit: several doublings
	got, ok, err := RenderJPEG(data, res, m)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, want, got)
}

// The C editor checks regions itself: off the MCU grid or outside the photo is an error,
// not a read past its coefficient arrays.
func TestEditorRefusesBadRegions(t *testing.T) {
	data := storedJPEGSampled(t, skinPhoto(203, 157).RGBA(), 1, turboSamplings["4:4:0"]) // 8x16 MCUs
	require.NoError(t, editGetRegion(data, image.Rect(8, 16, 40, 48)))
	require.NoError(t, editGetRegion(data, image.Rect(192, 144, 203, 157)), "a region may end at the photo's edge")
	for _, r := range []image.Rectangle{
		image.Rect(8, 8, 40, 40),       // off the grid vertically (4:4:0's MCUs are 16 high)
		image.Rect(4, 16, 36, 48),      // off the grid horizontally
		image.Rect(8, 16, 44, 48),      // not whole MCUs, not at the edge
		image.Rect(192, 144, 224, 176), // past the photo
		image.Rect(-8, 0, 8, 16),
	} {
		assert.Error(t, editGetRegion(data, r), "%v", r)
	}
	// Writing back: the painted region and the inner one whose blocks it replaces are
	// both checked, and the inner one must lie inside the painted one.
	outer := image.Rect(8, 16, 56, 64)
	require.NoError(t, editPutRegion(data, outer, image.Rect(16, 32, 48, 48)))
	require.NoError(t, editPutRegion(data, image.Rect(184, 144, 203, 157), image.Rect(192, 144, 203, 157)), "to the photo's edge")
	for _, c := range []struct{ outer, inner image.Rectangle }{
		{image.Rect(8, 8, 56, 56), image.Rect(16, 16, 48, 48)},           // painted region off the grid
		{outer, image.Rect(16, 24, 48, 56)},                              // inner region off the grid
		{outer, image.Rect(0, 16, 48, 48)},                               // inner region sticks out left
		{outer, image.Rect(16, 32, 64, 80)},                              // and down-right
		{image.Rect(184, 144, 216, 176), image.Rect(192, 144, 208, 160)}, // past the photo
	} {
		assert.Error(t, editPutRegion(data, c.outer, c.inner), "%v in %v", c.inner, c.outer)
	}
}

// storedJPEGQuality makes the JPEG (chroma sampling samp, a turboSamplings value) that
// displays as disp with EXIF orientation o.
func storedJPEGQuality(t *testing.T, disp *image.RGBA, o, quality, samp int) []byte {
	t.Helper()
	dw, dh := disp.Rect.Dx(), disp.Rect.Dy()
	sw, sh := dw, dh
	if o >= 5 {
		sw, sh = dh, dw
	}
	stored := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for sy := 0; sy < sh; sy++ {
		for sx := 0; sx < sw; sx++ {
			x, y := displayPoint(o, sx, sy, sw, sh)
			copy(stored.Pix[stored.PixOffset(sx, sy):][:4], disp.Pix[disp.PixOffset(x, y):][:4])
		}
	}
	data, err := encodeJPEGSampled(stored, quality, samp)
	require.NoError(t, err)
	if o > 1 {
		data = exifJPEG(data, o, false)
	}
	return data
}
