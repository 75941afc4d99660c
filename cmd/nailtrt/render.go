package main

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/nailtrt/nailtrt/nails"
)

// materialFlags are the polish options, with the HTTP API's meaning (server/render.go):
// a preset, or a custom colour with glossiness, metallic and intensity; finish, when
// given, overrides either's.
type materialFlags struct {
	material, color, finish             *string
	glossiness, metallic, intensity, op *float64
}

func addMaterialFlags(f *flags) materialFlags {
	return materialFlags{
		material:   f.String("material", "NAILTRT_MATERIAL", "glossy_red", "preset name (nailtrt render --list)"),
		color:      f.String("color", "NAILTRT_COLOR", "", "custom colour #rrggbb instead of a preset"),
		finish:     f.String("finish", "NAILTRT_FINISH", "", "finish, overriding the preset's or the one --glossiness/--metallic pick: "+finishList()),
		glossiness: f.Float64("glossiness", "NAILTRT_GLOSSINESS", 0.7, "0..1, matte to glossy"),
		metallic:   f.Float64("metallic", "NAILTRT_METALLIC", 0, "0..1, plain to metal"),
		intensity:  f.Float64("intensity", "NAILTRT_INTENSITY", 1, "0..1, sheer to opaque"),
		op:         f.Float64("opacity", "NAILTRT_OPACITY", 0, "polish opacity 0..1, overriding --intensity (0 = unset)"),
	}
}

func finishList() string {
	names := make([]string, len(nails.Finishes))
	for i, f := range nails.Finishes {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// build makes the material; set says which options the user gave (flag or variable).
func (mf materialFlags) build(set func(string) bool) (nails.Material, error) {
	var mat nails.Material
	var err error
	if *mf.color != "" {
		if set("material") {
			return mat, fmt.Errorf("give --material or --color, not both")
		}
		mat, err = nails.CustomMaterial(*mf.color, *mf.glossiness, *mf.metallic, *mf.intensity)
	} else {
		if mat, err = nails.LookupPreset(*mf.material); err != nil {
			return mat, fmt.Errorf("%w (nailtrt render --list)", err)
		}
		// Knobs given with a preset refine it rather than being ignored.
		custom, cerr := nails.CustomMaterial(mat.Color, *mf.glossiness, *mf.metallic, *mf.intensity)
		if cerr != nil {
			return mat, cerr
		}
		if set("glossiness") || set("metallic") {
			// As for a custom colour: the knobs pick the finish (--finish still wins).
			mat.Glossiness, mat.Metallic, mat.Finish = custom.Glossiness, custom.Metallic, custom.Finish
		}
		if set("intensity") {
			mat.Opacity = custom.Opacity
		}
	}
	if err != nil {
		return mat, err
	}
	if *mf.finish != "" {
		if mat, err = mat.WithFinish(*mf.finish); err != nil {
			return mat, err
		}
	}
	if *mf.op > 0 {
		mat.Opacity = *mf.op
	}
	return mat, mat.Validate()
}

func runRender(args []string) error {
	f := newFlags("render", "IMAGE")
	m := addModelFlags(f)
	mf := addMaterialFlags(f)
	out := f.String("o", "NAILTRT_OUTPUT", "rendered.jpg", "output file; the format follows the extension: .jpg, .jpeg or .png")
	quality := f.Int("jpeg-quality", "NAILTRT_JPEG_QUALITY", 92, "JPEG quality 1..100 of a photo encoded whole; unset, a JPEG photo keeps its own and is painted in place")
	list := f.fs.Bool("list", false, "list the material presets and exit")
	if err := f.parse(args); err != nil {
		return err
	}
	if *list {
		for _, p := range nails.Presets() {
			fmt.Printf("%-20s %s %-8s opacity %.2f\n", p.Name, p.Color, p.Finish, p.Opacity)
		}
		return nil
	}
	path, err := onePhoto(f)
	if err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if ext != ".jpg" && ext != ".jpeg" && ext != ".png" {
		return fmt.Errorf("-o %s: the format follows the extension, and %q is not one this writes: use .jpg, .jpeg or .png", *out, ext)
	}
	if *quality < 1 || *quality > 100 {
		return fmt.Errorf("--jpeg-quality %d: want 1..100", *quality)
	}
	mat, err := mf.build(f.isSet)
	if err != nil {
		return err
	}
	seg, src, res, err := segmentFile(m, path)
	if err != nil {
		return err
	}
	defer seg.Close()
	var data []byte
	if ext != ".png" && !f.isSet("jpeg-quality") {
		// A JPEG photo keeps its own compression: only the blocks under the nails are
		// encoded again (nails.RenderJPEG); other photos are painted and encoded whole.
		if data, _, err = nails.RenderJPEG(src, res, mat); err != nil {
			return err
		}
	}
	if data != nil {
		return writeRender(*out, data, res, mat)
	}
	photo, err := nails.Decode(src, nails.Limits{})
	if err != nil {
		return err
	}
	img, err := nails.Render(photo, res, mat)
	if err != nil {
		return err
	}
	if ext == ".png" {
		var buf bytes.Buffer
		err = png.Encode(&buf, img) // keeps the photo's transparency
		data = buf.Bytes()
	} else {
		data, err = nails.EncodeJPEG(img, *quality)
	}
	if err != nil {
		return err
	}
	return writeRender(*out, data, res, mat)
}

func writeRender(path string, data []byte, res *nails.Result, mat nails.Material) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	where, _ := filepath.Abs(path)
	fmt.Fprintf(os.Stderr, "%s painted with %s (%s) -> %s\n", plural(len(res.Nails), "nail"), mat.Name, mat.Finish, where)
	return nil
}
