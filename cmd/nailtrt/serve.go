package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/nailtrt/nailtrt/internal/mallocarena"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/server"
	"github.com/nailtrt/nailtrt/trt"
)

func runServe(args []string) error {
	f := newFlags("serve", "")
	m := addModelFlags(f)
	addr := f.String("addr", "NAILTRT_ADDR", ":8080", "listen address")
	lazy := f.Bool("lazy", "NAILTRT_LAZY", false, "load the model on the first request instead of at start")
	ui := f.Bool("ui", "NAILTRT_UI", true, "serve the try-on page at / (false: API only)")
	// The admin token never comes from the command line, where ps shows it to every user.
	tokenFile := f.String("admin-token-file", "NAILTRT_ADMIN_TOKEN_FILE", "", "file holding the bearer token for POST /api/cache/clear; or set NAILTRT_ADMIN_TOKEN (unset: loopback clients only)")
	cors := f.String("cors-origins", "NAILTRT_CORS_ORIGINS", "", "comma-separated browser origins allowed to call the API; * for any")
	cacheSize := f.Int("cache-size", "NAILTRT_CACHE_SIZE", 100, "result cache entries")
	cacheBytes := f.Int64("cache-bytes", "NAILTRT_CACHE_BYTES", 256<<20, "result cache bytes")
	cacheTTL := f.Duration("cache-ttl", "NAILTRT_CACHE_TTL", 5*time.Minute, "result cache time to live")
	redisURL := f.String("redis-url", "NAILTRT_REDIS_URL", "", "shared result cache under the in-process one, redis://[user:password@]host:port/db (unset: off)")
	redisTimeout := f.Duration("redis-timeout", "NAILTRT_REDIS_TIMEOUT", 100*time.Millisecond, "longest wait for one shared-cache call before falling back to the model")
	redisMaxValue := f.Int64("redis-max-value", "NAILTRT_REDIS_MAX_VALUE", 8<<20, "largest encoded result written to the shared cache, in bytes")
	maxBatch := f.Int("max-batch", "NAILTRT_MAX_BATCH", 0, "images one model run may take from concurrent requests, TTA mirrors included (0: automatic, 8 on TensorRT and off on the CPU; 1: off)")
	batchDelay := f.Int("batch-delay", "NAILTRT_BATCH_DELAY", 1000, "microseconds the first request of a batch waits for others to join")
	maxBody := f.Int64("max-body-bytes", "NAILTRT_MAX_BODY_BYTES", 20<<20, "largest request body (413 beyond)")
	maxQueue := f.Int("max-queue", "NAILTRT_MAX_QUEUE", 64, "requests that may wait for an inference (503 + Retry-After beyond)")
	maxPixels := f.Int("max-pixels", "NAILTRT_MAX_PIXELS", nails.DefaultMaxPixels, "largest image in pixels (422 beyond)")
	maxSide := f.Int("max-side", "NAILTRT_MAX_SIDE", nails.DefaultMaxSide, "largest image side in pixels (422 beyond)")
	minSide := f.Int("min-side", "NAILTRT_MIN_SIDE", nails.DefaultMinSide, "shortest side a photo may have, in px (422 below: too small to show a nail)")
	maxScans := f.Int("max-scans", "NAILTRT_MAX_SCANS", nails.DefaultMaxScans, "most scans a (progressive) JPEG may have (422 beyond)")
	memBudget := f.Int64("memory-budget", "NAILTRT_MEMORY_BUDGET", 1<<30, "bytes all requests together may hold for decode, inference, paint and encode (503 when busy, 422 when one image could never fit)")
	uploadBudget := f.Int64("upload-budget", "NAILTRT_UPLOAD_BUDGET", 256<<20, "bytes of request bodies held at once (503 beyond)")
	memLimit := f.Int64("memory-limit", "NAILTRT_MEMORY_LIMIT", 0, "Go soft memory limit in bytes (GOMEMLIMIT); 0: memory budget + upload budget + 512 MiB, unless GOMEMLIMIT is set")
	maxConns := f.Int("max-conns", "NAILTRT_MAX_CONNS", 1024, "open client connections at most")
	loadAttempts := f.Int("load-attempts", "NAILTRT_LOAD_ATTEMPTS", 5, "tries to load the model (backoff 1 s doubling to 30 s) before /healthz reports failure")
	quality := f.Int("jpeg-quality", "NAILTRT_JPEG_QUALITY", 90, "JPEG quality of rendered images")
	tolerance := f.Float64("polygon-tolerance", "NAILTRT_POLYGON_TOLERANCE", 1, "polygon simplification tolerance in pixels (negative: none)")
	readTimeout := f.Duration("read-timeout", "NAILTRT_READ_TIMEOUT", 60*time.Second, "time to read a request")
	writeTimeout := f.Duration("write-timeout", "NAILTRT_WRITE_TIMEOUT", 60*time.Second, "time to write a response")
	idleTimeout := f.Duration("idle-timeout", "NAILTRT_IDLE_TIMEOUT", 75*time.Second, "keep-alive idle time")
	requestTimeout := f.Duration("request-timeout", "NAILTRT_REQUEST_TIMEOUT", 30*time.Second, "longest wait for an inference, queueing included")
	shutdownTimeout := f.Duration("shutdown-timeout", "NAILTRT_SHUTDOWN_TIMEOUT", 30*time.Second, "grace for in-flight requests on SIGTERM")
	proxies := f.String("trusted-proxies", "NAILTRT_TRUSTED_PROXIES", "", "comma-separated proxy CIDRs whose X-Forwarded-For is trusted in logs")
	logLevel := f.String("log-level", "NAILTRT_LOG_LEVEL", "info", "debug, info, warn or error")
	logFormat := f.String("log-format", "NAILTRT_LOG_FORMAT", "text", "text or json")
	if err := f.parse(args); err != nil {
		return err
	}
	mallocarena.Limit(2) // see package mallocarena: resident memory, not speed
	log, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	trt.SetLogger(log)
	token, err := adminToken(*tokenFile)
	if err != nil {
		return err
	}

	cfg := server.Config{
		Addr: *addr, Model: resolveModel(*m.model), Backend: *m.backend, Threads: *m.threads, Contexts: *m.contexts,
		Device: *m.dev, CacheDir: *m.cacheDir, Lazy: *lazy, DisableUI: !*ui, AdminToken: token, CORSOrigins: splitList(*cors),
		CacheEntries: *cacheSize, CacheBytes: *cacheBytes, CacheTTL: *cacheTTL,
		MaxBatch: *maxBatch, BatchDelay: time.Duration(*batchDelay) * time.Microsecond,
		RedisURL: *redisURL, RedisTimeout: *redisTimeout, RedisMaxValue: *redisMaxValue, MaxBodyBytes: *maxBody, MaxQueue: *maxQueue,
		Limits:       nails.Limits{MaxPixels: *maxPixels, MaxSide: *maxSide, MaxScans: *maxScans, MinSide: *minSide},
		MemoryBudget: *memBudget, UploadBudget: *uploadBudget, MaxConns: *maxConns, LoadAttempts: *loadAttempts, JPEGQuality: *quality, PolygonTolerance: *tolerance,
		ReadTimeout: *readTimeout, WriteTimeout: *writeTimeout, IdleTimeout: *idleTimeout,
		RequestTimeout: *requestTimeout, ShutdownTimeout: *shutdownTimeout, TrustedProxies: splitList(*proxies),
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	// A model or backend that can never work stops serve here, with the reason, rather
	// than after minutes of load retries behind a 503 (unless --lazy asks for that).
	if !cfg.Lazy {
		if err := nails.Preflight(nails.Config{Model: cfg.Model, Backend: cfg.Backend}); err != nil {
			return fmt.Errorf("%w (with --lazy, serve starts anyway and loads on the first request)", err)
		}
	}
	if limit := memoryLimit(*memLimit, *memBudget, *uploadBudget); limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Debug("memory limit", "bytes", limit)
	}
	// Listen first: the port is open well under a second after exec, while the model
	// loads in the background (readiness gates traffic).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "since_start_ms", ms(time.Since(processStart)),
		"model", cfg.Model, "backend", cfg.Backend, "lazy", cfg.Lazy, "page", !cfg.DisableUI)
	srv := server.New(cfg, timedLoader(server.OpenLoader(cfg), log), server.Options{Logger: log})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = srv.Serve(ctx, ln)
	log.Info("stopped", "err", err)
	return err
}

// timedLoader logs when the model is usable, measured from process start.
func timedLoader(load server.Loader, log *slog.Logger) server.Loader {
	return func(ctx context.Context) (*nails.Segmenter, error) {
		seg, err := load(ctx)
		if err == nil {
			log.Info("model loaded", "since_start_ms", ms(time.Since(processStart)), "backend", seg.Backend().String())
		}
		return seg, err
	}
}

// adminToken reads the token from a file (trailing newline dropped) or NAILTRT_ADMIN_TOKEN.
func adminToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv("NAILTRT_ADMIN_TOKEN")), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("admin token file %s is empty", file)
	}
	return token, nil
}

// memoryLimit is the Go soft memory limit to set: the flag, else (unless GOMEMLIMIT is
// in the environment, which the runtime already applied) the budgets plus headroom for
// the model, the cache and the runtime. 0 means leave it alone.
func memoryLimit(flag, memBudget, uploadBudget int64) int64 {
	if flag > 0 {
		return flag
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	return memBudget + uploadBudget + 512<<20
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
