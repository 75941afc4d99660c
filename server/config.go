package server

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nailtrt/nailtrt/nails"
)

// Config is every server knob. The zero value of a field means its default; the
// nailtrt command fills it from flags and NAILTRT_* variables.
type Config struct {
	Addr string // listen address; default ":8080"

	Model    string // manifest path; "" = the bundled model (built in)
	Backend  string // auto, onnxruntime, tensorrt
	Threads  int    // ONNX Runtime intra-op threads per inference; 0 = automatic (nails.Config.Threads)
	Contexts int    // concurrent inferences; default 2
	// MaxBatch and BatchDelay batch concurrent requests into one model run
	// (nails.Config.MaxBatch: 0 automatic, on for TensorRT only; 1 off).
	MaxBatch   int
	BatchDelay time.Duration // default 1 ms
	Device     int           // CUDA device
	CacheDir   string        // TensorRT plan cache
	Lazy       bool          // load the model on the first request instead of at start
	// PolygonTolerance is the Douglas-Peucker tolerance of returned polygons in pixels
	// (0: 1 px; negative: every corner of the traced boundary).
	PolygonTolerance float64

	// DisableUI turns off the try-on page at GET / (NAILTRT_UI=false), for API-only
	// deployments; /openapi.json stays.
	DisableUI bool

	AdminToken  string   // bearer token for POST /api/cache/clear; "" = loopback only
	CORSOrigins []string // allowed browser origins; "*" allows any; default none

	CacheEntries int           // default 100
	CacheBytes   int64         // default 256 MiB
	CacheTTL     time.Duration // default 5 min; the shared level's too

	// RedisURL turns on the shared result cache (redis://[user:password@]host:port/db),
	// a second level under the in-process one that every replica reads and writes.
	RedisURL      string
	RedisTimeout  time.Duration // longest wait for one Redis call; default 100 ms
	RedisMaxValue int64         // largest encoded result stored there; default 8 MiB

	MaxBodyBytes int64 // request body limit; default 20 MB
	MaxQueue     int   // requests allowed to wait for an inference; default 64

	// MemoryBudget bounds the bytes all requests together may hold for decode ->
	// inference -> paint -> encode, each admitted by an estimate from its image header
	// (nails.Header.DecodeBytes plus what rendering adds). Default 1 GiB.
	MemoryBudget int64
	// UploadBudget bounds the request bodies being held at once (each counts its
	// Content-Length, or MaxBodyBytes when unknown). Default 256 MiB.
	UploadBudget int64
	// AdmitWait is how long a request waits for budget before 503; default 5 s.
	AdmitWait time.Duration
	// MaxConns caps open client connections (Serve only); default 1024.
	MaxConns int
	// LoadAttempts is how many times a failing model load is tried (with backoff from
	// 1 s, doubling to at most 30 s) before /healthz reports the replica as failed;
	// default 5.
	LoadAttempts int
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

// Validate reports settings that cannot work (a malformed trusted proxy, an upload
// budget smaller than one body); New logs the same problems, serve refuses to start.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q is neither an IP nor a CIDR (NAILTRT_TRUSTED_PROXIES)", p))
		}
	}
	if c.RedisURL != "" {
		if _, err := parseRedisURL(c.RedisURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.UploadBudget < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("upload budget %d is below the body limit %d: no large upload could ever be read "+
			"(raise NAILTRT_UPLOAD_BUDGET or lower NAILTRT_MAX_BODY_BYTES)", c.UploadBudget, c.MaxBodyBytes))
	}
	return errors.Join(errs...)
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
	def(&c.Contexts, 2)
	def(&c.CacheEntries, 100)
	if c.CacheBytes <= 0 {
		c.CacheBytes = 256 << 20
	}
	defDur(&c.CacheTTL, 5*time.Minute)
	defDur(&c.RedisTimeout, 100*time.Millisecond)
	if c.RedisMaxValue <= 0 {
		c.RedisMaxValue = 8 << 20
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 20 << 20
	}
	def(&c.MaxQueue, 64)
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = 1 << 30
	}
	if c.UploadBudget <= 0 {
		c.UploadBudget = 256 << 20
	}
	defDur(&c.AdmitWait, 5*time.Second)
	def(&c.MaxConns, 1024)
	def(&c.LoadAttempts, 5)
	def(&c.JPEGQuality, 90)
	defDur(&c.ReadHeaderTimeout, 10*time.Second)
	defDur(&c.ReadTimeout, 60*time.Second)
	defDur(&c.WriteTimeout, 60*time.Second)
	defDur(&c.IdleTimeout, 75*time.Second)
	defDur(&c.ShutdownTimeout, 30*time.Second)
	defDur(&c.RequestTimeout, 30*time.Second)
	return c
}
