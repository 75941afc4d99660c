package engines

import _ "embed"

// Manifest is nailseg.json; its "file" names Model and its sha256 is Model's.
//
//go:embed nailseg.json
var Manifest []byte

// Model is nailseg.onnx (2.0 MB).
//
//go:embed nailseg.onnx
var Model []byte
