package nails

import (
	"sort"
	"strconv"
	"strings"
)

// Postprocessor turns one request's part of a finished run's outputs into nails in
// photo coordinates. The model runtime (package segment) reads the tensors; a
// Postprocessor sees plain slices and shapes only. (One word per idea: "decode" is
// bytes to a Photo, Decode and DecodeReduced; "postprocess" is tensors to nails, and
// the Postprocess timing.)
type Postprocessor interface {
	Nails(out Outputs, g Geometry) ([]Nail, error)
}

// Outputs is what a postprocessor reads: one request's images of a finished run. Tensor
// returns output i's data for those images and its shape, whose first dimension is the
// request's image count.
type Outputs interface {
	Tensor(i int) ([]float32, Shape, error)
}

// Shape is a tensor's dimensions; -1 is a dynamic one.
type Shape []int64

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// OutputDesc describes one of the model's tensors as the runtime reports it.
type OutputDesc struct {
	Name   string
	Index  int    // the runtime's tensor index, passed back to Outputs.Tensor
	Output bool   // false: an input
	DType  string // "float32" is the one postprocessors read
	Shape  Shape
}

// NewPostprocessor picks the postprocessor for the manifest's output format and resolves its tensor
// names through lookup, so a mismatched model fails at load, not per request.
func NewPostprocessor(m *Manifest, lookup func(name string) (OutputDesc, error)) (Postprocessor, error) {
	switch m.Output.Format {
	case FormatSemantic:
		return newSemantic(m, lookup)
	case FormatRFDETR:
		return newRFDETR(m, lookup)
	case FormatYOLO:
		return newYOLO(m, lookup)
	}
	return nil, wrap(ErrManifest, "unknown output format %q", m.Output.Format)
}

// outputTensor finds a float32 output by name and checks its rank.
func outputTensor(lookup func(string) (OutputDesc, error), name string, rank int) (OutputDesc, error) {
	t, err := lookup(name)
	if err != nil {
		return t, wrap(ErrManifest, "%v", err)
	}
	if !t.Output {
		return t, wrap(ErrManifest, "tensor %s is an input, the manifest names it as an output", name)
	}
	if t.DType != "float32" {
		return t, wrap(ErrManifest, "output %s is %s; nailtrt decodes float32 outputs", name, t.DType)
	}
	if len(t.Shape) != rank {
		return t, wrap(ErrManifest, "output %s has shape %v, expected rank %d", name, t.Shape, rank)
	}
	return t, nil
}

// FinishNails computes every nail's area, tight box and contours, drops empty ones and
// numbers the rest in reading order.
func FinishNails(nails []Nail, tolerance float64) []Nail {
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
	readingOrder(out)
	for i := range out {
		out[i].ID = i + 1
	}
	return out
}

// readingOrder sorts nails into rows, top to bottom, each left to right. Taken by their
// tops, a nail starts a new row when its box begins below every box of the row so far;
// otherwise it overlaps the row vertically and joins it. Comparing pairs by overlap
// instead (what this replaced) is not transitive (a overlaps b, b overlaps c, a does
// not overlap c), so the order sort gave depended on the order the nails came in.
func readingOrder(ns []Nail) {
	sort.SliceStable(ns, func(i, j int) bool {
		a, b := ns[i].Box, ns[j].Box
		if a.Min.Y != b.Min.Y {
			return a.Min.Y < b.Min.Y
		}
		return a.Min.X < b.Min.X
	})
	rows := make([]int, len(ns))
	bottom := 0 // the lowest edge of the current row so far
	for i, n := range ns {
		switch {
		case i == 0:
			bottom = n.Box.Max.Y
		case n.Box.Min.Y >= bottom:
			rows[i], bottom = rows[i-1]+1, n.Box.Max.Y
		default:
			rows[i], bottom = rows[i-1], max(bottom, n.Box.Max.Y)
		}
	}
	sort.Sort(byRow{ns, rows})
}

// byRow sorts nails (and their row numbers with them) by row, then left edge, then top.
type byRow struct {
	ns   []Nail
	rows []int
}

func (b byRow) Len() int { return len(b.ns) }
func (b byRow) Swap(i, j int) {
	b.ns[i], b.ns[j] = b.ns[j], b.ns[i]
	b.rows[i], b.rows[j] = b.rows[j], b.rows[i]
}
func (b byRow) Less(i, j int) bool {
	if b.rows[i] != b.rows[j] {
		return b.rows[i] < b.rows[j]
	}
	if b.ns[i].Box.Min.X != b.ns[j].Box.Min.X {
		return b.ns[i].Box.Min.X < b.ns[j].Box.Min.X
	}
	return b.ns[i].Box.Min.Y < b.ns[j].Box.Min.Y
}
