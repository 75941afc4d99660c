package nails

import (
	"image"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One request, one material: the rules PolishRequest.Material documents, which the
// HTTP API and nailtrt render both go through.
func TestPolishRequestRules(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name string
		req  PolishRequest
		want Material // Glossiness/Metallic compared by value, nil as nil
	}{
		{"nothing: the default preset", PolishRequest{}, Material{Name: "glossy_red", Color: "#c8102e", Finish: Glossy, Opacity: 1}},
		{"a preset", PolishRequest{Preset: " Matte_Black "}, Material{Name: "matte_black", Color: "#141414", Finish: Matte, Opacity: 1}},
		// The seed app's custom request: no finish, so glossiness (default 0.7) picks it.
		{"seed app custom", PolishRequest{Preset: "custom", Color: "#3a7bd5"},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Glossy, Glossiness: f(0.7), Metallic: f(0), Opacity: 1}},
		{"seed app custom, low gloss", PolishRequest{Preset: "custom", Color: "#3a7bd5", Glossiness: f(0.1), Intensity: f(0)},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Matte, Glossiness: f(0.1), Metallic: f(0), Opacity: 0.35}},
		{"seed app custom, metal", PolishRequest{Preset: "custom", Color: "#3a7bd5", Metallic: f(0.8)},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Metallic, Glossiness: f(0.7), Metallic: f(0.8), Opacity: 1}},
		// A finish keeps its own gloss: matte is not shiny (issue 33).
		{"custom matte", PolishRequest{Preset: "custom", Color: "#3a7bd5", Finish: "matte"},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Matte, Opacity: 1}},
		{"custom matte, gloss asked for", PolishRequest{Preset: "custom", Color: "#3a7bd5", Finish: "matte", Glossiness: f(0.4)},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Matte, Glossiness: f(0.4), Opacity: 1}},
		{"custom sheer keeps sheer's opacity", PolishRequest{Preset: "custom", Color: "#3a7bd5", Finish: "sheer"},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Sheer, Opacity: 0.55}},
		// A colour implies custom (it was ignored: painted glossy red).
		{"colour without material", PolishRequest{Color: "#3a7bd5"},
			Material{Name: "custom", Color: "#3a7bd5", Finish: Glossy, Glossiness: f(0.7), Metallic: f(0), Opacity: 1}},
		{"colour on a preset's finish", PolishRequest{Preset: "french_classic", Color: "#3a7bd5"},
			Material{Name: "custom", Color: "#3a7bd5", Finish: French, TipColor: "#fbfbf8", Opacity: 1}},
		// Fields given with a preset refine it.
		{"preset with a finish", PolishRequest{Preset: "glossy_red", Finish: "matte"}, Material{Name: "glossy_red", Color: "#c8102e", Finish: Matte, Opacity: 1}},
		{"preset with knobs", PolishRequest{Preset: "cream_coral", Glossiness: f(0), Intensity: f(0.5)},
			Material{Name: "cream_coral", Color: "#f88379", Finish: Cream, Glossiness: f(0), Opacity: 0.675}},
		{"opacity wins over intensity", PolishRequest{Preset: "glossy_red", Intensity: f(0.5), Opacity: f(0.8)},
			Material{Name: "glossy_red", Color: "#c8102e", Finish: Glossy, Opacity: 0.8}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.req.Material()
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	for _, c := range []struct {
		name string
		req  PolishRequest
		is   error
		msg  string
	}{
		{"custom without a colour", PolishRequest{Preset: "custom"}, ErrBadMaterial, "needs a colour"},
		{"unknown preset", PolishRequest{Preset: "metallic-gold"}, ErrUnknownMaterial, `did you mean "metallic_gold"`},
		{"unknown preset with a colour", PolishRequest{Preset: "zebra", Color: "#3a7bd5"}, ErrUnknownMaterial, "zebra"},
		{"bad colour", PolishRequest{Color: "red"}, ErrBadMaterial, "#rrggbb"},
		{"bad finish", PolishRequest{Color: "#3a7bd5", Finish: "sparkly"}, ErrBadMaterial, "sparkly"},
		{"glossiness out of range", PolishRequest{Glossiness: f(1.5)}, ErrBadMaterial, "glossiness 1.5"},
		{"NaN intensity", PolishRequest{Intensity: f(math.NaN())}, ErrBadMaterial, "intensity NaN"},
		{"zero opacity", PolishRequest{Opacity: f(0)}, ErrBadMaterial, "paint nothing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.req.Material()
			require.ErrorIs(t, err, c.is)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

// A matte finish asked for with a custom colour paints no highlight; it had one, since
// the custom colour's default glossiness (0.7) overrode the finish's own.
func TestMatteFinishIsNotShiny(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 120, 120))
	for i := range img.Pix {
		img.Pix[i] = 160 // flat grey: any bright pixel on the nail is a highlight
	}
	nail := ellipseNail(60, 60, 16, 30)
	res := &Result{Width: 120, Height: 120, Nails: []Nail{nail}}
	brightest := func(req PolishRequest) int {
		m, err := req.Material()
		require.NoError(t, err)
		out, err := Render(NewPhoto(img), res, m)
		require.NoError(t, err)
		most := 0
		for y := nail.Box.Min.Y; y < nail.Box.Max.Y; y++ {
			for x := nail.Box.Min.X; x < nail.Box.Max.X; x++ {
				if nail.Mask.At(x, y) == 255 {
					c := out.RGBAAt(x, y)
					most = max(most, int(c.R), int(c.G), int(c.B))
				}
			}
		}
		return most
	}
	flat := brightest(PolishRequest{Color: "#3a7bd5", Finish: "matte"})
	assert.LessOrEqual(t, flat, 0xd5+3, "matte: no channel above the colour's own (#3a7bd5)")
	shiny := brightest(PolishRequest{Color: "#3a7bd5", Finish: "matte", Glossiness: new(0.7)})
	assert.Greater(t, shiny, flat+20, "glossiness given with matte still adds a highlight")
}
