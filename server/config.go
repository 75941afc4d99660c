package server

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/option"
)

// Config is every knob of the HTTP server. The zero value of a field means its
// default, from Options: the same table the nailtrt command's flags, NAILTRT_*
// variables and the README's option table come from. The model's own settings
// (manifest, backend, threads, batching) belong to whoever opens it (package segment);
// the two below are the ones the server needs too, and nailtrt serve copies them from
// the runtime's settings, whose options define them.
type Config struct {
	// Limits bounds the photos accepted (NAILTRT_MAX_PIXELS, NAILTRT_MAX_SIDE,
	// NAILTRT_MIN_SIDE, NAILTRT_MAX_SCANS), checked on the header before anything is
	// decoded or admitted; zero fields are nails' defaults.
	Limits nails.Limits
	// Contexts is how many inferences the model runs at once (NAILTRT_CONTEXTS): the
	// admission limiter lets that many requests at the model and queues MaxQueue more.
	// Zero: DefaultContexts.
	Contexts int

	Addr string // listen address
	Lazy bool   // load the model on the first request instead of at start

	// DisableUI turns off the try-on page at GET / (NAILTRT_UI=false), for API-only
	// deployments; /openapi.json stays.
	DisableUI bool

	AdminToken  string   // bearer token for POST /api/cache/clear; "" = loopback only
	CORSOrigins []string // allowed browser origins; "*" allows any; default none

	CacheEntries int           // in-process result cache entries
	CacheBytes   int64         // in-process result cache bytes
	CacheTTL     time.Duration // result lifetime in both cache levels

	// RedisURL turns on the shared result cache (redis://[user:password@]host:port/db,
	// rediss:// for TLS), a second level under the in-process one that every replica
	// reads and writes.
	RedisURL      string
	RedisTimeout  time.Duration // longest wait for one Redis call
	RedisMaxValue int64         // largest value stored there or read from it
	// RedisSecret (or the file RedisSecretFile names) keys the MAC that seals each
	// shared value to its key, so only replicas holding it can write values the others
	// use. Unset: values carry a keyless digest, which catches damage and values moved
	// between keys but not forgery by whoever can write to Redis.
	RedisSecret, RedisSecretFile string

	MaxBodyBytes int64 // request body limit
	MaxQueue     int   // requests allowed to wait for an inference

	// MemoryBudget bounds the bytes all requests together may hold for decode ->
	// inference -> paint -> encode, each admitted by an estimate from its image header
	// (nails.Header.DecodeBytes plus what rendering adds).
	MemoryBudget int64
	// UploadBudget bounds the request bodies being held at once, each counted as its
	// bytes arrive (its buffer's size: at most twice what has arrived).
	UploadBudget int64
	// BodyStallTimeout cuts a request body that sends nothing for this long (408).
	BodyStallTimeout time.Duration
	// AdmitWait is how long a request waits for budget before 503.
	AdmitWait time.Duration
	// MaxConns caps open client connections (Serve only); idle keep-alive ones are
	// closed to admit new ones, and a few more are admitted for the probes alone.
	MaxConns int
	// LoadAttempts is how many times a failing model load is tried (with backoff from
	// 1 s, doubling to at most 30 s) before /healthz reports the replica as failed.
	LoadAttempts int
	JPEGQuality  int // of a render encoded whole (nails.Output.DefaultQuality)

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration // keep-alive
	ShutdownTimeout   time.Duration // grace for in-flight requests on SIGTERM
	RequestTimeout    time.Duration // one inference, queueing included

	TrustedProxies []string // for client IPs in logs; default none
}

// DefaultContexts is Config.Contexts when unset: the runtime's own default for
// NAILTRT_CONTEXTS (a test in cmd/nailtrt holds the two equal).
const DefaultContexts = 2

// Options lists every setting of c bound to its fields (Limits and Contexts, defined by
// the runtime's options, excepted): the one definition of their flags, variables,
// defaults and help (package option).
func (c *Config) Options() []option.Option {
	return append([]option.Option(nil), []option.Option{
		{Flag: "addr", Env: "NAILTRT_ADDR", Default: ":8080", Value: option.String(&c.Addr), Help: "listen address"},
		{Flag: "lazy", Env: "NAILTRT_LAZY", Default: "false", Value: option.Bool(&c.Lazy),
			Help: "load the model on the first request instead of at start"},
		{Flag: "ui", Env: "NAILTRT_UI", Default: "true", Value: option.Not(&c.DisableUI),
			Help: "serve the try-on page at / (false: API only; /openapi.json stays)"},
		{Flag: "cors-origins", Env: "NAILTRT_CORS_ORIGINS", Value: option.List(&c.CORSOrigins),
			Help: "comma-separated browser origins allowed to call the API, e.g. http://localhost:3000, or * for any; X-Nail-Count, X-Nail-Message, X-Material and X-Cache are exposed"},
		{Flag: "cache-size", Env: "NAILTRT_CACHE_SIZE", Default: "100", Value: option.Int(&c.CacheEntries),
			Help: "in-process result cache entries"},
		{Flag: "cache-bytes", Env: "NAILTRT_CACHE_BYTES", Default: "256MiB", Value: option.Bytes(&c.CacheBytes),
			Help: "in-process result cache bytes"},
		{Flag: "cache-ttl", Env: "NAILTRT_CACHE_TTL", Default: "5m", Value: option.Duration(&c.CacheTTL),
			Help: "result cache time to live (the shared cache's too)"},
		{Flag: "redis-url", Env: "NAILTRT_REDIS_URL", DefaultDoc: "unset (off)", Value: option.String(&c.RedisURL),
			Help: "shared result cache under the in-process one for all replicas, redis://[user:password@]host:port/db, or rediss:// for TLS (README: Scaling out)"},
		{Flag: "redis-timeout", Env: "NAILTRT_REDIS_TIMEOUT", Default: "100ms", Value: option.Duration(&c.RedisTimeout),
			Help: "longest wait for one shared-cache call before falling back to the model"},
		{Flag: "redis-max-value", Env: "NAILTRT_REDIS_MAX_VALUE", Default: "8MiB", Value: option.Bytes(&c.RedisMaxValue),
			Help: "largest encoded result written to the shared cache, and the most read back for one photo (a longer value is a miss)"},
		// The secret never comes from the command line, where ps shows it to every user.
		{Flag: "redis-secret-file", Env: "NAILTRT_REDIS_SECRET_FILE", Value: option.String(&c.RedisSecretFile),
			Help: "file holding the shared cache's MAC secret (trailing newline dropped); see NAILTRT_REDIS_SECRET"},
		{Env: "NAILTRT_REDIS_SECRET", DefaultDoc: "unset (values carry a keyless digest)", Value: option.String(&c.RedisSecret),
			Help: "secret (16+ bytes, the same on every replica) keying the HMAC-SHA256 that seals each shared-cache value to its key: a value without a valid one is a miss; never a flag (ps would show it); unset: damage and values moved between keys are still caught, forgery by whoever can write to Redis is not (SECURITY.md)"},
		{Flag: "max-body-bytes", Env: "NAILTRT_MAX_BODY_BYTES", Default: "20MiB", Value: option.Bytes(&c.MaxBodyBytes),
			Help: "largest request body (413 beyond)"},
		{Flag: "max-queue", Env: "NAILTRT_MAX_QUEUE", Default: "64", Value: option.Int(&c.MaxQueue),
			Help: "requests that may wait for an inference or for memory (503 + Retry-After beyond)"},
		{Flag: "memory-budget", Env: "NAILTRT_MEMORY_BUDGET", Default: "1GiB", Value: option.Bytes(&c.MemoryBudget),
			Help: "bytes all requests together may hold for decode, inference, paint and encode, each admitted by an estimate from its image header (503 + Retry-After when busy, 422 when one image could never fit)"},
		{Flag: "upload-budget", Env: "NAILTRT_UPLOAD_BUDGET", Default: "256MiB", Value: option.Bytes(&c.UploadBudget),
			Help: "bytes of request bodies held at once, counted as they arrive (503 beyond)"},
		{Flag: "body-stall-timeout", Env: "NAILTRT_BODY_STALL_TIMEOUT", Default: "10s", Value: option.Duration(&c.BodyStallTimeout),
			Help: "longest a request body may send nothing before it is cut (408), as nginx's client_body_timeout; NAILTRT_READ_TIMEOUT still bounds the whole request"},
		{Flag: "admit-wait", Env: "NAILTRT_ADMIT_WAIT", Default: "5s", Value: option.Duration(&c.AdmitWait),
			Help: "how long a request waits for memory or upload budget before 503"},
		{Flag: "max-conns", Env: "NAILTRT_MAX_CONNS", Default: "1024", Value: option.Int(&c.MaxConns),
			Help: "open client connections at most; at the cap, the longest-idle keep-alive one is closed to admit a new one, and while all are busy 8 more are admitted for /healthz and /readyz only"},
		{Flag: "load-attempts", Env: "NAILTRT_LOAD_ATTEMPTS", Default: "5", Value: option.Int(&c.LoadAttempts),
			Help: "tries to load the model (backoff 1 s doubling to 30 s); after the last, /healthz answers 503 so an orchestrator restarts the replica"},
		nails.JPEGQualityOption(&c.JPEGQuality), // nailtrt render registers the same one
		{Flag: "read-header-timeout", Env: "NAILTRT_READ_HEADER_TIMEOUT", Default: "10s", Value: option.Duration(&c.ReadHeaderTimeout),
			Help: "time to read a request's headers"},
		{Flag: "read-timeout", Env: "NAILTRT_READ_TIMEOUT", Default: "60s", Value: option.Duration(&c.ReadTimeout),
			Help: "time to read a request"},
		{Flag: "write-timeout", Env: "NAILTRT_WRITE_TIMEOUT", Default: "60s", Value: option.Duration(&c.WriteTimeout),
			Help: "time to write a response"},
		{Flag: "idle-timeout", Env: "NAILTRT_IDLE_TIMEOUT", Default: "75s", Value: option.Duration(&c.IdleTimeout),
			Help: "keep-alive idle time"},
		{Flag: "shutdown-timeout", Env: "NAILTRT_SHUTDOWN_TIMEOUT", Default: "30s", Value: option.Duration(&c.ShutdownTimeout),
			Help: "grace for in-flight requests on SIGTERM"},
		{Flag: "request-timeout", Env: "NAILTRT_REQUEST_TIMEOUT", Default: "30s", Value: option.Duration(&c.RequestTimeout),
			Help: "longest wait for an inference, queueing included"},
		{Flag: "trusted-proxies", Env: "NAILTRT_TRUSTED_PROXIES", Value: option.List(&c.TrustedProxies),
			Help: "comma-separated proxy IPs or CIDRs whose X-Forwarded-For is trusted in logs"},
	}...)
}

// Validate reports settings that cannot work (a malformed trusted proxy, an upload
// budget smaller than one body); New logs the same problems, serve refuses to start.
func (c Config) Validate() error {
	c, err := c.withDefaults()
	errs := []error{err}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q is neither an IP nor a CIDR (NAILTRT_TRUSTED_PROXIES)", p))
		}
	}
	if c.RedisURL != "" {
		if _, err := parseRedisURL(c.RedisURL); err != nil {
			errs = append(errs, err)
		}
		if _, err := redisSecret(c.RedisSecret, c.RedisSecretFile); err != nil {
			errs = append(errs, err)
		}
	}
	if c.UploadBudget < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("upload budget %d is below the body limit %d: no large upload could ever be read "+
			"(raise NAILTRT_UPLOAD_BUDGET or lower NAILTRT_MAX_BODY_BYTES)", c.UploadBudget, c.MaxBodyBytes))
	}
	return errors.Join(errs...)
}

// withDefaults is c with every unset field at its default (Options). The defaults are
// constants the option tests parse, so err is a mistake in the table, which Validate
// reports (and New logs) rather than a library panicking.
func (c Config) withDefaults() (Config, error) {
	err := option.ApplyDefaults(c.Options())
	if c.Contexts <= 0 {
		c.Contexts = DefaultContexts
	}
	return c, err
}
