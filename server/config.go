package server

import (
	"time"

	"github.com/nailtrt/nailtrt/nails"
)

// Config is every server knob. The zero value of a field means its default; the
// nailtrt command fills it from flags and NAILTRT_* variables.
type Config struct {
	Addr string // listen address; default ":8080"

	Model    string // manifest path; default "engines/nailseg.json"
	Backend  string // auto, onnxruntime, tensorrt
	Threads  int    // ONNX Runtime intra-op threads per inference; 0 = NumCPU / Contexts
	Contexts int    // concurrent inferences; default 2
	Device   int    // CUDA device
	CacheDir string // TensorRT plan cache
	Lazy     bool   // load the model on the first request instead of at start
	// PolygonTolerance is the Douglas-Peucker tolerance of returned polygons in pixels
	// (0: 1 px; negative: every corner of the traced boundary).
	PolygonTolerance float64

	AdminToken  string   // bearer token for POST /api/cache/clear; "" = loopback only
	CORSOrigins []string // allowed browser origins; "*" allows any; default none

	CacheEntries int           // default 100
	CacheBytes   int64         // default 256 MiB
	CacheTTL     time.Duration // default 5 min

	MaxBodyBytes int64 // request body limit; default 20 MB
	MaxQueue     int   // requests allowed to wait for an inference; default 64
	Limits       nails.Limits
	JPEGQuality  int // render output; default 90

	ReadHeaderTimeout time.Duration // default 10 s
	ReadTimeout       time.Duration // default 60 s
	WriteTimeout      time.Duration // default 60 s
	IdleTimeout       time.Duration // keep-alive; default 75 s
	ShutdownTimeout   time.Duration // grace for in-flight requests on SIGTERM; default 30 s
	RequestTimeout    time.Duration // one inference, queueing included; default 30 s

	TrustedProxies []string // for client IPs in logs; default none
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Model == "" {
		c.Model = "engines/nailseg.json"
	}
	def(&c.Contexts, 2)
	def(&c.CacheEntries, 100)
	if c.CacheBytes <= 0 {
		c.CacheBytes = 256 << 20
	}
	defDur(&c.CacheTTL, 5*time.Minute)
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 20 << 20
	}
	def(&c.MaxQueue, 64)
	def(&c.JPEGQuality, 90)
	defDur(&c.ReadHeaderTimeout, 10*time.Second)
	defDur(&c.ReadTimeout, 60*time.Second)
	defDur(&c.WriteTimeout, 60*time.Second)
	defDur(&c.IdleTimeout, 75*time.Second)
	defDur(&c.ShutdownTimeout, 30*time.Second)
	defDur(&c.RequestTimeout, 30*time.Second)
	return c
}
