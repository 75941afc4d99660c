package nails

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nailtrt/nailtrt/internal/textdist"
)

// Finish is how a polish reflects light.
type Finish string

const (
	Cream    Finish = "cream"    // opaque, soft sheen
	Glossy   Finish = "glossy"   // opaque, bright highlight along the nail
	Matte    Finish = "matte"    // flat, no highlight
	Metallic Finish = "metallic" // strong contrast, tinted highlight
	Chrome   Finish = "chrome"   // mirror-like bands along the nail
	Shimmer  Finish = "shimmer"  // fine sparkle through the colour
	Glitter  Finish = "glitter"  // sparse bright flecks
	Sheer    Finish = "sheer"    // translucent: the nail shows through
	Jelly    Finish = "jelly"    // translucent and glossy
	French   Finish = "french"   // sheer base with an opaque tip
)

// Finishes lists every finish, for docs and validation.
var Finishes = []Finish{Cream, Glossy, Matte, Metallic, Chrome, Shimmer, Glitter, Sheer, Jelly, French}

// Material is a polish: colour, finish and how strongly it covers.
type Material struct {
	Name    string  `json:"name"`
	Color   string  `json:"color"`   // #rrggbb
	Finish  Finish  `json:"finish"`  //
	Opacity float64 `json:"opacity"` // 0..1; 0 means the finish's default
	// Glossiness and Metallic (0..1) refine the finish; nil keeps the finish's own (a
	// matte finish has no gloss, a metallic one its tint). 0 is a value: no gloss, no metal.
	Glossiness *float64 `json:"glossiness,omitempty"`
	Metallic   *float64 `json:"metallic,omitempty"`
	TipColor   string   `json:"tip_color,omitempty"` // French tips; default white
}

var presets = map[string]Material{}

func init() {
	for _, m := range []Material{
		{Name: "glossy_red", Color: "#c8102e", Finish: Glossy},
		{Name: "glossy_pink", Color: "#e75480", Finish: Glossy},
		{Name: "glossy_nude", Color: "#d8a48f", Finish: Glossy},
		{Name: "glossy_black", Color: "#1a1a1a", Finish: Glossy},
		{Name: "cream_coral", Color: "#f88379", Finish: Cream},
		{Name: "cream_lilac", Color: "#b69fd6", Finish: Cream},
		{Name: "matte_black", Color: "#141414", Finish: Matte},
		{Name: "matte_navy", Color: "#1f2a4d", Finish: Matte},
		{Name: "matte_burgundy", Color: "#6d1a36", Finish: Matte},
		{Name: "metallic_gold", Color: "#b8913a", Finish: Metallic},
		{Name: "metallic_rose_gold", Color: "#b76e79", Finish: Metallic},
		{Name: "chrome_silver", Color: "#c0c0c8", Finish: Chrome},
		{Name: "shimmer_champagne", Color: "#f1ddcf", Finish: Shimmer},
		{Name: "glitter_gold", Color: "#a8883a", Finish: Glitter},
		{Name: "glitter_silver", Color: "#b8b8c0", Finish: Glitter},
		{Name: "sheer_pink", Color: "#f4b6c2", Finish: Sheer},
		{Name: "jelly_berry", Color: "#9b1b4a", Finish: Jelly},
		{Name: "french_classic", Color: "#f6d5d0", Finish: French, TipColor: "#fbfbf8"},
	} {
		presets[m.Name] = m
	}
}

// Presets returns every preset, sorted by name.
func Presets() []Material {
	out := make([]Material, 0, len(presets))
	for _, m := range presets {
		out = append(out, m.withDefaults())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Preset returns a preset by name.
func Preset(name string) (Material, bool) {
	m, ok := presets[strings.ToLower(strings.TrimSpace(name))]
	return m.withDefaults(), ok
}

// LookupPreset returns the preset called name. An unknown name is an ErrUnknownMaterial
// that suggests the nearest preset ("metallic-gold": did you mean "metallic_gold"?).
func LookupPreset(name string) (Material, error) {
	if m, ok := Preset(name); ok {
		return m, nil
	}
	if near := nearestPreset(name); near != "" {
		return Material{}, wrap(ErrUnknownMaterial, "%q: did you mean %q?", name, near)
	}
	return Material{}, wrap(ErrUnknownMaterial, "%q is not a preset", name)
}

// nearestPreset is the preset name closest to name once case, '-' and ' ' are
// normalised; "" when none is close.
func nearestPreset(name string) string {
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(name)))
	names := make([]string, 0, len(presets))
	for p := range presets {
		names = append(names, p)
	}
	return textdist.Nearest(norm, names)
}

// CustomMaterial builds the app's "custom" material from a colour and three 0..1 knobs:
// glossiness (matte..glossy), metallic (plain..metal) and intensity (sheer..opaque).
func CustomMaterial(color string, glossiness, metallic, intensity float64) (Material, error) {
	for name, v := range map[string]float64{"glossiness": glossiness, "metallic": metallic, "intensity": intensity} {
		if !(v >= 0 && v <= 1) { // also NaN, which passes every comparison
			return Material{}, wrap(ErrBadMaterial, "%s %v is outside 0..1", name, v)
		}
	}
	f := Cream
	switch {
	case metallic >= 0.5:
		f = Metallic
	case glossiness >= 0.6:
		f = Glossy
	case glossiness < 0.2:
		f = Matte
	}
	m := Material{Name: "custom", Color: color, Finish: f, Glossiness: &glossiness, Metallic: &metallic, Opacity: opacityOf(intensity)}
	if err := m.Validate(); err != nil {
		return Material{}, err
	}
	return m.withDefaults(), nil
}

// opacityOf is the opacity of intensity (0..1, sheer to opaque): even the sheerest
// polish tints the nail, and intensity 1 covers it.
func opacityOf(intensity float64) float64 { return 0.35 + 0.65*intensity }

// WithFinish returns m with another finish (a name from Finishes), its opacity and tip
// kept or defaulted as that finish needs.
func (m Material) WithFinish(name string) (Material, error) {
	m.Finish = Finish(strings.ToLower(strings.TrimSpace(name)))
	if err := m.Validate(); err != nil {
		return Material{}, err
	}
	return m.withDefaults(), nil
}

func (m Material) withDefaults() Material {
	if m.Opacity == 0 {
		switch m.Finish {
		case Sheer:
			m.Opacity = 0.55
		case Jelly:
			m.Opacity = 0.7
		default:
			// Opaque finishes cover the nail: at 0.92 a white French tip or nail art
			// under them still showed through at 8% of its contrast.
			m.Opacity = 1
		}
	}
	if m.Finish == French && m.TipColor == "" {
		m.TipColor = "#fbfbf8"
	}
	return m
}

// Validate checks colour, finish and ranges.
func (m Material) Validate() error {
	if _, err := ParseColor(m.Color); err != nil {
		return err
	}
	if m.TipColor != "" {
		if _, err := ParseColor(m.TipColor); err != nil {
			return err
		}
	}
	known := false
	for _, f := range Finishes {
		known = known || f == m.Finish
	}
	if !known {
		return wrap(ErrBadMaterial, "finish %q is not one of %v", m.Finish, Finishes)
	}
	if !(m.Opacity >= 0 && m.Opacity <= 1) { // NaN too
		return wrap(ErrBadMaterial, "opacity %v is outside 0..1", m.Opacity)
	}
	if g := m.Glossiness; g != nil && !(*g >= 0 && *g <= 1) {
		return wrap(ErrBadMaterial, "glossiness %v is outside 0..1", *g)
	}
	if mt := m.Metallic; mt != nil && !(*mt >= 0 && *mt <= 1) {
		return wrap(ErrBadMaterial, "metallic %v is outside 0..1", *mt)
	}
	return nil
}

// RGB is a colour with components in 0..1.
type RGB struct{ R, G, B float32 }

// ParseColor reads "#rrggbb" (or "rrggbb").
func ParseColor(s string) (RGB, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(h) != 6 {
		return RGB{}, wrap(ErrBadMaterial, "colour %q is not #rrggbb", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return RGB{}, wrap(ErrBadMaterial, "colour %q is not #rrggbb", s)
	}
	return RGB{float32(v>>16&0xff) / 255, float32(v>>8&0xff) / 255, float32(v&0xff) / 255}, nil
}

func (c RGB) String() string {
	return fmt.Sprintf("#%02x%02x%02x", uint8(c.R*255+0.5), uint8(c.G*255+0.5), uint8(c.B*255+0.5))
}
