package engines

import _ "embed"

// Each manifest's "file" names the ONNX file embedded beside it and its sha256 is that
// file's (segment.LoadModel checks).
var (
	//go:embed nailseg.json
	photoManifest []byte
	//go:embed nailseg.onnx
	photoModel []byte // 2.0 MB
	//go:embed nailseg-live.json
	liveManifest []byte
	// The photo model's weights at a 384 px input, one pass without the mirror, for
	// live camera frames (README.md, "Live model"); 2.0 MB.
	//go:embed nailseg-live.onnx
	liveModel []byte
)

// Builtin is a model built into the binary: its manifest and the ONNX file it names.
type Builtin struct {
	Manifest, Model []byte
}

// Builtins are the built-in models by name ("builtin:<name>" where a manifest path is
// asked for): the photo model and the live one.
var Builtins = map[string]Builtin{
	"nailseg":      {photoManifest, photoModel},
	"nailseg-live": {liveManifest, liveModel},
}
