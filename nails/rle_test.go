package nails

import (
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRLEKnownString(t *testing.T) {
	// 2x2 mask [[1,0],[0,1]]: column-major 1,0,0,1 -> counts [0,1,2,1] -> "0120".
	m := &Mask{Rect: image.Rect(0, 0, 2, 2), Alpha: []uint8{255, 0, 0, 255}}
	r := m.RLE(2, 2)
	assert.Equal(t, [2]int{2, 2}, r.Size)
	assert.Equal(t, "0120", r.Counts)
	bits, err := DecodeRLE(r)
	require.NoError(t, err)
	assert.Equal(t, []uint8{1, 0, 0, 1}, bits)
}

func TestRLERoundTrip(t *testing.T) {
	w, h := 37, 23
	m := &Mask{Rect: image.Rect(5, 3, 30, 20)}
	m.Alpha = make([]uint8, m.Rect.Dx()*m.Rect.Dy())
	for i := range m.Alpha {
		if (i*7919)%13 < 6 || i%29 == 0 {
			m.Alpha[i] = 200
		}
	}
	bits, err := DecodeRLE(m.RLE(w, h))
	require.NoError(t, err)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			want := uint8(0)
			if m.Inside(x, y) {
				want = 1
			}
			require.Equal(t, want, bits[y*w+x], "(%d,%d)", x, y)
		}
	}
	// Large counts (beyond 5-bit groups and negative deltas) survive too.
	big := &Mask{Rect: image.Rect(900, 0, 901, 1000), Alpha: make([]uint8, 1000)}
	for i := 500; i < 1000; i++ {
		big.Alpha[i] = 255
	}
	bits, err = DecodeRLE(big.RLE(1000, 1000))
	require.NoError(t, err)
	assert.Equal(t, uint8(1), bits[700*1000+900])
	assert.Equal(t, uint8(0), bits[100*1000+900])
}

func TestDecodeRLERejectsBadInput(t *testing.T) {
	for _, r := range []RLE{
		{Size: [2]int{2, 2}, Counts: "01"},              // sums to 1, not 4
		{Size: [2]int{2, 2}, Counts: "0\x7f"},           // bad character
		{Size: [2]int{2, 2}, Counts: "0a"},              // truncated continuation
		{Size: [2]int{-1, 2}, Counts: ""},               // bad size
		{Size: [2]int{2, 2}, Counts: "09"},              // overruns
		{Size: [2]int{2, 2}, Counts: "0ooooooooooooo1"}, // absurdly long count
	} {
		_, err := DecodeRLE(r)
		assert.Error(t, err, "%q", r.Counts)
	}
}
