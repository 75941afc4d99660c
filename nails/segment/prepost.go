package segment

import (
	"image"
	"sync/atomic"
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
// crosses the bus. The runner is given what the Go pipeline reads (an upright JPEG's
// YCbCr planes where Go reads planes, else the oriented RGBA copy) and computes what Go
// computes from it (nailtrt_pixel_tests and TestRunnerPrePostMatchesGo hold it), so the
// nails are the Go path's, except for rotated JPEGs, which Go averages as planes through
// the rotation and the runner reads as RGBA (within a pixel or two).
//
// Used where it pays, on TensorRT, and only for semantic models (the postprocessor the
// runner has); elsewhere the Go pipeline runs (Segmenter.runner is nil).
type runnerPrePost struct {
	in     trt.InputSpec
	sem    trt.SemanticSpec
	logits int // the logit map's tensor index
	// left counts the members the leader skipped because their requests had left (their
	// photos may already be another request's planes); TestRunnerSkipsAMemberThatLeft
	// reads it.
	left  atomic.Int64
	input nails.InputSpec // the manifest's, for the geometry that decides what to read
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
	r := &runnerPrePost{logits: t.Index, input: m.Input,
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
	sources, total := make([]staged, len(members)), 0
	for i, m := range members {
		m.readPhoto(func(p *nails.Photo) { sources[i] = r.source(p, total) }) // none if its request has left
		total += sources[i].size
	}
	buf, err := slot.Staging(total)
	if err != nil {
		return err
	}
	ctx := slot.Context()
	if err := ctx.KeepOutput(r.logits, true); err != nil {
		return err
	}
	if err := r.stage(ctx, buf, sources, input, per, members); err != nil {
		// No run follows: let the staging buffer go (the next batch may need to grow it).
		_ = ctx.ReleasePreprocessed()
		return err
	}
	return nil
}

// staged is where one member's photo goes in the staging buffer: a JPEG's planes where
// the Go pipeline reads planes (planes != nil), else the oriented RGBA copy.
type staged struct {
	planes *image.YCbCr
	rgba   *image.RGBA
	off    int // from the buffer's start
	size   int // bytes, rounded up to keep the next one aligned
	q      trt.YCbCr
}

// source lays out p's bytes at offset off of the staging buffer.
func (r *runnerPrePost) source(p *nails.Photo, off int) staged {
	const align = 64
	round := func(n int) int { return (n + align - 1) / align * align }
	if img := r.planes(p); img != nil {
		hd, vd := subsampling(img.SubsampleRatio)
		w, h := img.Rect.Dx(), img.Rect.Dy()
		cw, ch := (w+hd-1)/hd, (h+vd-1)/vd
		ySize, cSize := round(w*h), round(cw*ch)
		q := trt.YCbCr{Offset: off, CbOffset: ySize, CrOffset: ySize + cSize, Width: w, Height: h, YStride: w,
			CStride: cw, HSub: hd, VSub: vd, PhotoWidth: p.Width, PhotoHeight: p.Height}
		return staged{planes: img, off: off, size: ySize + 2*cSize, q: q}
	}
	img := p.RGBA() // oriented, premultiplied, as nails' preprocessing reads it; a reduced decode stays reduced
	return staged{rgba: img, off: off, size: round(4 * img.Rect.Dx() * img.Rect.Dy())}
}

// planes is p's YCbCr image when the Go pipeline reads its planes (nails' preprocess:
// an upright JPEG at least as large as its place in the input, area-filtered before
// conversion), so the runner reads the same; nil otherwise.
func (r *runnerPrePost) planes(p *nails.Photo) *image.YCbCr {
	img, ok := p.Src.(*image.YCbCr)
	if !ok || p.Orientation > 1 || img.Rect.Min != (image.Point{}) {
		return nil
	}
	g := nails.NewGeometry(p.Width, p.Height, r.input)
	if float64(img.Rect.Dx())/float64(g.NW) < 1 || float64(img.Rect.Dy())/float64(g.NH) < 1 {
		return nil
	}
	return img
}

// subsampling is a JPEG's chroma subsampling as factors across and down.
func subsampling(r image.YCbCrSubsampleRatio) (hd, vd int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// stage copies each member's bytes to its place in the staging buffer and has the
// runner preprocess them into the member's items.
func (r *runnerPrePost) stage(ctx *trt.Context, buf *trt.PinnedBuffer, sources []staged, input, per int,
	members []*member) error {
	out := buf.Bytes()
	for i, m := range members {
		t := time.Now()
		s := sources[i]
		var err error
		if s.size == 0 {
			r.left.Add(1)
			continue // its request left before the layout
		}
		if img := s.planes; img != nil {
			q := s.q
			cw, ch := q.CStride, (q.Height+q.VSub-1)/q.VSub
			if !m.readPhoto(func(*nails.Photo) {
				for y := range q.Height {
					copy(out[s.off+y*q.Width:], img.Y[y*img.YStride:y*img.YStride+q.Width])
				}
				for y := range ch {
					copy(out[s.off+q.CbOffset+y*cw:], img.Cb[y*img.CStride:y*img.CStride+cw])
					copy(out[s.off+q.CrOffset+y*cw:], img.Cr[y*img.CStride:y*img.CStride+cw])
				}
			}) {
				r.left.Add(1)
				continue // its request has left: its items stay as they are, and nobody reads them
			}
			err = ctx.PreprocessYCbCr(input, i*per, buf, q, r.in, r.sem.HFlip) // the mirror image too
		} else {
			img := s.rgba
			w, h := img.Rect.Dx(), img.Rect.Dy()
			if !m.readPhoto(func(*nails.Photo) {
				for y := range h {
					copy(out[s.off+4*w*y:], img.Pix[y*img.Stride:y*img.Stride+4*w])
				}
			}) {
				r.left.Add(1)
				continue
			}
			px := trt.Pixels{Offset: s.off, Width: w, Height: h, Stride: 4 * w, Channels: 4,
				PhotoWidth: m.photo.Width, PhotoHeight: m.photo.Height}
			err = ctx.Preprocess(input, i*per, buf, px, r.in, r.sem.HFlip)
		}
		if err != nil {
			return err
		}
		m.prep += time.Since(t) // after the RGBA copy made before joining (batcher.segment), if any
	}
	return nil
}

// postprocess reads the nails of the photo at batch item `item` of slot's last run.
func (r *runnerPrePost) postprocess(slot *trt.Slot, item int, p *nails.Photo) ([]nails.Nail, error) {
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
