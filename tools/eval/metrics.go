package main

import (
	"image"
	"math"
	"sort"
)

// sizeBuckets are the upper bounds (exclusive) of the nail-size buckets recall is
// reported in: the longer side of a true nail's bounding box, in pixels of the photo as
// stored. Small nails (far-away hands) are the failure mode issue 35 measures.
var sizeBuckets = []struct {
	key   string
	below int
}{{"lt20", 20}, {"20_25", 25}, {"25_40", 40}, {"ge40", math.MaxInt}}

// sizeBucket is the index in sizeBuckets of a nail whose box's longer side is side px.
func sizeBucket(side int) int {
	for i, b := range sizeBuckets {
		if side < b.below {
			return i
		}
	}
	return len(sizeBuckets) - 1
}

// longSide is the longer side of the bounding box of a w-wide mask's set pixels (0 if none).
func longSide(m []bool, w int) int {
	x0, y0, x1, y1 := math.MaxInt, math.MaxInt, -1, -1
	for i, v := range m {
		if v {
			x, y := i%w, i/w
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
		}
	}
	if x1 < 0 {
		return 0
	}
	return max(x1-x0+1, y1-y0+1)
}

// accumulator sums the counts behind every metric over a set of images.
type accumulator struct {
	Images                     int
	inter, union, psum, tsum   float64
	bpHit, bpAll, brHit, brAll float64
	tp, npred, ntrue           int
	// True nails and matched true nails per sizeBuckets entry.
	sizeTrue, sizeHit [4]int
}

// add scores one image: pred and truth are w x h binary masks, preds the predicted
// instances and truths the true ones (each a binary mask over the same image). truths nil
// means the dataset has no per-nail outlines for this photo: the true instances are then
// the 8-connected components of truth (touching nails count as one).
func (a *accumulator) add(pred, truth []bool, w, h int, preds, truths [][]bool) {
	a.Images++
	for i := range pred {
		p, t := pred[i], truth[i]
		if p && t {
			a.inter++
		}
		if p || t {
			a.union++
		}
		if p {
			a.psum++
		}
		if t {
			a.tsum++
		}
	}
	tol := max(1, int(math.Ceil(0.005*math.Hypot(float64(w), float64(h)))))
	pb, tb := boundary(pred, w, h), boundary(truth, w, h)
	pNear, tNear := dilate(pb, w, h, tol), dilate(tb, w, h, tol)
	for i := range pb {
		if pb[i] {
			a.bpAll++
			if tNear[i] {
				a.bpHit++
			}
		}
		if tb[i] {
			a.brAll++
			if pNear[i] {
				a.brHit++
			}
		}
	}
	if truths == nil {
		truths = components(truth, w, h)
	}
	n, hit := match(preds, truths)
	a.tp += n
	a.npred += len(preds)
	a.ntrue += len(truths)
	for j, t := range truths {
		b := sizeBucket(longSide(t, w))
		a.sizeTrue[b]++
		if hit[j] {
			a.sizeHit[b]++
		}
	}
}

func (a *accumulator) merge(b *accumulator) {
	a.Images += b.Images
	a.inter += b.inter
	a.union += b.union
	a.psum += b.psum
	a.tsum += b.tsum
	a.bpHit += b.bpHit
	a.bpAll += b.bpAll
	a.brHit += b.brHit
	a.brAll += b.brAll
	a.tp += b.tp
	a.npred += b.npred
	a.ntrue += b.ntrue
	for i := range a.sizeTrue {
		a.sizeTrue[i] += b.sizeTrue[i]
		a.sizeHit[i] += b.sizeHit[i]
	}
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func (a *accumulator) result() map[string]float64 {
	bp, br := div(a.bpHit, a.bpAll), div(a.brHit, a.brAll)
	p, r := div(float64(a.tp), float64(a.npred)), div(float64(a.tp), float64(a.ntrue))
	out := map[string]float64{
		"images":     float64(a.Images),
		"iou":        round4(div(a.inter, a.union)),
		"dice":       round4(div(2*a.inter, a.psum+a.tsum)),
		"boundary_f": round4(div(2*bp*br, bp+br)),
		"precision":  round4(p),
		"recall":     round4(r),
		"f1":         round4(div(2*p*r, p+r)),
	}
	for i, b := range sizeBuckets {
		out["nails_"+b.key] = float64(a.sizeTrue[i])
		out["recall_"+b.key] = round4(div(float64(a.sizeHit[i]), float64(a.sizeTrue[i])))
	}
	return out
}

// boundary marks set pixels with an unset (or out-of-image) 8-neighbour.
func boundary(m []bool, w, h int) []bool {
	out := make([]bool, len(m))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if !m[y*w+x] {
				continue
			}
		loop:
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h || !m[ny*w+nx] {
						out[y*w+x] = true
						break loop
					}
				}
			}
		}
	}
	return out
}

// dilate marks every pixel within Euclidean distance r of a set pixel.
func dilate(m []bool, w, h, r int) []bool {
	out := make([]bool, len(m))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if !m[y*w+x] {
				continue
			}
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					nx, ny := x+dx, y+dy
					if dx*dx+dy*dy <= r*r && nx >= 0 && ny >= 0 && nx < w && ny < h {
						out[ny*w+nx] = true
					}
				}
			}
		}
	}
	return out
}

// components splits a mask into its 8-connected components.
func components(m []bool, w, h int) [][]bool {
	seen := make([]bool, len(m))
	var out [][]bool
	stack := []image.Point{}
	for i := range m {
		if !m[i] || seen[i] {
			continue
		}
		comp := make([]bool, len(m))
		stack = append(stack[:0], image.Point{i % w, i / w})
		seen[i] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			comp[p.Y*w+p.X] = true
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := p.X+dx, p.Y+dy
					if nx >= 0 && ny >= 0 && nx < w && ny < h && m[ny*w+nx] && !seen[ny*w+nx] {
						seen[ny*w+nx] = true
						stack = append(stack, image.Point{nx, ny})
					}
				}
			}
		}
		out = append(out, comp)
	}
	return out
}

// match counts one-to-one pairs at IoU >= 0.5, greedily by best IoU, and says which
// truths were matched.
func match(preds, truths [][]bool) (int, []bool) {
	type pair struct {
		iou  float64
		p, t int
	}
	var pairs []pair
	for i, p := range preds {
		for j, t := range truths {
			var inter, union float64
			for k := range p {
				if p[k] && t[k] {
					inter++
				}
				if p[k] || t[k] {
					union++
				}
			}
			if union > 0 && inter/union >= 0.5 {
				pairs = append(pairs, pair{inter / union, i, j})
			}
		}
	}
	sort.Slice(pairs, func(a, b int) bool { return pairs[a].iou > pairs[b].iou })
	usedP, usedT := map[int]bool{}, make([]bool, len(truths))
	n := 0
	for _, pr := range pairs {
		if !usedP[pr.p] && !usedT[pr.t] {
			usedP[pr.p], usedT[pr.t] = true, true
			n++
		}
	}
	return n, usedT
}
