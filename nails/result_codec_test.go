package nails_test

import (
	"encoding/binary"
	"errors"
	"image"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails"
)

// codecResult is a small result with every field set: a mask with soft edges, a nail
// without a mask, a mask of 3x3-pixel cells, a hole, negative coordinate steps.
func codecResult() *nails.Result {
	alpha := make([]uint8, 6*4)
	for i := range alpha {
		alpha[i] = uint8(i * 11)
	}
	return &nails.Result{Width: 40, Height: 30, Model: "nailseg@2.1.0",
		Timings: nails.Timings{Decode: time.Millisecond, Preprocess: 2, Infer: 3 * time.Second, Postprocess: 4},
		Nails: []nails.Nail{
			{ID: 1, Score: 0.875, Box: image.Rect(3, 4, 9, 8), Area: 17, Mask: &nails.Mask{Rect: image.Rect(3, 4, 9, 8), Alpha: alpha},
				Contours: []nails.Contour{
					{Points: []image.Point{{3, 4}, {9, 4}, {9, 8}, {3, 8}}},
					{Points: []image.Point{{5, 5}, {5, 6}, {6, 6}}, Hole: true},
				}},
			{ID: 2, Score: math.Nextafter(1, 0), Class: 1, Box: image.Rect(20, 20, 21, 21), Area: 1},
			// 7x5 pixels in cells of 3: 3x2 cells.
			{ID: 3, Score: 0.5, Box: image.Rect(30, 20, 37, 25), Area: 35,
				Mask: &nails.Mask{Rect: image.Rect(30, 20, 37, 25), Scale: 3, Alpha: []uint8{255, 128, 0, 9, 99, 250}}},
		}}
}

func TestResultCodecRoundTrip(t *testing.T) {
	want := codecResult()
	b, err := want.MarshalBinary()
	require.NoError(t, err)
	got, err := nails.UnmarshalResult(b, image.Pt(40, 30), 1<<20)
	require.NoError(t, err)
	require.Equal(t, want, got)

	empty := &nails.Result{Width: 1, Height: 1, Model: "m@1", Nails: []nails.Nail{}}
	b, err = empty.MarshalBinary()
	require.NoError(t, err)
	got, err = nails.UnmarshalResult(b, image.Pt(1, 1), 1<<20)
	require.NoError(t, err)
	require.Equal(t, empty, got)
}

// Every truncation, and any flipped version, is an error, never a panic or a partial
// result.
func TestResultCodecRefusesDamage(t *testing.T) {
	b, err := codecResult().MarshalBinary()
	require.NoError(t, err)
	size := image.Pt(40, 30)
	for n := range len(b) {
		_, err := nails.UnmarshalResult(b[:n], size, 1<<20)
		require.ErrorIs(t, err, nails.ErrBadResult, "truncated to %d of %d bytes", n, len(b))
	}
	bad := append([]byte(nil), b...)
	bad[3] = 99
	_, err = nails.UnmarshalResult(bad, size, 1<<20)
	require.ErrorIs(t, err, nails.ErrBadResult)
	_, err = nails.UnmarshalResult(append(b, 0), size, 1<<20)
	require.ErrorIs(t, err, nails.ErrBadResult, "trailing bytes")

	r := codecResult()
	r.Nails[0].Mask.Alpha = r.Nails[0].Mask.Alpha[1:]
	_, err = r.MarshalBinary()
	require.Error(t, err, "a mask whose alpha does not fill its rectangle cannot be encoded")
}

// A value for another photo's size is refused whatever it holds: the caller knows the
// photo's size from its header before it asks the cache, and everything downstream
// (RLE, label PNGs, painting) allocates by the result's size. A 30-byte value claiming
// 1e6 x 1e6 pixels made ?mask=rle allocate 1e12 bytes.
func TestResultCodecRefusesAnotherPhotosSize(t *testing.T) {
	b, err := codecResult().MarshalBinary()
	require.NoError(t, err)
	for _, size := range []image.Point{{41, 30}, {40, 31}, {30, 40}, {0, 0}} {
		_, err := nails.UnmarshalResult(b, size, 1<<20)
		require.ErrorIs(t, err, nails.ErrBadResult, "a 40x30 result read for a %v photo", size)
	}
	huge, err := (&nails.Result{Width: 1e6, Height: 1e6, Model: "m@1",
		Nails: []nails.Nail{{ID: 1, Score: 1, Box: image.Rect(0, 0, 1e6, 1e6), Area: 1e12}}}).MarshalBinary()
	require.NoError(t, err)
	require.Less(t, len(huge), 64)
	_, err = nails.UnmarshalResult(huge, image.Pt(640, 480), 1<<30)
	require.ErrorIs(t, err, nails.ErrBadResult)
	require.Contains(t, err.Error(), "1000000x1000000 result for a 640x480 photo")
}

// codecHeader is the start of a hand-made value: magic, version, size, no model, zero
// timings, one nail with no mask and an empty box.
func codecHeader(w, h uint64) []byte {
	b := append([]byte("NTR"), nails.ResultCodecVersion)
	b = binary.AppendUvarint(b, w)
	b = binary.AppendUvarint(b, h)
	b = append(b, 0, 0, 0, 0, 0) // model "", 4 timings
	b = append(b, 1)             // one nail
	b = append(b, 1)             // id
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(0.5))
	b = append(b, 0)          // class
	b = append(b, 0, 0, 0, 0) // box
	b = append(b, 0)          // area
	return append(b, 0)       // no mask
}

// Counts a value declares are claimed against the limit without overflow, and bytes
// that only mean something as 0 or 1, scores and points are checked: a damaged or
// hostile value is an error, never a panic or an answer no response can carry.
func TestResultCodecHostileValues(t *testing.T) {
	const side = math.MaxInt32
	big := image.Pt(side, side)
	// Before: 24*rings wrapped negative, passed the limit check, and make([]Contour,
	// rings) panicked ("len out of range") on a 45-byte value.
	rings := binary.AppendUvarint(codecHeader(side, side), uint64(side)*uint64(side)/2)
	points := binary.AppendUvarint(append(codecHeader(40, 30), 1, 0), 1<<40) // one ring, 2^40 points
	outside := append(codecHeader(40, 30), 1, 0, 1)
	outside = binary.AppendVarint(binary.AppendVarint(outside, 41), 0) // x 41 of a 40-wide photo
	score := append(codecHeader(40, 30), 0)
	binary.LittleEndian.PutUint64(score[13:], math.Float64bits(math.NaN())) // after magic, size, timings, count, id
	flag := codecHeader(40, 30)
	flag[len(flag)-1] = 7 // mask flag
	flag = append(flag, 0)
	hole := append(codecHeader(40, 30), 1, 2, 0) // one ring, hole flag 2, no points
	valid := append(codecHeader(40, 30), 0)
	for _, c := range []struct {
		name, why string
		data      []byte
		size      image.Point
	}{
		{"rings overflowing the byte count", "contours need more than", rings, big},
		{"points beyond the value", "above its bound", points, image.Pt(40, 30)},
		{"contour point outside the photo", "contour point (41,0) outside", outside, image.Pt(40, 30)},
		{"NaN score", "score NaN", score, image.Pt(40, 30)},
		{"mask flag neither 0 nor 1", "flag byte 7", flag, image.Pt(40, 30)},
		{"hole flag neither 0 nor 1", "flag byte 2", hole, image.Pt(40, 30)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := nails.UnmarshalResult(c.data, c.size, 1<<30)
			require.ErrorIs(t, err, nails.ErrBadResult)
			require.ErrorContains(t, err, c.why)
		})
	}
	r, err := nails.UnmarshalResult(valid, image.Pt(40, 30), 1<<20)
	require.NoError(t, err, "the hand-made value itself is well formed")
	require.Len(t, r.Nails, 1)
	for _, limit := range []int{-1, 0, 127, 128 + 95} {
		_, err := nails.UnmarshalResult(valid, image.Pt(40, 30), limit)
		require.ErrorIs(t, err, nails.ErrBadResult, "limit %d", limit)
	}
}

// Values from another process are untrusted: nothing decodes to a panic, to more
// memory than the limit, to another photo's size, or to a result a response cannot
// serve (every mask format of the API is produced from it here).
func FuzzUnmarshalResult(f *testing.F) {
	b, err := codecResult().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, uint8(40), uint8(30))
	f.Add([]byte("NTR\x02"), uint8(1), uint8(1))
	f.Add(codecHeader(40, 30), uint8(40), uint8(30))
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte, w, h uint8) {
		size := image.Pt(int(w), int(h))
		r, err := nails.UnmarshalResult(data, size, limit)
		if err != nil {
			if !errors.Is(err, nails.ErrBadResult) {
				t.Fatalf("error %v does not wrap ErrBadResult", err)
			}
			return
		}
		if r.Bytes() > limit {
			t.Fatalf("decoded %d bytes, limit %d", r.Bytes(), limit)
		}
		if r.Width != size.X || r.Height != size.Y {
			t.Fatalf("a %dx%d result for a %v photo", r.Width, r.Height, size)
		}
		photo := image.Rect(0, 0, r.Width, r.Height)
		corners := image.Rect(0, 0, r.Width+1, r.Height+1)
		for _, n := range r.Nails {
			if !n.Box.In(photo) {
				t.Fatalf("box %v outside %v", n.Box, photo)
			}
			if math.IsNaN(n.Score) || math.IsInf(n.Score, 0) {
				t.Fatalf("score %v", n.Score)
			}
			for _, c := range n.Contours {
				for _, p := range c.Points {
					if !p.In(corners) {
						t.Fatalf("contour point %v outside %v", p, photo)
					}
				}
			}
			n.Polygon()
			n.Mask.RLE(r.Width, r.Height) // a nail without a mask too
			if n.Mask == nil {
				continue
			}
			if gw, gh := n.Mask.Cells(); !n.Mask.Rect.In(photo) || len(n.Mask.Alpha) != gw*gh {
				t.Fatalf("mask %v at scale %d with %d bytes in %v", n.Mask.Rect, n.Mask.Scale, len(n.Mask.Alpha), photo)
			}
			if full := n.Mask.Full(); len(full.Alpha) != n.Mask.Rect.Dx()*n.Mask.Rect.Dy() {
				t.Fatalf("mask %v at scale %d: %d bytes per pixel", n.Mask.Rect, n.Mask.Scale, len(full.Alpha))
			}
		}
		if _, err := r.LabelPNG(); err != nil && r.Width > 0 && r.Height > 0 {
			t.Fatalf("label PNG: %v", err)
		}
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nails.UnmarshalResult(again, size, limit); err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
	})
}
