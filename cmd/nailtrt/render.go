package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/option"
)

// materialFlags are the polish options, the HTTP API's form fields as flags: a preset,
// or a custom colour, with a finish and the glossiness, metallic and intensity knobs.
// nails.PolishRequest makes the material, by the rules the server follows too.
type materialFlags struct {
	material, color, finish                  *string
	glossiness, metallic, intensity, opacity *float64
}

func addMaterialFlags(f *flags) materialFlags {
	mf := materialFlags{material: new(string), color: new(string), finish: new(string),
		glossiness: new(float64), metallic: new(float64), intensity: new(float64), opacity: new(float64)}
	f.add(
		option.Option{Flag: "material", Env: "NAILTRT_MATERIAL", DefaultDoc: nails.DefaultPreset, Value: option.String(mf.material),
			Help: "preset name (nailtrt render --list); unset: " + nails.DefaultPreset + ", or custom when --color is given"},
		option.Option{Flag: "color", Env: "NAILTRT_COLOR", Value: option.String(mf.color),
			Help: "custom colour #rrggbb (with --material, on that preset's finish)"},
		option.Option{Flag: "finish", Env: "NAILTRT_FINISH", Value: option.String(mf.finish),
			Help: "finish, replacing the preset's, or the one --glossiness/--metallic pick for a --color: " + finishList()},
		option.Option{Flag: "glossiness", Env: "NAILTRT_GLOSSINESS", Value: option.Float(mf.glossiness),
			Help: "0..1, matte to glossy; unset: the finish's own (a --color without --finish: 0.7, which picks glossy)"},
		option.Option{Flag: "metallic", Env: "NAILTRT_METALLIC", Value: option.Float(mf.metallic),
			Help: "0..1, plain to metal; unset: the finish's own"},
		option.Option{Flag: "intensity", Env: "NAILTRT_INTENSITY", Value: option.Float(mf.intensity),
			Help: "0..1, sheer to opaque; unset: the finish's own (opaque finishes cover the nail)"},
		option.Option{Flag: "opacity", Env: "NAILTRT_OPACITY", Value: option.Float(mf.opacity),
			Help: "polish opacity in (0, 1], instead of --intensity"},
	)
	return mf
}

func finishList() string {
	names := make([]string, len(nails.Finishes))
	for i, f := range nails.Finishes {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// request is the polish asked for; set says which options the user gave (flag or
// variable): a knob not given is left to the finish.
func (mf materialFlags) request(set func(string) bool) nails.PolishRequest {
	given := func(name string, v *float64) *float64 {
		if set(name) {
			return v
		}
		return nil
	}
	return nails.PolishRequest{Preset: *mf.material, Color: *mf.color, Finish: *mf.finish,
		Glossiness: given("glossiness", mf.glossiness), Metallic: given("metallic", mf.metallic),
		Intensity: given("intensity", mf.intensity), Opacity: given("opacity", mf.opacity)}
}

func runRender(args []string) error {
	f := newFlags("render", "IMAGE")
	m := addModelFlags(f)
	mf := addMaterialFlags(f)
	out := f.String("o", "NAILTRT_OUTPUT", "rendered.jpg", "output file; the format follows the extension: .jpg, .jpeg or .png")
	// The server's setting, one definition; given on the command line it is also this
	// render's quality, as the API's quality field is.
	quality := new(int)
	qopt := nails.JPEGQualityOption(quality)
	qopt.Help += "; given on the command line (as the API's quality field), a colour JPEG is encoded whole at it too"
	f.add(qopt)
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
	mat, err := mf.request(f.isSet).Material()
	if err != nil {
		return fmt.Errorf("%w (nailtrt render --list shows the presets)", err)
	}
	o := nails.Output{Format: strings.TrimPrefix(ext, "."), DefaultQuality: *quality}
	if f.onCommandLine("jpeg-quality") {
		o.Quality = *quality
	}
	seg, src, res, err := segmentFile(m, path)
	if err != nil {
		return err
	}
	defer seg.Close()
	// The server's policy (nails.Output): a JPEG photo keeps its own compression, only
	// the blocks under the nails encoded again; other photos are painted and encoded whole.
	data, err := nails.RenderFile(src, res, mat, o, m.Limits)
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
	if msg := res.Message(); msg != "" {
		fmt.Fprintf(os.Stderr, "%s; the photo is written unpainted -> %s\n", msg, where)
		return nil
	}
	fmt.Fprintf(os.Stderr, "%s painted with %s (%s) -> %s\n", plural(len(res.Nails), "nail"), mat.Name, mat.Finish, where)
	return nil
}
