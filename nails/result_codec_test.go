package nails_test

import (
	"context"
	"errors"
	"image"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/benchkit"
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
	got, err := nails.UnmarshalResult(b, 1<<20)
	require.NoError(t, err)
	require.Equal(t, want, got)

	empty := &nails.Result{Width: 1, Height: 1, Model: "m@1", Nails: []nails.Nail{}}
	b, err = empty.MarshalBinary()
	require.NoError(t, err)
	got, err = nails.UnmarshalResult(b, 1<<20)
	require.NoError(t, err)
	require.Equal(t, empty, got)
}

// A real segmentation (the bundled model on a 12 MP photo) survives the round trip
// exactly and shrinks: soft masks compress well, even kept at two cells per model pixel.
func TestResultCodecRealResult(t *testing.T) {
	ex, err := benchkit.ExamplePhoto()
	require.NoError(t, err)
	data, err := benchkit.ScaledJPEG(ex, 4032, 3024, 1)
	require.NoError(t, err)
	seg, err := nails.Open(context.Background(), nails.Config{Threads: 1, Contexts: 1})
	require.NoError(t, err)
	defer seg.Close()
	want, err := seg.Segment(context.Background(), data)
	require.NoError(t, err)
	require.NotEmpty(t, want.Nails)

	b, err := want.MarshalBinary()
	require.NoError(t, err)
	got, err := nails.UnmarshalResult(b, want.Bytes())
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Less(t, len(b), want.Bytes()/3, "encoded %d bytes for %d held", len(b), want.Bytes())
	t.Logf("%d nails: %d bytes held, %d encoded", len(want.Nails), want.Bytes(), len(b))

	_, err = nails.UnmarshalResult(b, want.Bytes()/2)
	require.ErrorIs(t, err, nails.ErrBadResult, "a value larger than the limit is refused")
}

// Every truncation, and any flipped version, is an error, never a panic or a partial
// result.
func TestResultCodecRefusesDamage(t *testing.T) {
	b, err := codecResult().MarshalBinary()
	require.NoError(t, err)
	for n := range len(b) {
		_, err := nails.UnmarshalResult(b[:n], 1<<20)
		require.ErrorIs(t, err, nails.ErrBadResult, "truncated to %d of %d bytes", n, len(b))
	}
	bad := append([]byte(nil), b...)
	bad[3] = 99
	_, err = nails.UnmarshalResult(bad, 1<<20)
	require.ErrorIs(t, err, nails.ErrBadResult)
	_, err = nails.UnmarshalResult(append(b, 0), 1<<20)
	require.ErrorIs(t, err, nails.ErrBadResult, "trailing bytes")

	r := codecResult()
	r.Nails[0].Mask.Alpha = r.Nails[0].Mask.Alpha[1:]
	_, err = r.MarshalBinary()
	require.Error(t, err, "a mask whose alpha does not fill its rectangle cannot be encoded")
}

// Values from another process are untrusted: nothing decodes to a panic, to more
// memory than the limit, or to geometry outside the photo.
func FuzzUnmarshalResult(f *testing.F) {
	b, err := codecResult().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("NTR\x02"))
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := nails.UnmarshalResult(data, limit)
		if err != nil {
			if !errors.Is(err, nails.ErrBadResult) {
				t.Fatalf("error %v does not wrap ErrBadResult", err)
			}
			return
		}
		if r.Bytes() > limit {
			t.Fatalf("decoded %d bytes, limit %d", r.Bytes(), limit)
		}
		photo := image.Rect(0, 0, r.Width, r.Height)
		for _, n := range r.Nails {
			if !n.Box.In(photo) {
				t.Fatalf("box %v outside %v", n.Box, photo)
			}
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
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nails.UnmarshalResult(again, limit); err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
	})
}
