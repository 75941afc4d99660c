package segment

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/option"
)

// Options lists the settings of c, bound to its fields: the one definition of their
// flags, NAILTRT_* variables, defaults and help (package option). Open applies the
// defaults; the nailtrt command registers them as flags.
func (c *Config) Options() []option.Option {
	return []option.Option{
		{Flag: "model", Env: "NAILTRT_MODEL", DefaultDoc: "the bundled model (built in: INT8 on a CPU with VNNI, else float)", Value: option.String(&c.Model),
			Help: "model manifest (JSON) or builtin:<name>; unset: the bundled photo model, built into the binary, as builtin:nailseg-int8 where ONNX Runtime runs on a CPU with VNNI and builtin:nailseg (float) elsewhere"},
		{Flag: "backend", Env: "NAILTRT_BACKEND", Default: "auto", Value: option.String(&c.Backend),
			Help: "auto (TensorRT when a GPU and TensorRT work, else ONNX Runtime), onnxruntime or tensorrt"},
		{Flag: "threads", Env: "NAILTRT_THREADS", Default: "0", DefaultDoc: "`0` (automatic)", Value: option.Int(&c.Threads),
			Help: "ONNX Runtime threads per inference; automatic: a request alone uses every core, concurrent ones share them"},
		{Flag: "contexts", Env: "NAILTRT_CONTEXTS", Default: "2", Value: option.Int(&c.Contexts),
			Help: "inferences that may run at once (execution contexts)"},
		{Flag: "device", Env: "NAILTRT_DEVICE", Default: "0", Value: option.Int(&c.Device), Help: "CUDA device"},
		{Flag: "cache-dir", Env: "NAILTRT_ENGINE_CACHE", Default: DefaultCacheDir(), DefaultDoc: "`~/.cache/nailtrt/engines`",
			Value: option.String(&c.CacheDir), Help: "TensorRT plan cache folder"},
		{Flag: "max-batch", Env: "NAILTRT_MAX_BATCH", Default: "0", DefaultDoc: "`0` (automatic)", Value: option.Int(&c.MaxBatch),
			Help: "images one model run may take from concurrent requests, TTA mirrors included; automatic: 8 on TensorRT, off on the CPU; 1: off"},
		{Flag: "batch-delay", Env: "NAILTRT_BATCH_DELAY", Default: "1ms", Value: option.Duration(&c.BatchDelay),
			Help: "longest the first request of a batch waits for others to join"},
		{Flag: "polygon-tolerance", Env: "NAILTRT_POLYGON_TOLERANCE", Default: "1", Value: option.Float(&c.PolygonTolerance),
			Help: "polygon simplification tolerance in pixels (negative: every corner)"},
		{Flag: "max-pixels", Env: "NAILTRT_MAX_PIXELS", Default: strconv.Itoa(nails.DefaultMaxPixels), Value: option.Int(&c.Limits.MaxPixels),
			Help: "largest image in pixels (422 beyond)"},
		{Flag: "max-side", Env: "NAILTRT_MAX_SIDE", Default: strconv.Itoa(nails.DefaultMaxSide), Value: option.Int(&c.Limits.MaxSide),
			Help: "largest image side in pixels (422 beyond)"},
		{Flag: "min-side", Env: "NAILTRT_MIN_SIDE", Default: strconv.Itoa(nails.DefaultMinSide), Value: option.Int(&c.Limits.MinSide),
			Help: "shortest side a photo may have, in pixels (422 image_too_small below: too small to show a nail)"},
		{Flag: "max-scans", Env: "NAILTRT_MAX_SCANS", Default: strconv.Itoa(nails.DefaultMaxScans), Value: option.Int(&c.Limits.MaxScans),
			Help: "most scans a (progressive) JPEG may have (422 beyond)"},
	}
}

// DefaultCacheDir is where TensorRT plans are cached unless Config.CacheDir says
// otherwise: the user's cache folder, else the temporary folder.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nailtrt", "engines")
	}
	return filepath.Join(os.TempDir(), "nailtrt-engines")
}

// withDefaults is c with every unset field at its default (the Options table).
func (c Config) withDefaults() (Config, error) {
	// Apply first, then read c: in one return statement the order in which c is read
	// and the call runs is unspecified.
	err := option.ApplyDefaults(c.Options())
	return c, err
}
