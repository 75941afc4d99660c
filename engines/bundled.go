package engines

import _ "embed"

// Each manifest's "file" names the ONNX file embedded beside it and its sha256 is that
// file's (segment.LoadModel checks).
var (
	//go:embed nailseg.json
	photoManifest []byte
	//go:embed nailseg.onnx
	photoModel []byte // 2.0 MB
	//go:embed nailseg-int8.json
	int8Manifest []byte
	// The photo model quantised (README.md, "INT8 build"): what segment.DefaultModel
	// loads on a CPU with VNNI; 0.8 MB.
	//go:embed nailseg-int8.onnx
	int8Model []byte
	//go:embed nailseg-live.json
	liveManifest []byte
	// The photo model's network fine-tuned at a 384 px input, one pass without the
	// mirror, for live camera frames (README.md, "Live model"); 2.0 MB.
	//go:embed nailseg-live.onnx
	liveModel []byte
)

// Builtin is a model built into the binary: its manifest and the ONNX file it names.
type Builtin struct {
	Manifest, Model []byte
}

// Builtins are the built-in models by name ("builtin:<name>" where a manifest path is
// asked for): the photo model, float and INT8, and the live one.
var Builtins = map[string]Builtin{
	"nailseg":      {photoManifest, photoModel},
	"nailseg-int8": {int8Manifest, int8Model},
	"nailseg-live": {liveManifest, liveModel},
}
