package nails

import (
	"fmt"
	"image"
	"strings"
)

// RLE is a COCO run-length encoded mask: Counts in pycocotools' compressed string form,
// over the whole photo in column-major order, starting with a run of zeros. Decode it in
// Python with pycocotools.mask.decode({"size": [h, w], "counts": counts}).
type RLE struct {
	Size   [2]int `json:"size"` // [height, width]
	Counts string `json:"counts"`
}

// RLE encodes the nail's binary mask over a w x h photo, per photo pixel (Full). A nil
// mask (a nail without one) is all background.
func (m *Mask) RLE(w, h int) RLE {
	if m == nil {
		return RLE{Size: [2]int{h, w}, Counts: encodeCounts([]int{w * h})}
	}
	return RLE{Size: [2]int{h, w}, Counts: encodeCounts(m.Full().runs(w, h))}
}

// runs lists the run lengths of the binary mask (Scale 1) in column-major order.
func (m *Mask) runs(w, h int) []int {
	var counts []int
	cur, run := uint8(0), 0
	r := m.Rect.Intersect(image.Rect(0, 0, w, h))
	bw := m.Rect.Dx()
	for x := 0; x < w; x++ {
		if x < r.Min.X || x >= r.Max.X {
			if cur == 0 {
				run += h
			} else {
				counts, cur, run = append(counts, run), 0, h
			}
			continue
		}
		for y := 0; y < h; y++ {
			v := uint8(0)
			if y >= r.Min.Y && y < r.Max.Y && m.Alpha[(y-m.Rect.Min.Y)*bw+(x-m.Rect.Min.X)] >= 128 {
				v = 1
			}
			if v == cur {
				run++
			} else {
				counts, cur, run = append(counts, run), v, 1
			}
		}
	}
	return append(counts, run)
}

// encodeCounts is pycocotools' rleToString: each count (after the second, as a
// difference from the count two before) in 5-bit groups, 6 bits per character.
func encodeCounts(counts []int) string {
	var sb strings.Builder
	for i, c := range counts {
		x := int64(c)
		if i > 2 {
			x -= int64(counts[i-2])
		}
		for more := true; more; {
			ch := x & 0x1f
			x >>= 5
			if ch&0x10 != 0 {
				more = x != -1
			} else {
				more = x != 0
			}
			if more {
				ch |= 0x20
			}
			sb.WriteByte(byte(ch + 48))
		}
	}
	return sb.String()
}

// DecodeRLE turns a COCO RLE back into a w x h row-major mask (1 = set). It validates
// everything: counts must be non-negative and sum to exactly h*w.
func DecodeRLE(r RLE) ([]uint8, error) {
	h, w := r.Size[0], r.Size[1]
	if h < 0 || w < 0 || int64(h)*int64(w) > 1<<31 {
		return nil, fmt.Errorf("rle: bad size %v", r.Size)
	}
	counts, err := decodeCounts(r.Counts)
	if err != nil {
		return nil, err
	}
	out := make([]uint8, h*w)
	pos, v := 0, uint8(0)
	for _, c := range counts {
		if c < 0 || c > len(out)-pos {
			return nil, fmt.Errorf("rle: counts overrun %dx%d", w, h)
		}
		if v == 1 {
			for k := pos; k < pos+c; k++ {
				x, y := k/h, k%h
				out[y*w+x] = 1
			}
		}
		pos += c
		v ^= 1
	}
	if pos != len(out) {
		return nil, fmt.Errorf("rle: counts sum to %d, not %d", pos, len(out))
	}
	return out, nil
}

func decodeCounts(s string) ([]int, error) {
	var counts []int
	p := 0
	for p < len(s) {
		var x int64
		k := 0
		for more := true; more; {
			if p >= len(s) {
				return nil, fmt.Errorf("rle: truncated counts")
			}
			c := int64(s[p]) - 48
			if c < 0 || c > 63 {
				return nil, fmt.Errorf("rle: bad character %q", s[p])
			}
			if k > 12 {
				return nil, fmt.Errorf("rle: count too long")
			}
			x |= (c & 0x1f) << (5 * k)
			more = c&0x20 != 0
			p++
			k++
			if !more && c&0x10 != 0 {
				x |= -1 << (5 * k)
			}
		}
		if len(counts) > 2 {
			x += int64(counts[len(counts)-2])
		}
		if x < 0 || x > 1<<31 {
			return nil, fmt.Errorf("rle: count %d out of range", x)
		}
		counts = append(counts, int(x))
	}
	return counts, nil
}
