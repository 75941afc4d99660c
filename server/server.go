package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is the nailtrt HTTP API around one model. It implements http.Handler, so it can
// be mounted anywhere; Serve runs it on a listener with timeouts and graceful shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	model    *model // the photo model
	live     *model // the live model (?model=live); nil: live requests use model
	cache    *resultCache
	limit    *limiter
	memory   *budget // decode -> inference -> paint -> encode
	uploads  *budget // request bodies being held
	gpu      GPUReader
	metrics  *metrics
	handler  http.Handler
	started  time.Time
	versions string                      // Options.Versions
	conns    atomic.Pointer[connLimiter] // set by Serve
}

// Options are the dependencies New can be given; the zero value uses the defaults.
type Options struct {
	Logger *slog.Logger
	// GPU reports the GPUs in /api/health and /metrics; nil reads none (nailtrt serve
	// passes nvmlgpu.New()). The server calls Close when it closes.
	GPU GPUReader
	// Versions describes the native libraries for /api/health (nailtrt serve passes
	// segment.Versions()); "" reports none.
	Versions string
	// Live opens the live model, which POST /api/nails/segment?model=live (the page's
	// camera mode) runs: cheaper per frame than the photo model, less exact. nil: those
	// requests use the photo model. It loads beside the photo model, with the same
	// retries, and readiness waits for both.
	Live Loader
}

// New builds a server whose model comes from load. Unless cfg.Lazy, loading starts now
// in the background; the handler serves /healthz at once and /readyz turns 200 once the
// model is loaded and warmed.
func New(cfg Config, load Loader, opts Options) *Server {
	cfg, _ = cfg.withDefaults() // an error here is Validate's too, logged below
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	gpu := opts.GPU
	if gpu == nil {
		gpu = noGPUReader{}
	}
	if err := cfg.Validate(); err != nil {
		log.Error("invalid server configuration", "err", err)
	}
	s := &Server{cfg: cfg, log: log, started: time.Now(), versions: opts.Versions,
		model:   newModel(load, log, cfg.LoadAttempts),
		cache:   newResultCache(cfg.CacheEntries, cfg.CacheBytes, cfg.CacheTTL),
		limit:   newLimiter(cfg.Contexts, cfg.MaxQueue),
		memory:  newBudget("memory", "NAILTRT_MEMORY_BUDGET", cfg.MemoryBudget, cfg.AdmitWait, cfg.MaxQueue),
		uploads: newBudget("upload", "NAILTRT_UPLOAD_BUDGET", cfg.UploadBudget, cfg.AdmitWait, cfg.MaxQueue),
		gpu:     gpu,
	}
	if cfg.RedisURL != "" {
		shared, err := newSharedCache(cfg, log)
		if err != nil {
			log.Error("shared cache off", "err", err)
		} else {
			s.cache.shared = shared
			log.Info("shared cache", "redis", redactURL(cfg.RedisURL), "timeout", cfg.RedisTimeout)
		}
	}
	if opts.Live != nil {
		s.live = newModel(opts.Live, log.With("role", "live"), cfg.LoadAttempts)
	}
	s.metrics = newMetrics(s.cache, s.gpu, s.limit, s.model)
	s.metrics.reg.MustRegister(connCollectors(&s.conns)...)
	s.handler = s.routes()
	if !cfg.Lazy {
		for _, m := range s.models() {
			m.start()
		}
	}
	return s
}

// NewWithSegmenter serves an already opened segmenter (library use). The server owns it
// from then on and closes it in Close.
func NewWithSegmenter(cfg Config, seg Segmenter, opts Options) *Server {
	return New(cfg, func(context.Context) (Segmenter, error) { return seg, nil }, opts)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// models is the photo model, then the live one when there is one.
func (s *Server) models() []*model {
	if s.live == nil {
		return []*model{s.model}
	}
	return []*model{s.model, s.live}
}

// Loaded is closed once every model's load has ended, ready or failed (Ready says
// which). With Config.Lazy a load, and so this, waits for the first request that needs it.
func (s *Server) Loaded() <-chan struct{} {
	if s.live == nil {
		return s.model.done
	}
	both := make(chan struct{})
	go func() {
		<-s.model.done
		<-s.live.done
		close(both)
	}()
	return both
}

// Ready reports whether every model is loaded and warmed.
func (s *Server) Ready() bool {
	return s.state() == stateReady
}

// state is the models' state as readiness sees it: the first one not ready, else ready.
func (s *Server) state() string {
	for _, m := range s.models() {
		if state, _, _ := m.status(); state != stateReady {
			return state
		}
	}
	return stateReady
}

// Serve runs the server on ln until ctx is cancelled, then shuts down gracefully:
// in-flight requests finish (up to ShutdownTimeout), then the model is freed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// Bound open connections: each holds buffers and a goroutine even when idle; idle
	// ones make way for new ones, and the probes answer when all are busy (conns.go).
	limited := newConnLimiter(ln, s.cfg.MaxConns)
	s.conns.Store(limited)
	hs.ConnState, hs.ConnContext = limited.connState, withConn
	ln = limited
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Close frees the model and NVML and, after its pending writes, the shared cache's
// connections. Call it after the last request.
func (s *Server) Close() error {
	var err error
	for _, m := range s.models() {
		if cerr := m.close(); err == nil {
			err = cerr
		}
	}
	s.gpu.Close()
	if s.cache.shared != nil {
		if cerr := s.cache.shared.close(); err == nil && !errors.Is(cerr, redis.ErrClosed) {
			err = cerr
		}
	}
	return err
}
