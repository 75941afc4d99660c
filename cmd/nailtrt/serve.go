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
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/option"
	"github.com/nailtrt/nailtrt/server"
	"github.com/nailtrt/nailtrt/server/nvmlgpu"
	"github.com/nailtrt/nailtrt/trt"
)

// serveSettings are serve's options that are the command's, not the server's.
type serveSettings struct {
	adminTokenFile, adminToken string
	memoryLimit                int64
	logLevel, logFormat        string
	liveModel                  string
}

// liveOff is the --live-model value that runs no live model.
const liveOff = "off"

// serveOptions is every option of nailtrt serve, in the order --help and the README's
// table list them: the model's (the runtime's) and the live model's, the server's, then
// the command's own.
func serveOptions(model *segment.Config, cfg *server.Config, s *serveSettings) []option.Option {
	opts := append(model.Options(), option.Option{Flag: "live-model", Env: "NAILTRT_LIVE_MODEL",
		Default: segment.BuiltinPrefix + "nailseg-live", DefaultDoc: "`builtin:nailseg-live` (built in)", Value: option.String(&s.liveModel),
		Help: "model for camera frames (POST /api/nails/segment?model=live, the page's live mode): a manifest, or builtin:<name>; run with the same backend and contexts as --model; off: those requests use --model"})
	opts = append(opts, cfg.Options()...)
	return append(opts, []option.Option{
		// The admin token never comes from the command line, where ps shows it to every user.
		{Flag: "admin-token-file", Env: "NAILTRT_ADMIN_TOKEN_FILE", Value: option.String(&s.adminTokenFile),
			Help: "file holding the bearer token for POST /api/cache/clear (trailing newline dropped)"},
		{Env: "NAILTRT_ADMIN_TOKEN", DefaultDoc: "unset (loopback only)", Value: option.String(&s.adminToken),
			Help: "the bearer token itself, when no file is given; never a flag (ps would show it); unset: cache clear is for loopback clients addressing localhost or a loopback IP only, not through a proxy"},
		{Flag: "memory-limit", Env: "NAILTRT_MEMORY_LIMIT", DefaultDoc: "budgets + 512 MiB", Value: option.Bytes(&s.memoryLimit),
			Help: "Go soft memory limit (unless GOMEMLIMIT is set); unset: memory budget + upload budget + 512 MiB"},
		{Flag: "log-level", Env: "NAILTRT_LOG_LEVEL", Default: "info", Value: option.String(&s.logLevel),
			Help: "debug, info, warn or error"},
		{Flag: "log-format", Env: "NAILTRT_LOG_FORMAT", Default: "text", Value: option.String(&s.logFormat),
			Help: "text, or json for log pipelines"},
	}...)
}

func runServe(args []string) error {
	f := newFlags("serve", "")
	var (
		model segment.Config
		cfg   server.Config
		set   serveSettings
	)
	f.add(serveOptions(&model, &cfg, &set)...)
	if err := f.parse(args); err != nil {
		return err
	}
	mallocarena.Server() // see package mallocarena: resident memory, not speed
	log, err := newLogger(set.logLevel, set.logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	trt.SetLogger(log)
	if cfg.AdminToken, err = adminToken(set.adminTokenFile, set.adminToken); err != nil {
		return err
	}
	model.Model = resolveModel(model.Model)
	live := liveConfig(model, set.liveModel)
	// The settings the server shares with the runtime are defined once, by the runtime's
	// options: the photo limits it checks before admitting a request, and how many
	// inferences its limiter lets through at once.
	cfg.Limits, cfg.Contexts = model.Limits, model.Contexts
	if err := cfg.Validate(); err != nil {
		return err
	}
	// A model or backend that can never work stops serve here, with the reason, rather
	// than after minutes of load retries behind a 503 (unless --lazy asks for that).
	if !cfg.Lazy {
		if err := segment.Preflight(model); err != nil {
			return fmt.Errorf("%w (with --lazy, serve starts anyway and loads on the first request)", err)
		}
		if live != nil {
			if err := segment.Preflight(*live); err != nil {
				return fmt.Errorf("live model: %w (--live-model off serves camera frames with --model)", err)
			}
		}
	}
	if limit := memoryLimit(set.memoryLimit, cfg.MemoryBudget, cfg.UploadBudget); limit > 0 {
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
		"model", model.Model, "backend", model.Backend, "lazy", cfg.Lazy, "page", !cfg.DisableUI)
	opts := server.Options{Logger: log, GPU: nvmlgpu.New(), Versions: segment.Versions()}
	if live != nil {
		opts.Live = timedLoader(openLoader(*live), log.With("role", "live"))
	}
	srv := server.New(cfg, timedLoader(openLoader(model), log), opts)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go announce(ctx, srv, openURL(ln.Addr()), cfg, set.logFormat, log)
	err = srv.Serve(ctx, ln)
	log.Info("stopped", "err", err)
	return err
}

// announce says where to open the page once the server can answer (the model ready,
// or at once with --lazy): a plain line for a person reading text logs, a log record
// for JSON log pipelines. Nothing when the model failed to load (that is logged).
func announce(ctx context.Context, srv *server.Server, url string, cfg server.Config, format string, log *slog.Logger) {
	if !cfg.Lazy {
		select {
		case <-srv.Loaded():
		case <-ctx.Done():
			return
		}
		if !srv.Ready() {
			return
		}
	}
	what := "open " + url
	if cfg.DisableUI {
		what = "ready at " + url + " (API only: NAILTRT_UI=false)"
	}
	if format == "json" {
		log.Info("serving", "url", url, "page", !cfg.DisableUI)
		return
	}
	fmt.Fprintln(os.Stderr, "nailtrt: "+what)
}

// openURL is where a person on this machine reaches a server listening on addr: a
// wildcard address (":8080", "0.0.0.0:8080", "[::]:8080") answers on 127.0.0.1 too.
func openURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// liveConfig is the live model's runtime settings: the photo model's, with the model
// --live-model names; nil for off.
func liveConfig(photo segment.Config, liveModel string) *segment.Config {
	if liveModel == liveOff {
		return nil
	}
	photo.Model = resolveModel(liveModel)
	return &photo
}

// openLoader is the server's Loader for the runtime settings in cfg: opening the model
// is the command's job, not the HTTP layer's (which never imports the runtime).
func openLoader(cfg segment.Config) server.Loader {
	return func(ctx context.Context) (server.Segmenter, error) {
		seg, err := segment.Open(ctx, cfg)
		if err != nil {
			return nil, err // not a non-nil interface around a nil pointer
		}
		return seg, nil
	}
}

var _ server.Segmenter = (*segment.Segmenter)(nil)

// timedLoader logs when the model is usable, measured from process start.
func timedLoader(load server.Loader, log *slog.Logger) server.Loader {
	return func(ctx context.Context) (server.Segmenter, error) {
		seg, err := load(ctx)
		if err == nil {
			log.Info("model loaded", "since_start_ms", ms(time.Since(processStart)), "backend", seg.Backend())
		}
		return seg, err
	}
}

// adminToken reads the token from a file (trailing newline dropped), else takes the
// one NAILTRT_ADMIN_TOKEN gave.
func adminToken(file, fromEnv string) (string, error) {
	if file == "" {
		return strings.TrimSpace(fromEnv), nil
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

var ms = nails.Milliseconds
