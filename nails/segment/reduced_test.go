package segment_test

import (
	"context"
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

// A large JPEG decoded at the model's size (DCT scaling) finds the same nails as the
// full decode, with boundaries within a model pixel, in full-size photo coordinates.
func TestReducedDecodeFindsTheSameNails(t *testing.T) {
	ex, err := benchkit.ExamplePhoto()
	require.NoError(t, err)
	seg, err := segment.Open(context.Background(), segment.Config{})
	require.NoError(t, err)
	defer seg.Close()
	for _, size := range []image.Point{{2016, 1512}, {4032, 3024}} {
		data, err := benchkit.ScaledJPEG(ex, size.X, size.Y, 3)
		require.NoError(t, err)
		h, err := nails.ReadHeader(data)
		require.NoError(t, err)
		reduced, err := seg.Decode(context.Background(), data, h)
		require.NoError(t, err)
		require.True(t, reduced.Reduced(), "%v decodes at a fraction of its size", size)
		require.Equal(t, size, image.Pt(reduced.Width, reduced.Height), "the photo keeps its full size")
		full, err := nails.Decode(data, nails.Limits{})
		require.NoError(t, err)

		got, err := seg.SegmentPhoto(context.Background(), reduced)
		require.NoError(t, err)
		want, err := seg.SegmentPhoto(context.Background(), full)
		require.NoError(t, err)
		require.Equal(t, want.Width, got.Width)
		require.Len(t, got.Nails, len(want.Nails), "%v: the same nails", size)
		require.NotEmpty(t, want.Nails)
		for i := range want.Nails {
			a, b := &want.Nails[i], &got.Nails[i]
			inter, union := 0, 0
			r := a.Mask.Rect.Union(b.Mask.Rect)
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					ia, ib := a.Mask.Inside(x, y), b.Mask.Inside(x, y)
					if ia && ib {
						inter++
					}
					if ia || ib {
						union++
					}
				}
			}
			// The two inputs differ by resampling noise (a DCT-scaled decode then an
			// area filter, against the area filter alone), so the model's map moves by
			// a fraction of its pixel: boundaries stay within half a model pixel
			// (sx photo pixels) on average, boxes within one and a half, plus one mask
			// cell (boxes are whole cells, and the two masks' cells start at their own
			// boxes). A box edge is one extreme pixel, so it moves more than the
			// boundary does: nailseg 2.4.0 moved one nail's tip edge 1.27 model pixels
			// at 2016x1512 (IoU 0.99).
			sx := float64(size.X) / 512
			perimeter := float64(2 * (a.Box.Dx() + a.Box.Dy()))
			iou := float64(inter) / float64(union)
			assert.Greater(t, iou, 1-perimeter*sx/2/float64(a.Area), "%v nail %d", size, i)
			for _, d := range []int{a.Box.Min.X - b.Box.Min.X, a.Box.Min.Y - b.Box.Min.Y, a.Box.Max.X - b.Box.Max.X, a.Box.Max.Y - b.Box.Max.Y} {
				assert.LessOrEqual(t, float64(max(d, -d)), 1.5*sx+float64(a.Mask.Scale), "%v nail %d box %v vs %v", size, i, a.Box, b.Box)
			}
			t.Logf("%v nail %d: IoU %.4f, boxes %v / %v", size, i, iou, a.Box, b.Box)
		}
	}
}
