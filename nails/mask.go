package nails

import (
	"image"
	"math"
)

// Mask is one nail's soft mask over a rectangle of the photo. Alpha is 0..255 (255 =
// certainly nail), row-major over Rect; a pixel is part of the nail when Alpha >= 128.
// The soft edge is what Render feathers with.
type Mask struct {
	Rect  image.Rectangle
	Alpha []uint8
}

// At returns the alpha at photo pixel (x, y), 0 outside Rect.
func (m *Mask) At(x, y int) uint8 {
	if !(image.Point{x, y}.In(m.Rect)) {
		return 0
	}
	return m.Alpha[(y-m.Rect.Min.Y)*m.Rect.Dx()+(x-m.Rect.Min.X)]
}

// Inside reports whether photo pixel (x, y) belongs to the nail.
func (m *Mask) Inside(x, y int) bool { return m.At(x, y) >= 128 }

// binary returns the hard mask over Rect (1 = nail).
func (m *Mask) binary() []uint8 {
	out := make([]uint8, len(m.Alpha))
	for i, a := range m.Alpha {
		if a >= 128 {
			out[i] = 1
		}
	}
	return out
}

// stats returns the nail's area and tight bounds (empty when no pixel is inside).
func (m *Mask) stats() (int, image.Rectangle) {
	w := m.Rect.Dx()
	area := 0
	x0, y0, x1, y1 := math.MaxInt, math.MaxInt, -1, -1
	for i, a := range m.Alpha {
		if a < 128 {
			continue
		}
		area++
		x, y := i%w, i/w
		x0, y0 = min(x0, x), min(y0, y)
		x1, y1 = max(x1, x), max(y1, y)
	}
	if area == 0 {
		return 0, image.Rectangle{}
	}
	return area, image.Rect(x0, y0, x1+1, y1+1).Add(m.Rect.Min)
}

// Bytes is the memory the mask holds (for cache accounting).
func (m *Mask) Bytes() int { return len(m.Alpha) + 32 }

// logitMap is a low-resolution logit image in model coordinates scaled by Stride
// (1 for a full-resolution semantic map, 4 for RF-DETR/YOLO mask heads).
type logitMap struct {
	data   []float32
	w, h   int
	stride float64 // model pixels per map pixel
	// offset is the decision threshold in logit space: alpha is sigmoid(logit - offset),
	// so a mask pixel is inside (alpha >= 128) exactly when its probability passes the
	// threshold that found the instance, and the soft edge is centred on that boundary.
	offset float32
}

// rejectLogit stands in for map pixels that belong to another instance.
const rejectLogit = -30

// softMask samples lm bilinearly at the centre of every photo pixel in box and turns it
// into alpha = 255*sigmoid(logit - offset). reject (may be nil) marks map pixels that belong to
// another instance: they count as confident background, so neighbouring nails never
// bleed into each other's masks.
//
// The map pixels under the box are first copied (with rejections applied) into a small
// local patch, so the per-pixel loop is plain array arithmetic.
func (g Geometry) softMask(lm logitMap, box image.Rectangle, reject func(i int) bool) *Mask {
	m := &Mask{Rect: box, Alpha: make([]uint8, box.Dx()*box.Dy())}
	if box.Empty() {
		return m
	}
	mapX := func(px float64) float64 { return g.ModelX(px)/lm.stride - 0.5 }
	mapY := func(py float64) float64 { return g.ModelY(py)/lm.stride - 0.5 }
	// Map pixels the box's samples can touch, clamped to the map.
	x0 := clamp(int(math.Floor(mapX(float64(box.Min.X)+0.5))), 0, lm.w-1)
	x1 := clamp(int(math.Floor(mapX(float64(box.Max.X)-0.5)))+1, 0, lm.w-1)
	y0 := clamp(int(math.Floor(mapY(float64(box.Min.Y)+0.5))), 0, lm.h-1)
	y1 := clamp(int(math.Floor(mapY(float64(box.Max.Y)-0.5)))+1, 0, lm.h-1)
	pw, ph := x1-x0+1, y1-y0+1
	patch := make([]float32, pw*ph)
	for y := 0; y < ph; y++ {
		for x := 0; x < pw; x++ {
			i := (y0+y)*lm.w + x0 + x
			v := lm.data[i]
			if reject != nil && reject(i) {
				v = rejectLogit
			}
			patch[y*pw+x] = v - lm.offset
		}
	}
	// Column sample positions are the same for every row: compute them once.
	type col struct {
		a, b int // patch columns to blend
		wx   float32
	}
	cols := make([]col, box.Dx())
	for i := range cols {
		fx := mapX(float64(box.Min.X+i) + 0.5)
		xf := math.Floor(fx)
		xa := clamp(int(xf), x0, x1) - x0
		xb := clamp(int(xf)+1, x0, x1) - x0
		cols[i] = col{xa, xb, float32(fx - xf)}
	}
	k := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		fy := mapY(float64(y) + 0.5)
		yf := math.Floor(fy)
		ra := patch[(clamp(int(yf), y0, y1)-y0)*pw:]
		rb := patch[(clamp(int(yf)+1, y0, y1)-y0)*pw:]
		wy := float32(fy - yf)
		for _, c := range cols {
			top := ra[c.a] + (ra[c.b]-ra[c.a])*c.wx
			bot := rb[c.a] + (rb[c.b]-rb[c.a])*c.wx
			m.Alpha[k] = alphaOf(top + (bot-top)*wy)
			k++
		}
	}
	return m
}

// alphaLUT holds 255*sigmoid(v) for v in [-12, 12] in steps of 1/64: one table read
// per mask pixel instead of an exp (the error is under half a grey level).
var alphaLUT = func() [24*64 + 1]uint8 {
	var t [24*64 + 1]uint8
	for i := range t {
		v := float64(i)/64 - 12
		t[i] = uint8(255/(1+math.Exp(-v)) + 0.5)
	}
	return t
}()

// alphaOf is 255*sigmoid(v), rounded.
func alphaOf(v float32) uint8 {
	if v >= 12 {
		return 255
	}
	if v <= -12 {
		return 0
	}
	return alphaLUT[int((v+12)*64+0.5)]
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// logit is the inverse of sigmoid, for turning probability thresholds into logit ones.
func logit(p float64) float32 { return float32(math.Log(p / (1 - p))) }

// photoBox maps a model-space box [x0,x1)x[y0,y1) to the photo, grown by margin model
// pixels for the soft edge and clipped to the photo.
func (g Geometry) photoBox(x0, y0, x1, y1, margin float64) image.Rectangle {
	r := image.Rect(
		int(math.Floor(g.PhotoX(x0-margin))), int(math.Floor(g.PhotoY(y0-margin))),
		int(math.Ceil(g.PhotoX(x1+margin))), int(math.Ceil(g.PhotoY(y1+margin))))
	return r.Intersect(image.Rect(0, 0, g.SrcW, g.SrcH))
}

// components labels the 8-connected regions of mask (w x h, nonzero = set) restricted to
// the rectangle roi. Labels start at 1; 0 is background. Two-pass union-find.
func components(mask []bool, w, h int, roi image.Rectangle) ([]int32, int) {
	labels := make([]int32, w*h)
	parent := []int32{0}
	find := func(a int32) int32 {
		for parent[a] != a {
			parent[a] = parent[parent[a]]
			a = parent[a]
		}
		return a
	}
	union := func(a, b int32) int32 {
		ra, rb := find(a), find(b)
		if ra < rb {
			parent[rb] = ra
			return ra
		}
		parent[ra] = rb
		return rb
	}
	for y := roi.Min.Y; y < roi.Max.Y; y++ {
		for x := roi.Min.X; x < roi.Max.X; x++ {
			i := y*w + x
			if !mask[i] {
				continue
			}
			var l int32
			// Already-visited 8-neighbours: W, NW, N, NE.
			for _, d := range [4][2]int{{-1, 0}, {-1, -1}, {0, -1}, {1, -1}} {
				nx, ny := x+d[0], y+d[1]
				if nx < roi.Min.X || nx >= roi.Max.X || ny < roi.Min.Y {
					continue
				}
				if nl := labels[ny*w+nx]; nl != 0 {
					if l == 0 {
						l = find(nl)
					} else {
						l = union(l, nl)
					}
				}
			}
			if l == 0 {
				l = int32(len(parent))
				parent = append(parent, l)
			}
			labels[i] = l
		}
	}
	// Second pass: compact root labels to 1..n.
	remap := make([]int32, len(parent))
	n := 0
	for y := roi.Min.Y; y < roi.Max.Y; y++ {
		for x := roi.Min.X; x < roi.Max.X; x++ {
			i := y*w + x
			if labels[i] == 0 {
				continue
			}
			r := find(labels[i])
			if remap[r] == 0 {
				n++
				remap[r] = int32(n)
			}
			labels[i] = remap[r]
		}
	}
	return labels, n
}
