package trt

// #include <stdlib.h>
// #include "nailtrt.h"
import "C"

import (
	"math"
	"unsafe"
)

// Pixels locates 8-bit photo pixels in a PinnedBuffer: Height rows of Width pixels,
// Stride bytes apart, from Offset; each pixel R, G, B and, when Channels is 4, a byte
// that is ignored. When they are a reduced decode of a larger photo (a JPEG decoded at
// 1/2, 1/4 or 1/8), PhotoWidth x PhotoHeight is the photo's size, whose place in the
// model input the pixels fill; 0 x 0: the pixels are the photo.
type Pixels struct {
	Offset                          int
	Width, Height, Stride, Channels int
	PhotoWidth, PhotoHeight         int
}

// InputSpec is how a photo becomes the model's input (a manifest's input section):
// letterboxed into Width x Height (or stretched), each 0..255 value times Scale, minus
// Mean, over Std, in the model's channel order (BGR swaps the photo's); Pad is the
// letterbox's 0..255 RGB fill.
type InputSpec struct {
	Width, Height  int
	BGR, Stretch   bool
	Scale          float64
	Mean, Std, Pad [3]float64
}

// SemanticSpec is a semantic model's decoding (a manifest's output section):
// probabilities over Threshold are nail, masks are drawn at MaskThreshold (0: at
// Threshold), nails under MinArea model-input pixels or a mean probability under
// MinScore are dropped; HFlip averages an image's map with its mirror image's, the next
// item.
type SemanticSpec struct {
	Threshold, MaskThreshold, MinScore float64
	MinArea                            int
	HFlip                              bool
}

// FoundNail is one nail from PostprocessSemantic: its box [X0,X1) x [Y0,Y1) in photo
// pixels, its mean probability, and its mask: CellsW x CellsH cells of Scale x Scale
// photo pixels from (X0, Y0), alpha 0..255 row by row.
type FoundNail struct {
	X0, Y0, X1, Y1        int
	Scale, CellsW, CellsH int
	Score                 float64
	Alpha                 []byte
}

func (s InputSpec) native() C.nt_input_spec {
	n := C.nt_input_spec{width: C.int32_t(s.Width), height: C.int32_t(s.Height), scale: C.double(s.Scale)}
	if s.BGR {
		n.bgr = 1
	}
	if s.Stretch {
		n.stretch = 1
	}
	for c := range 3 {
		n.mean[c], n.std[c], n.pad[c] = C.double(s.Mean[c]), C.double(s.Std[c]), C.double(s.Pad[c])
	}
	return n
}

// Preprocess writes batch item `item` of input index (a float [N,3,H,W] tensor whose
// current shape holds the item) from the photo px in b, and with mirror also item+1, the
// photo mirrored left to right: the runner's preprocessing, which computes what
// nailtrt's Go pipeline does for RGB pixels. On a TensorRT context it runs on the GPU:
// the pixels are copied once and a kernel writes the input in device memory, and the
// next Run copies nothing for this input. Elsewhere it writes the input's bound buffer.
// b must stay unchanged until that Run returns; the context holds it open until then
// (or until ReleasePreprocessed or Close: Enqueue, which does not wait, does not
// release it).
func (c *Context) Preprocess(index, item int, b *PinnedBuffer, px Pixels, spec InputSpec, mirror bool) error {
	cpx := C.nt_pixels{width: C.int32_t(px.Width), height: C.int32_t(px.Height), stride: C.int32_t(px.Stride),
		channels: C.int32_t(px.Channels), photo_width: C.int32_t(px.PhotoWidth), photo_height: C.int32_t(px.PhotoHeight)}
	return c.preprocess("preprocess", index, b, px.Offset, func(h *C.nt_context, bh *C.nt_buffer, in *C.nt_input_spec, m C.int32_t) C.nt_status {
		return C.nt_context_preprocess(h, C.size_t(index), C.int64_t(item), bh, C.size_t(px.Offset), &cpx, in, m)
	}, spec, mirror)
}

// YCbCr locates a JPEG's decoded planes in a PinnedBuffer (image.YCbCr's layout): luma,
// Width x Height samples YStride bytes apart, from Offset; Cb and Cr, subsampled HSub
// across and VSub down, CStride bytes a row, CbOffset and CrOffset past Offset.
// PhotoWidth and PhotoHeight are as Pixels'.
type YCbCr struct {
	Offset, CbOffset, CrOffset int
	Width, Height              int
	YStride, CStride           int
	HSub, VSub                 int
	PhotoWidth, PhotoHeight    int
}

// PreprocessYCbCr is Preprocess from a JPEG's planes: averaged before they are converted
// to RGB, as nailtrt's Go pipeline reads an upright JPEG at least as large as its place
// in the input (planes smaller than that are refused: send Pixels).
func (c *Context) PreprocessYCbCr(index, item int, b *PinnedBuffer, q YCbCr, spec InputSpec, mirror bool) error {
	if q.CbOffset < 0 || q.CrOffset < 0 {
		return errorf("preprocess ycbcr", CodeInvalidArgument, "plane offsets %d, %d", q.CbOffset, q.CrOffset)
	}
	cq := C.nt_ycbcr{width: C.int32_t(q.Width), height: C.int32_t(q.Height), y_stride: C.int32_t(q.YStride),
		c_stride: C.int32_t(q.CStride), h_sub: C.int32_t(q.HSub), v_sub: C.int32_t(q.VSub),
		cb_offset: C.uint64_t(q.CbOffset), cr_offset: C.uint64_t(q.CrOffset),
		photo_width: C.int32_t(q.PhotoWidth), photo_height: C.int32_t(q.PhotoHeight)}
	return c.preprocess("preprocess ycbcr", index, b, q.Offset, func(h *C.nt_context, bh *C.nt_buffer, in *C.nt_input_spec, m C.int32_t) C.nt_status {
		return C.nt_context_preprocess_ycbcr(h, C.size_t(index), C.int64_t(item), bh, C.size_t(q.Offset), &cq, in, m)
	}, spec, mirror)
}

// preprocess is both Preprocess calls: the checks, the context's lock, and b held open
// until the run that reads it.
func (c *Context) preprocess(op string, index int, b *PinnedBuffer, offset int,
	native func(h *C.nt_context, bh *C.nt_buffer, in *C.nt_input_spec, mirror C.int32_t) C.nt_status,
	spec InputSpec, mirror bool) error {
	t, err := c.tensor(op, index)
	if err != nil {
		return err
	}
	if b == nil {
		return errorf(op, CodeInvalidArgument, "buffer is nil")
	}
	if offset < 0 {
		return errorf(op, CodeInvalidArgument, "pixel offset %d", offset)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError(op, "context")
	}
	bh, err := b.bind()
	if err != nil {
		return err
	}
	cspec := spec.native()
	var m C.int32_t
	if mirror {
		m = 1
	}
	h := c.h
	if err := call(op+" "+t.Name, func() C.nt_status { return native(h, bh, &cspec, m) }); err != nil {
		b.unbind()
		return err
	}
	// Held open (bound) until the run that reads it has finished: on a GPU the copy from
	// it is still queued.
	c.pending = append(c.pending, b)
	return nil
}

// ReleasePreprocessed is for a Preprocess that no Run will follow (a batch given up
// halfway): it waits for the context's stream, so copies Preprocess queued have landed,
// and lets the buffers they read be closed again. Run does the same after every run.
func (c *Context) ReleasePreprocessed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return nil
	}
	err := c.stream.Synchronize()
	c.releasePending()
	return err
}

// releasePending lets the buffers Preprocess read be closed again. c.mu is held.
func (c *Context) releasePending() {
	for _, b := range c.pending {
		b.unbind()
	}
	c.pending = c.pending[:0]
}

// KeepOutput makes runs leave output index where the model wrote it (keep) instead of
// copying it into its bound buffer, for PostprocessSemantic. Only a TensorRT context has
// anywhere else to keep it: on the others outputs are computed in their bound buffers
// whatever this says, so they must stay bound.
func (c *Context) KeepOutput(index int, keep bool) error {
	const op = "keep output"
	t, err := c.tensor(op, index)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError(op, "context")
	}
	var k C.int32_t
	if keep {
		k = 1
	}
	h := c.h
	return call(op+" "+t.Name, func() C.nt_status { return C.nt_context_keep_output(h, C.size_t(index), k) })
}

// PostprocessSemantic turns batch item `item` of output index of the last run (with
// spec.HFlip, items item and item+1), a float [N,1,h,w] logit map, into the nails of a
// photoW x photoH photo that in became the model input of: the runner's semantic
// postprocessor, which computes what nailtrt's Go pipeline does. On a TensorRT context with
// the output kept (KeepOutput) it runs on the GPU and brings back bytes only.
func (c *Context) PostprocessSemantic(index, item, photoW, photoH int, in InputSpec, spec SemanticSpec) ([]FoundNail, error) {
	const op = "postprocess semantic"
	t, err := c.tensor(op, index)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return nil, closedError(op, "context")
	}
	cin := in.native()
	cspec := C.nt_semantic_spec{threshold: C.double(spec.Threshold), mask_threshold: C.double(spec.MaskThreshold),
		min_area: C.int32_t(spec.MinArea), min_score: C.double(spec.MinScore)}
	if spec.HFlip {
		cspec.hflip = 1
	}
	var found *C.nt_nails
	h := c.h
	if err := call(op+" "+t.Name, func() C.nt_status {
		return C.nt_context_postprocess_semantic(h, C.size_t(index), C.int64_t(item), C.int32_t(photoW), C.int32_t(photoH),
			&cin, &cspec, &found)
	}); err != nil {
		return nil, err
	}
	defer C.nt_nails_destroy(found)
	var n C.size_t
	if err := call(op, func() C.nt_status { return C.nt_nails_count(found, &n) }); err != nil {
		return nil, err
	}
	out := make([]FoundNail, int(n))
	for i := range out {
		var d C.nt_nail
		if err := call(op, func() C.nt_status { return C.nt_nails_get(found, C.size_t(i), &d) }); err != nil {
			return nil, err
		}
		cells := int64(d.cells_w) * int64(d.cells_h)
		if d.cells_w < 0 || d.cells_h < 0 || cells > math.MaxInt32 {
			return nil, errorf(op, CodeInternal, "nail %d has a %dx%d mask", i, d.cells_w, d.cells_h)
		}
		out[i] = FoundNail{X0: int(d.x0), Y0: int(d.y0), X1: int(d.x1), Y1: int(d.y1), Scale: int(d.scale),
			CellsW: int(d.cells_w), CellsH: int(d.cells_h), Score: float64(d.score)}
		if cells > 0 {
			// Copied: the runner's memory is freed on return.
			out[i].Alpha = C.GoBytes(unsafe.Pointer(d.alpha), C.int(cells))
		}
	}
	return out, nil
}
