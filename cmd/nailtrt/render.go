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

func runRender(args []string) error {
	f := newFlags("render", "IMAGE")
	m := addModelFlags(f)
	material := f.String("material", "NAILTRT_MATERIAL", "", "preset name (see nailtrt render --list)")
	color := f.String("color", "NAILTRT_COLOR", "", "custom colour #rrggbb (instead of --material)")
	finish := f.String("finish", "NAILTRT_FINISH", "glossy", "finish for --color: cream, glossy, matte, metallic, chrome, shimmer, glitter, sheer, jelly, french")
	opacity := f.Float64("opacity", "NAILTRT_OPACITY", 0, "polish opacity 0..1 (0 = the finish's default)")
	out := f.String("o", "NAILTRT_OUTPUT", "rendered.jpg", "output file (.jpg or .png)")
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
	if f.fs.NArg() != 1 {
		f.fs.Usage()
		return errUsage
	}
	var mat nails.Material
	switch {
	case *material != "" && *color != "":
		return fmt.Errorf("give --material or --color, not both")
	case *color != "":
		mat = nails.Material{Name: "custom", Color: *color, Finish: nails.Finish(*finish), Opacity: *opacity}
		if err := mat.Validate(); err != nil {
			return err
		}
	default:
		name := *material
		if name == "" {
			name = "glossy_red"
		}
		var ok bool
		if mat, ok = nails.Preset(name); !ok {
			return fmt.Errorf("unknown material %q (nailtrt render --list)", name)
		}
		if *opacity > 0 {
			mat.Opacity = *opacity
		}
	}
	seg, photo, res, err := segmentFile(m, f.fs.Arg(0))
	if err != nil {
		return err
	}
	defer seg.Close()
	img, err := nails.Render(photo, res, mat)
	if err != nil {
		return err
	}
	var data []byte
	if strings.EqualFold(filepath.Ext(*out), ".png") {
		var buf bytes.Buffer
		err = png.Encode(&buf, img)
		data = buf.Bytes()
	} else {
		data, err = nails.EncodeJPEG(img, 92)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d nails painted with %s -> %s\n", len(res.Nails), mat.Name, *out)
	return nil
}
