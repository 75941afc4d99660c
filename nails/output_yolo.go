package nails

import (
	"math"
	"sort"
)

// yolo decodes a YOLOv8/11-seg export: output0 [N, 4+C+32, A] (cx,cy,w,h in input
// pixels, class scores, mask coefficients per anchor) and output1 [N,32,H/4,W/4] mask
// prototypes. Per-class NMS; each mask is sigmoid(coefficients x prototypes) cropped to
// its box.
type yolo struct {
	boxes, protos int
	threshold     float32
	nmsIoU        float64
	maxDet        int
}

func newYOLO(m *Manifest, lookup func(string) (OutputDesc, error)) (*yolo, error) {
	b, err := outputTensor(lookup, m.Output.Boxes, 3)
	if err != nil {
		return nil, err
	}
	p, err := outputTensor(lookup, m.Output.Protos, 4)
	if err != nil {
		return nil, err
	}
	if p.Shape[1] > 0 && b.Shape[1] > 0 && b.Shape[1] <= 4+p.Shape[1] {
		return nil, wrap(ErrManifest, "yolo-seg %s %v has no room for classes beside 4 box values and %d mask coefficients", b.Name, b.Shape, p.Shape[1])
	}
	return &yolo{boxes: b.Index, protos: p.Index, threshold: float32(m.Threshold), nmsIoU: m.Output.NMSIoU, maxDet: m.Output.MaxDetections}, nil
}

type yoloDet struct {
	x0, y0, x1, y1 float64 // input pixels
	score          float32
	class, anchor  int
}

func (d *yolo) Nails(o Outputs, g Geometry) ([]Nail, error) {
	out, os, err := o.Tensor(d.boxes)
	if err != nil {
		return nil, err
	}
	protos, ps, err := o.Tensor(d.protos)
	if err != nil {
		return nil, err
	}
	rows, a := int(os[1]), int(os[2])
	nm, ph, pw := int(ps[1]), int(ps[2]), int(ps[3])
	nc := rows - 4 - nm
	if nc < 1 {
		return nil, wrap(ErrManifest, "yolo-seg output %v leaves no class rows with %d mask coefficients", os, nm)
	}
	at := func(row, anchor int) float32 { return out[row*a+anchor] }
	var dets []yoloDet
	for k := 0; k < a; k++ {
		best, cls := float32(-1), 0
		for c := 0; c < nc; c++ {
			if v := at(4+c, k); v > best {
				best, cls = v, c
			}
		}
		if best < d.threshold {
			continue
		}
		cx, cy, w, h := float64(at(0, k)), float64(at(1, k)), float64(at(2, k)), float64(at(3, k))
		dets = append(dets, yoloDet{cx - w/2, cy - h/2, cx + w/2, cy + h/2, best, cls, k})
	}
	dets = nms(dets, d.nmsIoU, d.maxDet)

	stride := float64(g.InW) / float64(pw)
	nails := make([]Nail, 0, len(dets))
	for _, det := range dets {
		box := g.photoBox(det.x0, det.y0, det.x1, det.y1, 0)
		if box.Empty() {
			continue
		}
		// Mask logits only for the prototype pixels under the box (plus one for
		// interpolation); everything else is outside the crop.
		lm := logitMap{data: make([]float32, ph*pw), w: pw, h: ph, stride: stride}
		for i := range lm.data {
			lm.data[i] = rejectLogit
		}
		px0 := max(0, int(math.Floor(det.x0/stride))-1)
		py0 := max(0, int(math.Floor(det.y0/stride))-1)
		px1 := min(pw, int(math.Ceil(det.x1/stride))+1)
		py1 := min(ph, int(math.Ceil(det.y1/stride))+1)
		for y := py0; y < py1; y++ {
			for x := px0; x < px1; x++ {
				var v float32
				for c := 0; c < nm; c++ {
					v += at(4+nc+c, det.anchor) * protos[c*ph*pw+y*pw+x]
				}
				lm.data[y*pw+x] = v
			}
		}
		nails = append(nails, Nail{Score: float64(det.score), Class: det.class, Mask: g.softMask(lm, box, nil)})
	}
	return nails, nil
}

// nms keeps the best-scoring detections, dropping any that overlaps a kept one of the
// same class by more than iou.
func nms(dets []yoloDet, iou float64, limit int) []yoloDet {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].score > dets[j].score })
	var keep []yoloDet
	for _, d := range dets {
		if len(keep) >= limit {
			break
		}
		ok := true
		for _, k := range keep {
			if k.class == d.class && boxIoU(k, d) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, d)
		}
	}
	return keep
}

func boxIoU(a, b yoloDet) float64 {
	ix := math.Max(0, math.Min(a.x1, b.x1)-math.Max(a.x0, b.x0))
	iy := math.Max(0, math.Min(a.y1, b.y1)-math.Max(a.y0, b.y0))
	inter := ix * iy
	union := (a.x1-a.x0)*(a.y1-a.y0) + (b.x1-b.x0)*(b.y1-b.y0) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}
