package nails

// look holds the numbers a finish paints with.
type look struct {
	contrast  float32 // exponent on the photo's shading
	flatten   float32 // 0..1: how much shading is removed (matte)
	highlight float32 // strength of the specular band along the nail
	tint      float32 // 0 white highlight .. 1 highlight in the polish colour (metal)
	keepGloss float32 // how much of the photo's own bright glints survive
	bands     float32 // chrome: reflections varying along the nail
	shimmer   float32 // fine per-pixel sparkle
	glitter   float32 // density of bright flecks
	french    bool
	sheer     bool
}

func lookOf(m Material) look {
	l := look{contrast: 0.8, highlight: 0.35, keepGloss: 0.4}
	switch m.Finish {
	case Glossy:
		l.highlight, l.keepGloss = 0.55, 0.8
	case Matte:
		l.contrast, l.flatten, l.highlight, l.keepGloss = 0.5, 0.6, 0, 0
	case Metallic:
		l.contrast, l.highlight, l.tint, l.keepGloss = 1.6, 0.6, 0.6, 0.6
	case Chrome:
		l.contrast, l.highlight, l.tint, l.keepGloss, l.bands = 1.8, 0.8, 0.3, 0.8, 0.45
	case Shimmer:
		l.shimmer, l.highlight = 0.18, 0.4
	case Glitter:
		l.glitter, l.shimmer, l.highlight = 0.03, 0.1, 0.3
	case Sheer:
		l.sheer, l.highlight, l.keepGloss = true, 0.45, 0.9
	case Jelly:
		l.sheer, l.highlight, l.keepGloss = true, 0.65, 0.9
	case French:
		l.french, l.highlight, l.keepGloss = true, 0.45, 0.8
	}
	if g := m.Glossiness; g != nil {
		// 0.1 + 0.7g, faded to nothing below g = 1/8 so that no gloss means no highlight.
		l.highlight = float32(min(8**g, 1)*0.1 + 0.7**g)
		l.keepGloss = float32(*g)
	}
	// Metallic 0 is a plain polish, which every finish but a metal one already is: it
	// keeps the finish's own look (a metal finish stays metal).
	if mt := m.Metallic; mt != nil && *mt > 0 {
		l.tint = float32(*mt)
		l.contrast = float32(0.8 + 1.0**mt)
	}
	return l
}
