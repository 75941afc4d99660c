package nails

import (
	"fmt"
	"sort"

	"github.com/nailtrt/nailtrt/trt"
)

// outputDecoder turns one request's part of a finished run's outputs into nails in
// photo coordinates.
type outputDecoder interface {
	decode(out outputs, g Geometry) ([]Nail, error)
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

// outputs is what a decoder reads: one request's images, [item, item+n), of a finished
// run's batch. Unbatched, that is the whole batch. Shapes are read from the slot once
// per run (readShapes), so the requests of a batch decode concurrently from one slot.
type outputs struct {
	slot    *trt.Slot
	shapes  []trt.Shape // by tensor index; nil for inputs
	item, n int
}

// readShapes reads the shape every output of slot's last run produced.
func readShapes(slot *trt.Slot, e *trt.Engine) ([]trt.Shape, error) {
	shapes := make([]trt.Shape, len(e.Tensors()))
	for _, t := range e.Outputs() {
		sh, err := slot.OutputShape(t.Index)
		if err != nil {
			return nil, err
		}
		shapes[t.Index] = sh.Clone()
	}
	return shapes, nil
}

// tensor returns output i's data for this request's images and its shape, whose first
// dimension is the request's image count.
func (o outputs) tensor(i int) ([]float32, trt.Shape, error) {
	if i < 0 || i >= len(o.shapes) || o.shapes[i] == nil {
		return nil, nil, fmt.Errorf("nails: tensor %d is not an output", i)
	}
	shape := o.shapes[i]
	total, err := shape.Volume()
	if err != nil {
		return nil, nil, err
	}
	data, err := o.slot.Float32s(i)
	if err != nil {
		return nil, nil, err
	}
	if total > len(data) {
		return nil, nil, fmt.Errorf("nails: output %d of shape %v exceeds its buffer", i, shape)
	}
	run := int(shape[0])
	if run <= 0 || o.item+o.n > run {
		return nil, nil, fmt.Errorf("nails: output %d of shape %v has no images %d..%d", i, shape, o.item, o.item+o.n-1)
	}
	per := total / run
	out := shape.Clone()
	out[0] = int64(o.n)
	return data[o.item*per : (o.item+o.n)*per], out, nil
}

// finish computes every nail's area, tight box and contours, drops empty ones and
// numbers the rest in reading order.
func finish(nails []Nail, tolerance float64) []Nail {
	// Each nail's outline is its own work: one nail per piece.
	spread(len(nails), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			n := &nails[i]
			n.Area, n.Box = n.Mask.stats()
			if n.Area == 0 {
				continue
			}
			rings := n.Mask.contours()
			for k := range rings {
				rings[k].Points = simplify(rings[k].Points, tolerance)
			}
			n.Contours = rings
		}
	})
	out := nails[:0]
	for _, n := range nails {
		if n.Area > 0 {
			out = append(out, n)
		}
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
