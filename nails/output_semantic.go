package nails

import (
	"image"
	"sync"
)

// semantic decodes one logit map [N,1,H,W] (the bundled model): pixels whose
// probability passes the threshold are nail; 8-connected components are instances,
// scored by their mean probability.
type semantic struct {
	index     int
	threshold float32 // in logit space
	minArea   int     // model pixels
	minScore  float64 // mean probability
	maskAt    float32 // the masks' decision threshold, in logit space
	hflip     bool    // the batch holds the photo and its mirror image: average them
}

func newSemantic(m *Manifest, lookup func(string) (OutputDesc, error)) (*semantic, error) {
	t, err := outputTensor(lookup, m.Output.Logits, 4)
	if err != nil {
		return nil, err
	}
	if t.Shape[1] != 1 && t.Shape[1] != -1 {
		return nil, wrap(ErrManifest, "semantic output %s has %d channels, expected 1", t.Name, t.Shape[1])
	}
	maskAt := m.Threshold
	if m.Output.MaskThreshold > 0 {
		maskAt = m.Output.MaskThreshold
	}
	return &semantic{index: t.Index, threshold: logit(m.Threshold), maskAt: logit(maskAt), minArea: max(1, m.Output.MinArea),
		minScore: m.Output.MinScore, hflip: m.TTA == TTAHFlip}, nil
}

func (d *semantic) Nails(o Outputs, g Geometry) ([]Nail, error) {
	data, shape, err := o.Tensor(d.index)
	if err != nil {
		return nil, err
	}
	h, w := int(shape[2]), int(shape[3])
	sc := semanticPool.Get().(*semanticScratch)
	defer semanticPool.Put(sc)
	lm := logitMap{data: data[:h*w], w: w, h: h, stride: float64(g.InW) / float64(w), offset: d.maskAt}
	if d.hflip {
		if shape[0] != 2 {
			return nil, wrap(ErrManifest, "hflip TTA expects a batch of 2 logit maps, got %v", shape)
		}
		lm.data = unflipMean(resize(&sc.mean, h*w), data[:h*w], data[h*w:2*h*w], w)
	}
	// Only the photo's part of the letterboxed input can hold nails.
	roi := image.Rect(int(float64(g.DX)/lm.stride), int(float64(g.DY)/lm.stride),
		int(float64(g.DX+g.NW)/lm.stride+0.999), int(float64(g.DY+g.NH)/lm.stride+0.999)).
		Intersect(image.Rect(0, 0, w, h))
	on := resize(&sc.on, w*h)
	clear(on)
	for y := roi.Min.Y; y < roi.Max.Y; y++ {
		for x := roi.Min.X; x < roi.Max.X; x++ {
			on[y*w+x] = lm.data[y*w+x] > d.threshold
		}
	}
	labels, n := components(on, w, h, roi, resize(&sc.labels, w*h), &sc.components)
	comps := resize(&sc.comps, n+1)
	for i := range comps {
		comps[i] = component{x0: w, y0: h}
	}
	// Each component's area, box and summed probability, run by run (raster order, as
	// the sums always were).
	for _, r := range sc.components.runs {
		y, a, b := int(r.y), int(r.a), int(r.b)
		c := &comps[labels[y*w+a]]
		c.area += b - a
		for _, v := range lm.data[y*w+a : y*w+b] {
			c.prob += float64(sigmoid(v))
		}
		c.x0, c.y0 = min(c.x0, a), min(c.y0, y)
		c.x1, c.y1 = max(c.x1, b), max(c.y1, y+1)
	}
	kept, boxes := sc.kept[:0], sc.boxes[:0] // each nail's label and photo box
	for l := 1; l <= n; l++ {
		c := comps[l]
		if c.area*int(lm.stride*lm.stride) < d.minArea || c.prob < d.minScore*float64(c.area) {
			continue
		}
		box := g.photoBox(float64(c.x0)*lm.stride, float64(c.y0)*lm.stride,
			float64(c.x1)*lm.stride, float64(c.y1)*lm.stride, lm.stride)
		if box.Empty() {
			continue
		}
		kept, boxes = append(kept, int32(l)), append(boxes, box)
	}
	sc.kept, sc.boxes = kept, boxes
	var nails []Nail // nil when there are none, as before
	if len(kept) > 0 {
		nails = make([]Nail, len(kept))
	}
	for i, l := range kept {
		c := comps[l]
		nails[i].Score = c.prob / float64(c.area)
	}
	// The masks, sampled at photo resolution, are most of the decode: one nail per piece.
	spread(len(nails), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			label := kept[i]
			nails[i].Mask = g.softMask(lm, boxes[i], func(j int) bool { return labels[j] != 0 && labels[j] != label })
		}
	})
	return nails, nil
}

// semanticScratch is what one decode uses and drops: the averaged logit map, the
// thresholded map and its component labels, a megabyte or two at 512x512. Pooled, so a
// warm server does not allocate them per request; nothing returned points into them
// (masks are sampled from them into their own memory).
type semanticScratch struct {
	mean       []float32
	on         []bool
	labels     []int32
	components componentScratch
	comps      []component
	kept       []int32
	boxes      []image.Rectangle
}

// component is one connected region of the thresholded map, in model pixels.
type component struct {
	area           int
	prob           float64
	x0, y0, x1, y1 int
}

var semanticPool = sync.Pool{New: func() any { return new(semanticScratch) }}

// unflipMean writes into out (len(a)) the mean of a logit map and the map of the
// mirrored image, mirrored back, and returns out.
func unflipMean(out, a, b []float32, w int) []float32 {
	for r := 0; r+w <= len(a); r += w {
		ra, rb, ro := a[r:r+w], b[r:r+w], out[r:r+w]
		for x := range ra {
			ro[x] = (ra[x] + rb[w-1-x]) / 2
		}
	}
	return out
}
