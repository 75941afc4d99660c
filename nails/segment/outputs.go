package segment

import (
	"fmt"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// lookupOutput describes e's tensors to the domain's postprocessors (nails.NewPostprocessor),
// which see no trt types.
func lookupOutput(e *trt.Engine) func(name string) (nails.OutputDesc, error) {
	return func(name string) (nails.OutputDesc, error) {
		t, err := e.Tensor(name)
		if err != nil {
			return nails.OutputDesc{}, err
		}
		return nails.OutputDesc{Name: t.Name, Index: t.Index, Output: t.Mode == trt.Output,
			DType: t.DType.String(), Shape: nails.Shape(t.Shape.Clone())}, nil
	}
}

// outputs is what a postprocessor reads: one request's images, [item, item+n), of a finished
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

// Tensor returns output i's data for this request's images and its shape, whose first
// dimension is the request's image count.
func (o outputs) Tensor(i int) ([]float32, nails.Shape, error) {
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
	out := nails.Shape(shape.Clone())
	out[0] = int64(o.n)
	return data[o.item*per : (o.item+o.n)*per], out, nil
}
