package nails

import "image"

// editRegion is a rectangle of a JPEG's stored pixels, on its MCU grid, that holds all
// the paint of some nails (RenderJPEG re-encodes it).
type editRegion struct {
	rect  image.Rectangle
	nails []int // indices into Result.Nails
}

// editRegions groups the nails of res into non-overlapping MCU-aligned regions of the
// w x h (stored) photo: each nail's painted area (its mask box grown by the tip
// growth), mapped to stored pixels for orientation o and snapped out to the MCU grid;
// overlapping regions merge.
func editRegions(res *Result, o, w, h, mcuW, mcuH int) []editRegion {
	bounds := image.Rect(0, 0, w, h)
	var regions []editRegion
	for i := range res.Nails {
		n := &res.Nails[i]
		if n.Mask == nil || n.Area == 0 {
			continue
		}
		disp := n.Mask.Rect.Inset(-tipGrowth).Intersect(image.Rect(0, 0, res.Width, res.Height))
		if disp.Empty() {
			continue
		}
		r := storedRect(o, disp, w, h)
		r = image.Rect(r.Min.X/mcuW*mcuW, r.Min.Y/mcuH*mcuH, ceilTo(r.Max.X, mcuW), ceilTo(r.Max.Y, mcuH)).Intersect(bounds)
		cur := editRegion{rect: r, nails: []int{i}}
		// Merge with every region it overlaps, until it overlaps none.
		for merged := true; merged; {
			merged = false
			for j := 0; j < len(regions); j++ {
				if regions[j].rect.Overlaps(cur.rect) {
					cur.rect = cur.rect.Union(regions[j].rect)
					cur.nails = append(cur.nails, regions[j].nails...)
					regions = append(regions[:j], regions[j+1:]...)
					merged = true
					j--
				}
			}
		}
		regions = append(regions, cur)
	}
	return regions
}

func ceilTo(v, m int) int { return (v + m - 1) / m * m }

// paintStored paints the given nails into a region of the photo in stored orientation
// (bounds in stored pixels of a w x h photo): directly when the photo is upright,
// otherwise through a displayed copy of the region, since nails are painted as the
// photo is seen.
func paintStored(stored *image.RGBA, o, w, h int, res *Result, m Material, nails []int) error {
	if o <= 1 || o > 8 {
		return paintNails(stored, res, m, nails)
	}
	disp := image.NewRGBA(displayRect(o, stored.Rect, w, h))
	orientCopy(disp, stored, o, w, h, true)
	if err := paintNails(disp, res, m, nails); err != nil {
		return err
	}
	orientCopy(disp, stored, o, w, h, false)
	return nil
}

// orientCopy copies every pixel of disp from (toDisplay) or to the stored region that
// shows it.
func orientCopy(disp, stored *image.RGBA, o, w, h int, toDisplay bool) {
	r := disp.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sx, sy := srcPoint(o, x, y, w, h)
			d, s := disp.PixOffset(x, y), stored.PixOffset(sx, sy)
			if toDisplay {
				copy(disp.Pix[d:d+4], stored.Pix[s:s+4])
			} else {
				copy(stored.Pix[s:s+4], disp.Pix[d:d+4])
			}
		}
	}
}
