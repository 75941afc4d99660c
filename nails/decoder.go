package nails

import (
	"fmt"
	"sort"

	"github.com/nailtrt/nailtrt/trt"
)

// outputDecoder turns a finished run's output tensors into nails in photo coordinates.
type outputDecoder interface {
	decode(s *trt.Slot, g Geometry) ([]Nail, error)
}

// newDecoder picks the decoder for the manifest's output format and resolves its tensor
// names against the engine, so a mismatched model fails at load, not per request.
func newDecoder(m *Manifest, e *trt.Engine) (outputDecoder, error) {
	switch m.Output.Format {
	case FormatSemantic:
		return newSemantic(m, e)
	case FormatRFDETR:
		return newRFDETR(m, e)
	case FormatYOLO:
		return newYOLO(m, e)
	}
	return nil, wrap(ErrManifest, "unknown output format %q", m.Output.Format)
}

// outputTensor finds a float32 output by name and checks its rank.
func outputTensor(e *trt.Engine, name string, rank int) (trt.TensorDesc, error) {
	t, err := e.Tensor(name)
	if err != nil {
		return t, wrap(ErrManifest, "%v", err)
	}
	if t.Mode != trt.Output {
		return t, wrap(ErrManifest, "tensor %s is an input, the manifest names it as an output", name)
	}
	if t.DType != trt.Float32 {
		return t, wrap(ErrManifest, "output %s is %s; nailtrt decodes float32 outputs", name, t.DType)
	}
	if len(t.Shape) != rank {
		return t, wrap(ErrManifest, "output %s has shape %v, expected rank %d", name, t.Shape, rank)
	}
	return t, nil
}

// output reads a finished run's output tensor i: its data (exactly the produced
// elements) and shape.
func output(s *trt.Slot, i int) ([]float32, trt.Shape, error) {
	shape, err := s.OutputShape(i)
	if err != nil {
		return nil, nil, err
	}
	n, err := shape.Volume()
	if err != nil {
		return nil, nil, err
	}
	data, err := s.Float32s(i)
	if err != nil {
		return nil, nil, err
	}
	if n > len(data) {
		return nil, nil, fmt.Errorf("nails: output %d of shape %v exceeds its buffer", i, shape)
	}
	return data[:n], shape.Clone(), nil
}

// finish computes every nail's area, tight box and contours, drops empty ones and
// numbers the rest in reading order.
func finish(nails []Nail, tolerance float64) []Nail {
	out := nails[:0]
	for _, n := range nails {
		area, box := n.Mask.stats()
		if area == 0 {
			continue
		}
		n.Area, n.Box = area, box
		rings := traceContours(n.Mask.binary(), n.Mask.Rect.Dx(), n.Mask.Rect.Dy(), n.Mask.Rect.Min)
		for i := range rings {
			rings[i].Points = simplify(rings[i].Points, tolerance)
		}
		n.Contours = rings
		out = append(out, n)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Box, out[j].Box
		// Rows of nails: compare tops unless the boxes overlap vertically.
		if a.Max.Y <= b.Min.Y || b.Max.Y <= a.Min.Y {
			return a.Min.Y < b.Min.Y
		}
		return a.Min.X < b.Min.X
	})
	for i := range out {
		out[i].ID = i + 1
	}
	return out
}
