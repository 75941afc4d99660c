package segment

import (
	"image"
	"time"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// runnerPrePost runs a request's pre- and post-processing in the native runner instead
// of in Go: the leader hands the runner each photo's 8-bit pixels (trt.Context.Preprocess)
// and each member reads its nails from it (trt.Context.PostprocessSemantic). On TensorRT
// that is the CUDA path of docs/gpu.md: the pixels cross to the GPU once, the model
// input is written there by a kernel, the logits stay on the device (KeepOutput) and
// only a byte map, per-nail scores and mask bytes come back; a float tensor never
// crosses the bus. The runner computes what the Go pipeline computes from RGB pixels
// (native/tests, nailtrt_pixel_tests and TestRunnerPrePostMatchesGo hold it), so the
// nails are the same as the Go path's up to the Go path's own shortcut for upright
// JPEGs, which resamples the decoder's YCbCr planes before converting to RGB.
//
// Used where it pays, on TensorRT, and only for semantic models (the postprocessor the
// runner has); elsewhere the Go pipeline runs (Segmenter.runner is nil).
type runnerPrePost struct {
	in     trt.InputSpec
	sem    trt.SemanticSpec
	logits int // the logit map's tensor index
	mirror bool
}

// newRunnerPrePost is the runner's pre- and post-processing for m on e when it applies
// (onGPU: the engine runs on TensorRT, or a test asks for the CPU references), else nil.
func newRunnerPrePost(m *nails.Manifest, e *trt.Engine, onGPU bool) (*runnerPrePost, error) {
	if !onGPU || m.Output.Format != nails.FormatSemantic {
		return nil, nil
	}
	t, err := e.Tensor(m.Output.Logits)
	if err != nil {
		return nil, wrap(nails.ErrManifest, "%v", err)
	}
	in := m.Input
	r := &runnerPrePost{logits: t.Index, mirror: m.TTA == nails.TTAHFlip,
		in: trt.InputSpec{Width: in.Width, Height: in.Height, BGR: in.Color == nails.ColorBGR,
			Stretch: in.Resize == nails.ResizeStretch, Scale: in.Scale, Mean: in.Mean, Std: in.Std, Pad: in.Pad},
		sem: trt.SemanticSpec{Threshold: m.Threshold, MaskThreshold: m.Output.MaskThreshold, MinArea: m.Output.MinArea,
			MinScore: m.Output.MinScore, HFlip: m.TTA == nails.TTAHFlip}}
	return r, nil
}

// prepare writes every member's model input into slot's input tensor, member i at
// batch item i*per: its pixels go into the slot's staging buffer (pinned memory, what a
// GPU copies from asynchronously) and the runner preprocesses them. The input's shape
// must be set first.
func (r *runnerPrePost) prepare(slot *trt.Slot, input, per int, members []*member) error {
	const align = 64
	offsets, total := make([]int, len(members)), 0
	for i, m := range members {
		img := m.photo.RGBA() // oriented, premultiplied (as nails' preprocessing reads it); a reduced decode stays reduced
		offsets[i] = total
		total += (4*img.Rect.Dx()*img.Rect.Dy() + align - 1) / align * align
	}
	buf, err := slot.Staging(total)
	if err != nil {
		return err
	}
	ctx, staged := slot.Context(), buf.Bytes()
	if err := ctx.KeepOutput(r.logits, true); err != nil {
		return err
	}
	if err := r.stage(ctx, buf, staged, offsets, input, per, members); err != nil {
		// No run follows: let the staging buffer go (the next batch may need to grow it).
		_ = ctx.ReleasePreprocessed()
		return err
	}
	return nil
}

// stage copies each member's pixels to its offset in the staging buffer and has the
// runner preprocess them into the member's items.
func (r *runnerPrePost) stage(ctx *trt.Context, buf *trt.PinnedBuffer, staged []byte, offsets []int, input, per int,
	members []*member) error {
	for i, m := range members {
		t := time.Now()
		img := m.photo.RGBA()
		w, h := img.Rect.Dx(), img.Rect.Dy()
		for y := range h {
			src := img.Pix[y*img.Stride : y*img.Stride+4*w]
			copy(staged[offsets[i]+4*w*y:], src)
		}
		px := trt.Pixels{Offset: offsets[i], Width: w, Height: h, Stride: 4 * w, Channels: 4,
			PhotoWidth: m.photo.Width, PhotoHeight: m.photo.Height}
		if err := ctx.Preprocess(input, i*per, buf, px, r.in, r.mirror); err != nil {
			return err
		}
		m.prep += time.Since(t) // after the RGBA copy made before joining (batcher.segment)
	}
	return nil
}

// decode reads the nails of the photo at batch item `item` of slot's last run.
func (r *runnerPrePost) decode(slot *trt.Slot, item int, p *nails.Photo) ([]nails.Nail, error) {
	found, err := slot.Context().PostprocessSemantic(r.logits, item, p.Width, p.Height, r.in, r.sem)
	if err != nil {
		return nil, err
	}
	var out []nails.Nail // nil when there are none, as the Go postprocessor gives
	for _, d := range found {
		box := image.Rect(d.X0, d.Y0, d.X1, d.Y1)
		out = append(out, nails.Nail{Score: d.Score, Mask: &nails.Mask{Rect: box, Scale: d.Scale, Alpha: d.Alpha}})
	}
	return out, nil
}
