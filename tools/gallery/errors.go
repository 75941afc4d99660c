package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

// scored is one row of tools/eval's --per-image CSV.
type scored struct {
	id, image              string
	iou                    float64
	found, labelled, match int
}

func readPerImage(path, source string) ([]scored, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	var out []scored
	for _, r := range rows {
		if len(r) < 7 || r[1] != source {
			continue
		}
		s := scored{id: r[0], image: r[2]}
		s.iou, _ = strconv.ParseFloat(r[3], 64)
		s.found, _ = strconv.Atoi(r[4])
		s.labelled, _ = strconv.Atoi(r[5])
		s.match, _ = strconv.Atoi(r[6])
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no %s rows (run tools/eval with --per-image)", path, source)
	}
	return out, nil
}

// errorSheets writes hands-right.jpg and hands-wrong.jpg: the val hands the model did
// best and worst on (by IoU), each with its prediction filled green and the labelled
// nails outlined red, so a reader sees what it still misses or invents.
func errorSheets(model, dataset, perImage, out string, count, tile int) error {
	rows, err := readPerImage(perImage, "hands")
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].iou > rows[j].iou })
	seg, err := segment.Open(context.Background(), segment.Config{Model: model, Backend: "onnxruntime"})
	if err != nil {
		return err
	}
	defer seg.Close()
	worst := append([]scored(nil), rows[max(0, len(rows)-count):]...)
	for name, pick := range map[string][]scored{"hands-right.jpg": rows[:min(count, len(rows))], "hands-wrong.jpg": worst} {
		var tiles []*image.RGBA
		for _, r := range pick {
			t, err := errorTile(seg, dataset, r, tile)
			if err != nil {
				return err
			}
			tiles = append(tiles, t)
		}
		if err := save(filepath.Join(out, name), sheet(tiles, 4)); err != nil {
			return err
		}
		fmt.Printf("%s: %d photos\n", filepath.Join(out, name), len(tiles))
	}
	return nil
}

func errorTile(seg *segment.Segmenter, dataset string, r scored, tile int) (*image.RGBA, error) {
	data, err := os.ReadFile(filepath.Join(dataset, r.image))
	if err != nil {
		return nil, err
	}
	photo, err := nails.Decode(data, nails.Limits{})
	if err != nil {
		return nil, err
	}
	res, err := seg.SegmentPhoto(context.Background(), photo)
	if err != nil {
		return nil, err
	}
	src := photo.RGBA()
	img := &image.RGBA{Pix: append([]uint8(nil), src.Pix...), Stride: src.Stride, Rect: src.Rect}
	for _, n := range res.Nails {
		for y := n.Box.Min.Y; y < n.Box.Max.Y; y++ {
			for x := n.Box.Min.X; x < n.Box.Max.X; x++ {
				if n.Mask.Inside(x, y) {
					c := img.RGBAAt(x, y)
					img.SetRGBA(x, y, color.RGBA{c.R / 2, uint8(min(255, int(c.G)/2+120)), c.B / 2, 255})
				}
			}
		}
	}
	mask := filepath.Join(dataset, "masks", "hands", filepath.Base(r.id)+".png")
	if truth, err := readGrey(mask); err == nil {
		b := truth.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				in := func(x, y int) bool { return image.Pt(x, y).In(b) && truth.GrayAt(x, y).Y > 127 }
				if in(x, y) && (!in(x-1, y) || !in(x+1, y) || !in(x, y-1) || !in(x, y+1)) {
					img.SetRGBA(x, y, color.RGBA{230, 30, 30, 255})
				}
			}
		}
	}
	return label(scale(img, tile), fmt.Sprintf("IoU %.2f, %d/%d nails", r.iou, r.match, r.labelled)), nil
}

func readGrey(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, err
	}
	g := image.NewGray(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g, nil
}
