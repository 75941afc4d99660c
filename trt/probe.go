package trt

import (
	"context"
	"errors"
)

// OutputShapes runs the engine once on zeroed inputs of the given shapes and reports the
// shape of every output. It answers what descriptors cannot when an exported model
// leaves output dims dynamic (e.g. [-1,-1,-1,-1] for a map resized to the input): size
// buffers from it. Outputs are bound to tiny buffers, so the run usually ends with a
// shape error once the runner knows every shape; that is expected and not returned.
func (e *Engine) OutputShapes(inputs map[string]Shape) (map[string]Shape, error) {
	const op = "output shapes"
	st, err := NewStream(0)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	c, err := e.NewContext(st)
	if err != nil {
		return nil, err
	}
	var bufs []*PinnedBuffer
	defer func() {
		c.Close()
		for _, b := range bufs {
			b.Close()
		}
	}()
	for _, t := range e.tensors {
		size := 8
		if t.Mode == Input {
			s, ok := inputs[t.Name]
			if !ok {
				return nil, errorf(op, CodeInvalidArgument, "no shape given for input %s", t.Name)
			}
			if err := s.Validate(t.Shape); err != nil {
				return nil, err
			}
			n, err := s.Volume()
			if err != nil {
				return nil, err
			}
			size = n * t.DType.Size()
			if err := c.SetInputShape(t.Index, s); err != nil {
				return nil, err
			}
		}
		b, err := NewPinnedBuffer(size)
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, b)
		if err := c.Bind(t.Index, b); err != nil {
			return nil, err
		}
	}
	if err := c.Run(context.Background()); err != nil && !errors.Is(err, ErrShape) {
		return nil, err
	}
	out := map[string]Shape{}
	for _, t := range e.tensors {
		if t.Mode != Output {
			continue
		}
		s, err := c.Shape(t.Index, nil)
		if err != nil {
			return nil, err
		}
		if s.Dynamic() {
			return nil, errorf(op, CodeShape, "output %s has no shape after a run: %v", t.Name, s)
		}
		out[t.Name] = s
	}
	return out, nil
}
