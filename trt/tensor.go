package trt

import (
	"fmt"
	"strconv"
	"strings"
)

// DType is a tensor element type (nt_dtype).
type DType int

const (
	DTypeUnknown DType = 0
	Float32      DType = 1
	Float16      DType = 2
	BFloat16     DType = 3
	Int8         DType = 4
	Uint8        DType = 5
	Int32        DType = 6
	Int64        DType = 7
	Bool         DType = 8
)

var dtypeNames = [...]string{"unknown", "float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool"}
var dtypeSizes = [...]int{0, 4, 2, 2, 1, 1, 4, 8, 1}

func (d DType) String() string {
	if d < 0 || int(d) >= len(dtypeNames) {
		return "dtype(" + strconv.Itoa(int(d)) + ")"
	}
	return dtypeNames[d]
}

// Size is the element size in bytes (0 for unknown types).
func (d DType) Size() int {
	if d < 0 || int(d) >= len(dtypeSizes) {
		return 0
	}
	return dtypeSizes[d]
}

// Shape is a tensor shape; -1 marks a dynamic dimension in model descriptors.
type Shape []int64

// Dynamic reports whether any dimension is unresolved.
func (s Shape) Dynamic() bool {
	for _, d := range s {
		if d < 0 {
			return true
		}
	}
	return false
}

// Volume is the element count, or an error for dynamic or overflowing shapes.
func (s Shape) Volume() (int, error) {
	v := 1
	for _, d := range s {
		if d < 0 {
			return 0, errorf("shape", CodeShape, "shape %v has a dynamic dimension", s)
		}
		if d != 0 && v > (1<<62)/int(d) {
			return 0, errorf("shape", CodeShape, "shape %v overflows", s)
		}
		v *= int(d)
	}
	return v, nil
}

// Validate checks that s is a concrete shape a tensor declared as decl can take:
// same rank, positive dims, fixed dims equal. Used before anything crosses into C.
func (s Shape) Validate(decl Shape) error {
	if len(s) != len(decl) {
		return errorf("shape", CodeShape, "rank %d given, the model declares %v", len(s), decl)
	}
	if len(s) > maxDims {
		return errorf("shape", CodeShape, "rank %d exceeds %d", len(s), maxDims)
	}
	for i, d := range s {
		if d <= 0 {
			return errorf("shape", CodeShape, "dimension %d of %v must be positive", i, s)
		}
		if decl[i] >= 0 && decl[i] != d {
			return errorf("shape", CodeShape, "%v does not match the model's %v", s, decl)
		}
	}
	return nil
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Clone returns a copy that does not share storage with s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// IOMode says whether a tensor is an input or an output.
type IOMode int

const (
	Input  IOMode = 1
	Output IOMode = 2
)

func (m IOMode) String() string {
	switch m {
	case Input:
		return "input"
	case Output:
		return "output"
	}
	return fmt.Sprintf("iomode(%d)", int(m))
}

// TensorDesc describes one engine input or output.
type TensorDesc struct {
	Index int // position in Engine.Tensors: inputs first, then outputs
	Name  string
	Mode  IOMode
	DType DType
	Shape Shape // -1 for dynamic dims
}

func (t TensorDesc) String() string {
	return fmt.Sprintf("%s %s %s%v", t.Mode, t.Name, t.DType, t.Shape)
}
