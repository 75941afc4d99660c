package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/nailtrt/nailtrt/engines"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// BuiltinPrefix starts a Config.Model that names a model built into the binary
// (package engines) rather than a manifest file: "builtin:nailseg-live".
const BuiltinPrefix = "builtin:"

// The built-in photo model in its two builds: the same weights, float and INT8.
const (
	floatModel = "nailseg"
	int8Model  = "nailseg-int8"
)

// DefaultModel names the built-in model an empty Config.Model loads on this machine with
// this backend ("" or auto probes it): the photo model's INT8 build where ONNX Runtime
// runs it on a CPU with 8-bit dot-product instructions (AVX-512 VNNI or AVX-VNNI), where
// it gives about the float model's accuracy in 0.73x its time (3.4.0, a 1280x959
// photo; engines/README.md, "INT8 build"), and the float build everywhere else: on
// GPUs, and on CPUs without VNNI, where ONNX Runtime's INT8 kernels can be slower and
// saturate (not measured here).
func DefaultModel(backend string) string {
	b, err := trt.ParseBackend(backend)
	if err == nil {
		b, err = trt.Probe(b)
	}
	if err == nil && b == trt.ONNXRuntime && hasVNNI() {
		return BuiltinPrefix + int8Model
	}
	return BuiltinPrefix + floatModel
}

// modelName is the model Open and Preflight load: Model, or DefaultModel for Backend.
func (c Config) modelName() string {
	if c.Model == "" {
		return DefaultModel(c.Backend)
	}
	return c.Model
}

// hasVNNI says whether this CPU has the 8-bit dot products ONNX Runtime's INT8
// convolutions are fast with (x86 only: arm64's have not been measured).
func hasVNNI() bool {
	return cpu.X86.HasAVX512VNNI || cpu.X86.HasAVXVNNI
}

// LoadModel reads and verifies the manifest at path (its model file's SHA-256 included),
// or, for "builtin:<name>", a bundled model (package engines), whose ONNX bytes it
// returns too; "" is DefaultModel with the automatic backend. What Open loads, for
// commands that look at the model without segmenting.
func LoadModel(path string) (*nails.Manifest, []byte, error) {
	if path == "" {
		path = DefaultModel("")
	}
	name, builtin := strings.CutPrefix(path, BuiltinPrefix)
	if !builtin {
		m, err := nails.LoadManifest(path)
		if err != nil {
			return nil, nil, err
		}
		return m, nil, m.VerifyFile()
	}
	b, ok := engines.Builtins[name]
	if !ok {
		return nil, nil, wrap(nails.ErrManifest, "no built-in model %q (built in: %s)", name, builtinNames())
	}
	m, err := nails.ParseManifest(b.Manifest, "")
	if err != nil {
		return nil, nil, err
	}
	if sum := sha256.Sum256(b.Model); m.SHA256 != "" && !strings.EqualFold(hex.EncodeToString(sum[:]), m.SHA256) {
		return nil, nil, wrap(nails.ErrManifest, "the bundled model %s's sha256 differs from its manifest's (rebuild after make train)", name)
	}
	return m, b.Model, nil
}

// builtinNames lists engines.Builtins' names, sorted, for messages.
func builtinNames() string {
	names := slices.Sorted(maps.Keys(engines.Builtins))
	return strings.Join(names, ", ")
}
