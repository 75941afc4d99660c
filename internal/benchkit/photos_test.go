package benchkit

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails"
)

func TestVaryJPEGKeepsAValidJPEG(t *testing.T) {
	jpg := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	out := VaryJPEG(jpg, "hi")
	assert.Equal(t, []byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x04, 'h', 'i', 0xFF, 0xD9}, out)
}

// A varied photo has other bytes and the same pixels.
func TestScaledJPEGVariesWithoutChangingPixels(t *testing.T) {
	src, err := ExamplePhoto()
	require.NoError(t, err)
	jpg, err := ScaledJPEG(src, 160, 120, 1)
	require.NoError(t, err)
	a, err := nails.Decode(jpg, nails.Limits{})
	require.NoError(t, err)
	assert.Equal(t, [2]int{160, 120}, [2]int{a.Width, a.Height})
	v := VaryJPEG(jpg, "x")
	require.False(t, bytes.Equal(jpg, v))
	b, err := nails.Decode(v, nails.Limits{})
	require.NoError(t, err)
	assert.Equal(t, a.RGBA().Pix, b.RGBA().Pix)
	again, err := ScaledJPEG(src, 160, 120, 1)
	require.NoError(t, err)
	assert.Equal(t, jpg, again, "seeded: the same photo every run")
}

func TestProcMiB(t *testing.T) {
	if v := ProcMiB("VmRSS"); v == 0 {
		t.Skip("no /proc/self/status here")
	} else {
		assert.Greater(t, v, 1.0)
		assert.GreaterOrEqual(t, ProcMiB("VmHWM"), v*0.99)
	}
}
