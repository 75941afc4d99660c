package nails

import (
	"image"
	"math"
	"sync"
)

// Mask is one nail's soft mask over a rectangle of the photo. Alpha is 0..255 (255 =
// certainly nail); a pixel is part of the nail when its alpha is >= 128. The soft edge is
// what Render feathers with.
//
// Alpha holds one value per cell of Scale x Scale photo pixels, row-major over the cells
// that cover Rect, starting at Rect.Min (see Cells). A model sees a 12 MP photo at about
// 8 photo pixels per input pixel, so a mask kept per photo pixel would hold ~60 bytes per
// byte of information; the segmenter keeps two cells per model pixel instead (Scale 3 at
// 12 MP, 1 up to ~2.5 MP), which keeps the boundary the model drew and costs 1/Scale² the
// memory, the cache bytes and the time to sample, measure and trace it. At and Full give
// alpha per photo pixel, interpolated bilinearly between cell centres. Scale 0 means 1.
type Mask struct {
	Rect  image.Rectangle
	Scale int
	Alpha []uint8
}

// scale is Scale with 0 read as 1.
func (m *Mask) scale() int { return max(1, m.Scale) }

// Cells is the size of the cell grid Alpha covers: Rect's size divided by Scale, rounded up.
func (m *Mask) Cells() (w, h int) {
	s := m.scale()
	return (m.Rect.Dx() + s - 1) / s, (m.Rect.Dy() + s - 1) / s
}

// At returns the alpha at photo pixel (x, y), 0 outside Rect.
func (m *Mask) At(x, y int) uint8 {
	if !(image.Point{x, y}.In(m.Rect)) {
		return 0
	}
	s := m.scale()
	if s == 1 {
		return m.Alpha[(y-m.Rect.Min.Y)*m.Rect.Dx()+(x-m.Rect.Min.X)]
	}
	gw, gh := m.Cells()
	return m.blend(lerpAt(x-m.Rect.Min.X, s, gw), lerpAt(y-m.Rect.Min.Y, s, gh), gw)
}

// Inside reports whether photo pixel (x, y) belongs to the nail.
func (m *Mask) Inside(x, y int) bool { return m.At(x, y) >= 128 }

// Full returns the mask with one alpha per photo pixel (Scale 1): m itself when it is
// one already, else a new mask interpolated as At does. Painting needs it; nothing
// keeps it.
func (m *Mask) Full() *Mask {
	var buf []uint8
	return m.fullInto(&buf)
}

// fullInto is Full writing into *buf (grown when too small), so a painter can reuse
// one buffer nail after nail. The interpolation is separable: each row's two cell rows
// are blended once into per-cell values (fixed point, x256), then each pixel blends two
// of those, which is the same integer sum as blend's and so the same alpha.
func (m *Mask) fullInto(buf *[]uint8) *Mask {
	s := m.scale()
	if s == 1 {
		return m
	}
	gw, gh := m.Cells()
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := &Mask{Rect: m.Rect, Scale: 1, Alpha: resize(buf, w*h)}
	cols := make([]lerp, w)
	for x := range cols {
		cols[x] = lerpAt(x, s, gw)
	}
	col := make([]int, gw) // the current row's vertical blend per cell
	last := lerp{a: -1}
	for y := 0; y < h; y++ {
		ly := lerpAt(y, s, gh)
		if ly != last {
			ra, rb := m.Alpha[ly.a*gw:][:gw], m.Alpha[ly.b*gw:][:gw]
			for c := range col {
				col[c] = int(ra[c])*(256-ly.w) + int(rb[c])*ly.w
			}
			last = ly
		}
		row := out.Alpha[y*w : (y+1)*w]
		for x, lx := range cols {
			row[x] = uint8((col[lx.a]*(256-lx.w) + col[lx.b]*lx.w + 1<<15) >> 16)
		}
	}
	return out
}

// lerp is where a photo pixel's centre falls between two cell centres: cells a and b,
// weight w/256 on b.
type lerp struct{ a, b, w int }

// lerpAt places pixel i (from the grid's origin) among n cells of s pixels.
func lerpAt(i, s, n int) lerp {
	f := (float64(i)+0.5)/float64(s) - 0.5
	fl := math.Floor(f)
	return lerp{clamp(int(fl), 0, n-1), clamp(int(fl)+1, 0, n-1), int((f-fl)*256 + 0.5)}
}

// blend interpolates the four cells around (lx, ly) in fixed point, rounding to nearest.
func (m *Mask) blend(lx, ly lerp, gw int) uint8 {
	ra, rb := m.Alpha[ly.a*gw:], m.Alpha[ly.b*gw:]
	top := int(ra[lx.a])*(256-lx.w) + int(ra[lx.b])*lx.w
	bot := int(rb[lx.a])*(256-lx.w) + int(rb[lx.b])*lx.w
	return uint8((top*(256-ly.w) + bot*ly.w + 1<<15) >> 16)
}

// binary returns the hard mask over the cells (1 = nail).
func (m *Mask) binary(out []uint8) []uint8 {
	for i, a := range m.Alpha {
		out[i] = 0
		if a >= 128 {
			out[i] = 1
		}
	}
	return out
}

// binaryPool holds contours' scratch for binary (a cell per byte; the rings traced from
// it are new memory).
var binaryPool = sync.Pool{New: func() any { return new([]uint8) }}

// stats returns the nail's area in photo pixels and its tight bounds in the photo
// (empty when no cell is inside), counted a cell at a time: a cell inside is its
// Scale x Scale pixels, less what falls outside Rect at the right and bottom edges.
func (m *Mask) stats() (int, image.Rectangle) {
	s := m.scale()
	gw, _ := m.Cells()
	w, h := m.Rect.Dx(), m.Rect.Dy()
	area := 0
	x0, y0, x1, y1 := math.MaxInt, math.MaxInt, -1, -1
	for i, a := range m.Alpha {
		if a < 128 {
			continue
		}
		x, y := i%gw, i/gw
		area += (min(s*(x+1), w) - s*x) * (min(s*(y+1), h) - s*y)
		x0, y0 = min(x0, x), min(y0, y)
		x1, y1 = max(x1, x), max(y1, y)
	}
	if area == 0 {
		return 0, image.Rectangle{}
	}
	return area, image.Rect(s*x0, s*y0, min(s*(x1+1), w), min(s*(y1+1), h)).Add(m.Rect.Min)
}

// contours traces the mask's boundary rings in photo coordinates: on the cell grid, then
// scaled, so a ring's vertices lie on cell corners (every Scale pixels, and Rect's edge).
func (m *Mask) contours() []Contour {
	gw, gh := m.Cells()
	s := m.scale()
	buf := binaryPool.Get().(*[]uint8)
	defer binaryPool.Put(buf)
	bin := m.binary(resize(buf, len(m.Alpha)))
	if s == 1 {
		return traceContours(bin, gw, gh, m.Rect.Min)
	}
	rings := traceContours(bin, gw, gh, image.Point{})
	for _, r := range rings {
		for i, p := range r.Points {
			r.Points[i] = image.Pt(min(m.Rect.Min.X+s*p.X, m.Rect.Max.X), min(m.Rect.Min.Y+s*p.Y, m.Rect.Max.Y))
		}
	}
	return rings
}

// maskOverhead is what a Mask holds besides its alpha bytes, for cache accounting.
const maskOverhead = 40

// Bytes is the memory the mask holds (for cache accounting).
func (m *Mask) Bytes() int { return len(m.Alpha) + maskOverhead }

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

// softMask samples lm bilinearly at the centre of every cell of g.MaskScale x
// g.MaskScale photo pixels in box (see Mask) and turns it into alpha =
// 255*sigmoid(logit - offset). reject (may be nil) marks map pixels that belong to another
// instance: they count as confident background, so neighbouring nails never bleed into
// each other's masks.
//
// The map pixels under the box are first copied (with rejections applied) into a small
// local patch, so the per-cell loop is plain array arithmetic.
func (g Geometry) softMask(lm logitMap, box image.Rectangle, reject func(i int) bool) *Mask {
	m := &Mask{Rect: box, Scale: max(1, g.MaskScale)}
	s := float64(m.scale())
	gw, gh := m.Cells()
	m.Alpha = make([]uint8, gw*gh)
	if box.Empty() {
		return m
	}
	mapX := func(i int) float64 { return g.ModelX(float64(box.Min.X)+(float64(i)+0.5)*s)/lm.stride - 0.5 }
	mapY := func(j int) float64 { return g.ModelY(float64(box.Min.Y)+(float64(j)+0.5)*s)/lm.stride - 0.5 }
	// Map pixels the cells' samples can touch, clamped to the map.
	x0 := clamp(int(math.Floor(mapX(0))), 0, lm.w-1)
	x1 := clamp(int(math.Floor(mapX(gw-1)))+1, 0, lm.w-1)
	y0 := clamp(int(math.Floor(mapY(0))), 0, lm.h-1)
	y1 := clamp(int(math.Floor(mapY(gh-1)))+1, 0, lm.h-1)
	pw, ph := x1-x0+1, y1-y0+1
	sc := softMaskPool.Get().(*softMaskScratch)
	defer softMaskPool.Put(sc)
	patch := resize(&sc.patch, pw*ph)
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
	cols := resize(&sc.cols, gw)
	for i := range cols {
		fx := mapX(i)
		xf := math.Floor(fx)
		xa := clamp(int(xf), x0, x1) - x0
		xb := clamp(int(xf)+1, x0, x1) - x0
		cols[i] = softMaskCol{xa, xb, float32(fx - xf)}
	}
	k := 0
	for j := 0; j < gh; j++ {
		fy := mapY(j)
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

// softMaskScratch is what one softMask call uses and drops: the map patch under the box
// and the column sample positions, a few KB per nail. Pooled, as masks are sampled on
// every request (one call per nail, on the spread goroutines); nothing returned points
// into them.
type softMaskScratch struct {
	patch []float32
	cols  []softMaskCol
}

// softMaskCol is one cell column's two patch columns to blend and the weight between them.
type softMaskCol struct {
	a, b int
	wx   float32
}

var softMaskPool = sync.Pool{New: func() any { return new(softMaskScratch) }}

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

// components labels the 8-connected regions of mask (w x h, set = true) restricted to
// the rectangle roi, into labels (w x h, overwritten). Labels start at 1, numbered in
// the raster order of each region's first pixel; 0 is background. It works on runs of
// set pixels, not pixels: a run joins the previous row's runs that touch it (8-connected:
// one column either way) through union-find, and labels are written once, run by run,
// after. Nails cover a few percent of the map, so this visits a few thousand runs where
// the pixel-by-pixel pass looked at four neighbours of every set pixel (a third of the
// semantic decode). Its tables grow in sc (scratch the caller keeps between calls).
func components(mask []bool, w, h int, roi image.Rectangle, labels []int32, sc *componentScratch) ([]int32, int) {
	clear(labels)
	parent := append(sc.parent[:0], 0) // label 0, the background
	find := func(a int32) int32 {
		for parent[a] != a {
			parent[a] = parent[parent[a]]
			a = parent[a]
		}
		return a
	}
	runs := sc.runs[:0]
	prevLo, prevHi := 0, 0 // the previous row's runs: runs[prevLo:prevHi]
	for y := roi.Min.Y; y < roi.Max.Y; y++ {
		row := mask[y*w : y*w+roi.Max.X]
		curLo := len(runs)
		j := prevLo
		for x := roi.Min.X; x < roi.Max.X; {
			if !row[x] {
				x++
				continue
			}
			a := x
			for x < roi.Max.X && row[x] {
				x++
			}
			b := x // the run is [a, b)
			// The previous row's runs [pa, pb) that touch it: pa <= b and pb >= a.
			for j < prevHi && int(runs[j].b) < a {
				j++
			}
			var l int32
			for k := j; k < prevHi && int(runs[k].a) <= b; k++ {
				r := find(runs[k].label)
				switch {
				case l == 0:
					l = r
				case r < l:
					parent[l] = r
					l = r
				case r > l:
					parent[r] = l
				}
			}
			if l == 0 {
				l = int32(len(parent))
				parent = append(parent, l)
			}
			runs = append(runs, run{y: int32(y), a: int32(a), b: int32(b), label: l})
		}
		prevLo, prevHi = curLo, len(runs)
	}
	// Second pass: roots to 1..n in the order their first run appears.
	rm := resize(&sc.remap, len(parent))
	clear(rm)
	n := 0
	for _, r := range runs {
		root := find(r.label)
		if rm[root] == 0 {
			n++
			rm[root] = int32(n)
		}
		l := rm[root]
		out := labels[int(r.y)*w+int(r.a) : int(r.y)*w+int(r.b)]
		for i := range out {
			out[i] = l
		}
	}
	sc.parent, sc.runs = parent, runs
	return labels, n
}

// run is a horizontal stretch [a, b) of set pixels in row y, with its provisional label.
type run struct{ y, a, b, label int32 }

// componentScratch is components' working memory, kept by its caller between calls.
type componentScratch struct {
	parent, remap []int32 // union-find table and the roots' final labels
	runs          []run
}
