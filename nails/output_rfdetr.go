package nails

import (
	"sort"
)

// rfdetr decodes an RF-DETR-Seg export: dets [N,Q,4] (normalised cx,cy,w,h), labels
// [N,Q,C] (logits), masks [N,Q,H/4,W/4] (logits). As RF-DETR's own post-processing:
// sigmoid, top-k over all Q*C query-class pairs, no NMS.
type rfdetr struct {
	dets, labels, masks int
	topk, maxDet        int
	threshold           float32
}

func newRFDETR(m *Manifest, lookup func(string) (OutputDesc, error)) (*rfdetr, error) {
	d, err := outputTensor(lookup, m.Output.Dets, 3)
	if err != nil {
		return nil, err
	}
	l, err := outputTensor(lookup, m.Output.Labels, 3)
	if err != nil {
		return nil, err
	}
	k, err := outputTensor(lookup, m.Output.Masks, 4)
	if err != nil {
		return nil, err
	}
	if d.Shape[2] != 4 {
		return nil, wrap(ErrManifest, "rfdetr-seg dets %s must be [N,Q,4], is %v", d.Name, d.Shape)
	}
	return &rfdetr{dets: d.Index, labels: l.Index, masks: k.Index, topk: m.Output.TopK,
		maxDet: m.Output.MaxDetections, threshold: float32(m.Threshold)}, nil
}

func (d *rfdetr) Nails(o Outputs, g Geometry) ([]Nail, error) {
	dets, ds, err := o.Tensor(d.dets)
	if err != nil {
		return nil, err
	}
	labels, ls, err := o.Tensor(d.labels)
	if err != nil {
		return nil, err
	}
	masks, ms, err := o.Tensor(d.masks)
	if err != nil {
		return nil, err
	}
	q, c := int(ls[1]), int(ls[2])
	mh, mw := int(ms[2]), int(ms[3])
	if int(ds[1]) != q || int(ms[1]) != q {
		return nil, wrap(ErrManifest, "rfdetr-seg outputs disagree on the number of queries: dets %v, labels %v, masks %v", ds, ls, ms)
	}
	type cand struct {
		score float32
		query int
		class int
	}
	cands := make([]cand, 0, q*c)
	for i := 0; i < q*c; i++ {
		cands = append(cands, cand{sigmoid(labels[i]), i / c, i % c})
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	cands = cands[:min(d.topk, len(cands))]

	var nails []Nail
	for _, k := range cands {
		if k.score < d.threshold || len(nails) >= d.maxDet {
			break
		}
		b := dets[4*k.query : 4*k.query+4]
		cx, cy := float64(b[0])*float64(g.InW), float64(b[1])*float64(g.InH)
		bw, bh := float64(b[2])*float64(g.InW), float64(b[3])*float64(g.InH)
		stride := float64(g.InW) / float64(mw)
		box := g.photoBox(cx-bw/2, cy-bh/2, cx+bw/2, cy+bh/2, stride)
		if box.Empty() {
			continue
		}
		lm := logitMap{data: masks[k.query*mh*mw : (k.query+1)*mh*mw], w: mw, h: mh, stride: stride}
		nails = append(nails, Nail{Score: float64(k.score), Class: k.class, Mask: g.softMask(lm, box, nil)})
	}
	return nails, nil
}
