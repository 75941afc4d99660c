package nails

import "strings"

// DefaultPreset is the polish of a request that names none.
const DefaultPreset = "glossy_red"

// customGlossiness is the glossiness a custom colour gets when the request names neither
// a finish nor a glossiness: the Python app's default, which picks the glossy finish.
const customGlossiness = 0.7

// PolishRequest is the polish a render asks for, as the HTTP API's form fields and the
// nailtrt render command's flags carry it. A nil knob was not given. Material turns it
// into the Material to paint with: the server and the command both call it, so one
// request paints the same polish whichever way it came.
type PolishRequest struct {
	Preset string // "material": a preset name, "custom", or "" for the default preset
	Color  string // "custom_color": #rrggbb
	Finish string // one of Finishes
	// Glossiness, Metallic and Intensity are 0..1 (matte..glossy, plain..metal,
	// sheer..opaque); Opacity (0..1] sets the opacity directly and wins over Intensity.
	Glossiness, Metallic, Intensity, Opacity *float64
}

// Material is the polish r asks for. The rules, in order:
//
//   - A colour makes the polish custom, whether or not material is "custom". With a
//     preset named too, the colour replaces the preset's and the rest of the preset
//     (its finish) stays. "custom" without a colour is refused.
//   - A custom colour with no finish gets the finish its glossiness (default 0.7) and
//     metallic pick, as the Python app did; with a finish, that finish.
//   - A finish uses its own gloss and metal unless the request gives glossiness or
//     metallic: matte stays matte.
//   - Intensity (or Opacity) sets how much the polish covers; unset, the finish's own
//     (opaque finishes cover the nail, sheer ones let it show).
//
// Errors wrap ErrBadMaterial or ErrUnknownMaterial.
func (r PolishRequest) Material() (Material, error) {
	for _, k := range []struct {
		name string
		v    *float64
	}{{"glossiness", r.Glossiness}, {"metallic", r.Metallic}, {"intensity", r.Intensity}} {
		if k.v != nil && !(*k.v >= 0 && *k.v <= 1) { // NaN too
			return Material{}, wrap(ErrBadMaterial, "%s %v is outside 0..1", k.name, *k.v)
		}
	}
	if r.Opacity != nil && !(*r.Opacity > 0 && *r.Opacity <= 1) {
		return Material{}, wrap(ErrBadMaterial, "opacity %v is outside (0, 1]: 0 would paint nothing", *r.Opacity)
	}
	name := strings.ToLower(strings.TrimSpace(r.Preset))
	color := strings.TrimSpace(r.Color)
	finish := strings.TrimSpace(r.Finish)
	var m Material
	switch {
	case color == "" && name == "custom":
		return Material{}, wrap(ErrBadMaterial, "material custom needs a colour (#rrggbb)")
	case color == "":
		if name == "" {
			name = DefaultPreset
		}
		preset, err := LookupPreset(name)
		if err != nil {
			return Material{}, err
		}
		m = preset
		m.Opacity = 0 // the finish's own, unless asked otherwise below
	case name != "" && name != "custom":
		preset, err := LookupPreset(name)
		if err != nil {
			return Material{}, err
		}
		m = Material{Name: "custom", Color: color, Finish: preset.Finish, TipColor: preset.TipColor}
	default:
		m = Material{Name: "custom", Color: color, Finish: Cream}
		if finish == "" {
			// The finish comes from the knobs, the app's default glossiness included.
			g, mt := customGlossiness, 0.0
			if r.Glossiness != nil {
				g = *r.Glossiness
			}
			if r.Metallic != nil {
				mt = *r.Metallic
			}
			picked, err := CustomMaterial(color, g, mt, 1)
			if err != nil {
				return Material{}, err
			}
			m.Finish, m.Glossiness, m.Metallic = picked.Finish, picked.Glossiness, picked.Metallic
		}
	}
	if finish != "" {
		m.Finish = Finish(strings.ToLower(finish))
	}
	if r.Glossiness != nil {
		m.Glossiness = new(*r.Glossiness)
	}
	if r.Metallic != nil {
		m.Metallic = new(*r.Metallic)
	}
	switch {
	case r.Opacity != nil:
		m.Opacity = *r.Opacity
	case r.Intensity != nil:
		m.Opacity = opacityOf(*r.Intensity)
	}
	if err := m.Validate(); err != nil {
		return Material{}, err
	}
	return m.withDefaults(), nil
}
