package trt_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/trt"
)

// The runner's pre- and post-processing through the Go wrappers, on the CPU (the C++
// references on the bound buffers): a photo's pixels in, the input item and its mirror
// written, a known logit map decoded. nails/segment's TestRunnerPrePostMatchesGo holds
// the whole path to the Go pipeline's nails.
func TestPreprocessAndPostprocessSemantic(t *testing.T) {
	e := openCPU(t, "conv.onnx") // x [N,3,128,128] -> y [N,1,128,128]
	p := newPool(t, e, trt.PoolOptions{MaxBatch: 2})
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer p.Release(s)

	const w, h, in = 200, 150, 128
	photo, err := trt.NewPinnedBuffer(w * h * 3)
	require.NoError(t, err)
	px := photo.Bytes()
	for y := range h {
		for x := range w {
			px[(y*w+x)*3] = byte(x)
		}
	}
	spec := trt.InputSpec{Width: in, Height: in, Scale: 1.0 / 255, Std: [3]float64{1, 1, 1}}
	pixels := trt.Pixels{Width: w, Height: h, Stride: w * 3, Channels: 3}
	ctx := s.Context()
	require.NoError(t, s.SetInputShape(0, trt.Shape{2, 3, in, in}))
	require.NoError(t, ctx.Preprocess(0, 0, photo, pixels, spec, true))
	// The buffer is held until the run that reads it has finished.
	assert.ErrorIs(t, photo.Close(), trt.ErrBusy)
	x, err := s.Float32s(0)
	require.NoError(t, err)
	plane := 3 * in * in
	row := 64 * in
	assert.InDelta(t, 10.0/255*200/128, x[row+10], 0.02, "red grows with x: the photo's R is its column")
	assert.Equal(t, x[row+10], x[plane+row+in-1-10], "item 1 is item 0 mirrored")
	require.NoError(t, s.Run(context.Background()))
	require.NoError(t, photo.Close())

	// A known pair of maps in place of the run's output: one block and its mirror image.
	require.NoError(t, ctx.KeepOutput(1, true)) // changes nothing off the GPU
	logits, err := s.Float32s(1)
	require.NoError(t, err)
	for i := range 2 * in * in {
		logits[i] = -8
	}
	for r := 50; r < 60; r++ {
		for c := 40; c < 60; c++ {
			logits[r*in+c] = 8
			logits[in*in+r*in+in-1-c] = 8
		}
	}
	nails, err := ctx.PostprocessSemantic(1, 0, w, h, spec, trt.SemanticSpec{Threshold: 0.5, MinArea: 4, HFlip: true})
	require.NoError(t, err)
	require.Len(t, nails, 1)
	n := nails[0]
	// Map [40,60) x [50,60) is photo [62.5,93.75) x [53.1,68.75) (0.64 model pixels a
	// photo pixel, the photo 16 model rows down).
	assert.InDelta(t, 62, n.X0, 2)
	assert.InDelta(t, 94, n.X1, 2)
	assert.InDelta(t, 53, n.Y0, 2)
	assert.InDelta(t, 69, n.Y1, 2)
	assert.InDelta(t, 1/(1+math.Exp(-8)), n.Score, 1e-6)
	require.Len(t, n.Alpha, n.CellsW*n.CellsH)
	assert.Equal(t, byte(255), n.Alpha[n.CellsH/2*n.CellsW+n.CellsW/2])

	_, err = ctx.PostprocessSemantic(1, 1, w, h, spec, trt.SemanticSpec{Threshold: 0.5, HFlip: true})
	assert.ErrorIs(t, err, trt.ErrShape, "item 1 and its mirror are past the batch of 2")
	_, err = ctx.PostprocessSemantic(0, 0, w, h, spec, trt.SemanticSpec{Threshold: 0.5})
	assert.ErrorIs(t, err, trt.ErrInvalidArgument, "an input is not decoded")
	err = ctx.Preprocess(0, 0, nil, pixels, spec, false)
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)
}
