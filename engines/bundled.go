package engines

import _ "embed"

// Manifest is nailseg.json; its "file" names Model and its sha256 is Model's.
//
//go:embed nailseg.json
var Manifest []byte

// Model is nailseg.onnx (2.0 MB): the photo model.
//
//go:embed nailseg.onnx
var Model []byte

// LiveManifest is nailseg-live.json, the live model's manifest; LiveModel is the file
// it names.
//
//go:embed nailseg-live.json
var LiveManifest []byte

// LiveModel is nailseg-live.onnx (2.0 MB): the photo model's weights at a 384 px input,
// one pass without the mirror, for live camera frames (README.md, "Live model").
//
//go:embed nailseg-live.onnx
var LiveModel []byte

// Builtin is a model built into the binary: its manifest and the ONNX file it names.
type Builtin struct {
	Manifest, Model []byte
}

// Builtins are the built-in models by name ("builtin:<name>" where a manifest path is
// asked for): the photo model and the live one.
var Builtins = map[string]Builtin{
	"nailseg":      {Manifest, Model},
	"nailseg-live": {LiveManifest, LiveModel},
}
