// Command gallery renders every finish onto a few validation photos and writes small
// contact sheets to docs/gallery (what `make gallery` runs). The images are the
// project's own output: the photo, the nails it found, and each polish painted on.
//
//	go run ./tools/gallery --model engines/nailseg.json --out docs/gallery
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

// One material per finish, named as the presets are.
var showcase = []string{"glossy_red", "cream_coral", "matte_navy", "metallic_gold", "chrome_silver",
	"shimmer_champagne", "glitter_gold", "sheer_pink", "jelly_berry", "french_classic"}

func main() {
	model := flag.String("model", "engines/nailseg.json", "model manifest")
	dataset := flag.String("dataset", "../shared/datasets/nails", "dataset folder")
	out := flag.String("out", "docs/gallery", "output folder")
	photos := flag.Int("photos", 3, "validation photos to use (hands first)")
	tile := flag.Int("tile", 240, "tile width in pixels")
	perImage := flag.String("errors", "", "tools/eval --per-image CSV: write the val hands the model got most and least right instead")
	flag.Parse()
	var err error
	if *perImage != "" {
		err = errorSheets(*model, *dataset, *perImage, *out, 8, *tile)
	} else {
		err = run(*model, *dataset, *out, *photos, *tile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gallery:", err)
		os.Exit(1)
	}
}

func run(model, dataset, out string, count, tile int) error {
	paths, err := valPhotos(dataset, count)
	if err != nil {
		return err
	}
	seg, err := segment.Open(context.Background(), segment.Config{Model: model, Backend: "onnxruntime"})
	if err != nil {
		return err
	}
	defer seg.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for k, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		photo, err := nails.Decode(data, nails.Limits{})
		if err != nil {
			return err
		}
		res, err := seg.SegmentPhoto(context.Background(), photo)
		if err != nil {
			return err
		}
		tiles := []*image.RGBA{label(scale(photo.RGBA(), tile), "photo"), label(scale(outline(photo, res), tile), fmt.Sprintf("%d nails found", len(res.Nails)))}
		for _, name := range showcase {
			m, _ := nails.Preset(name)
			img, err := nails.Render(photo, res, m)
			if err != nil {
				return err
			}
			tiles = append(tiles, label(scale(img, tile), name))
		}
		if err := save(filepath.Join(out, fmt.Sprintf("hand%d-finishes.jpg", k+1)), sheet(tiles, 4)); err != nil {
			return err
		}
		red, _ := nails.Preset("glossy_red")
		after, _ := nails.Render(photo, res, red)
		pair := sheet([]*image.RGBA{label(scale(photo.RGBA(), 2*tile), "before"), label(scale(after, 2*tile), "after: glossy_red")}, 2)
		if err := save(filepath.Join(out, fmt.Sprintf("hand%d-before-after.jpg", k+1)), pair); err != nil {
			return err
		}
		fmt.Printf("%s: %d nails -> %s\n", filepath.Base(path), len(res.Nails), out)
	}
	return nil
}

func valPhotos(dataset string, n int) ([]string, error) {
	rows, err := readCSV(filepath.Join(dataset, "manifest.csv"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		if r[1] == "hands" && r[2] == "val" && len(out) < n {
			out = append(out, filepath.Join(dataset, r[3]))
		}
	}
	return out, nil
}

// outline marks each nail's mask boundary in green.
func outline(p *nails.Photo, res *nails.Result) *image.RGBA {
	src := p.RGBA()
	img := &image.RGBA{Pix: append([]uint8(nil), src.Pix...), Stride: src.Stride, Rect: src.Rect}
	for _, n := range res.Nails {
		r := n.Mask.Rect
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if n.Mask.Inside(x, y) && (!n.Mask.Inside(x-1, y) || !n.Mask.Inside(x+1, y) || !n.Mask.Inside(x, y-1) || !n.Mask.Inside(x, y+1)) {
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							img.Set(x+dx, y+dy, color.RGBA{40, 230, 90, 255})
						}
					}
				}
			}
		}
	}
	return img
}

func scale(img image.Image, w int) *image.RGBA {
	b := img.Bounds()
	h := b.Dy() * w / b.Dx()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(out, out.Bounds(), img, b, draw.Src, nil)
	return out
}

func label(img *image.RGBA, text string) *image.RGBA {
	b := img.Bounds()
	draw.Draw(img, image.Rect(0, b.Max.Y-16, b.Max.X, b.Max.Y), image.NewUniform(color.RGBA{0, 0, 0, 170}), image.Point{}, draw.Over)
	d := font.Drawer{Dst: img, Src: image.White, Face: basicfont.Face7x13, Dot: fixed.P(4, b.Max.Y-4)}
	d.DrawString(text)
	return img
}

func sheet(tiles []*image.RGBA, cols int) *image.RGBA {
	tw, th := tiles[0].Bounds().Dx(), 0
	for _, t := range tiles {
		th = max(th, t.Bounds().Dy())
	}
	rows := (len(tiles) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*tw, rows*th))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.RGBA{24, 24, 24, 255}), image.Point{}, draw.Src)
	for i, t := range tiles {
		at := image.Pt((i%cols)*tw, (i/cols)*th)
		draw.Draw(out, t.Bounds().Add(at), t, image.Point{}, draw.Src)
	}
	return out
}

func save(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 80}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readCSV reads a CSV file's rows after its header.
func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[1:], nil
}
