package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var errUsage = errors.New("usage")

// flags is a FlagSet whose every option also reads a NAILTRT_* variable: the
// variable sets the default, a flag on the command line overrides it. Bad values in
// the environment are reported, not ignored.
type flags struct {
	fs   *flag.FlagSet
	errs []error
}

func newFlags(name, args string) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: nailtrt %s [options] %s\n\noptions (flag, then environment variable):\n", name, args)
		f.fs.PrintDefaults()
	}
	return f
}

func (f *flags) env(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

func (f *flags) String(name, env, def, usage string) *string {
	if v, ok := f.env(env); ok {
		def = v
	}
	return f.fs.String(name, def, usage+" ["+env+"]")
}

func (f *flags) Int(name, env string, def int, usage string) *int {
	if v, ok := f.env(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not an integer", env, v))
		}
		def = n
	}
	return f.fs.Int(name, def, usage+" ["+env+"]")
}

func (f *flags) Int64(name, env string, def int64, usage string) *int64 {
	if v, ok := f.env(env); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not an integer", env, v))
		}
		def = n
	}
	return f.fs.Int64(name, def, usage+" ["+env+"]")
}

func (f *flags) Float64(name, env string, def float64, usage string) *float64 {
	if v, ok := f.env(env); ok {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not a number", env, v))
		}
		def = x
	}
	return f.fs.Float64(name, def, usage+" ["+env+"]")
}

func (f *flags) Bool(name, env string, def bool, usage string) *bool {
	if v, ok := f.env(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not a boolean", env, v))
		}
		def = b
	}
	return f.fs.Bool(name, def, usage+" ["+env+"]")
}

func (f *flags) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	if v, ok := f.env(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not a duration (e.g. 5m, 30s)", env, v))
		}
		def = d
	}
	return f.fs.Duration(name, def, usage+" ["+env+"]")
}

// parse parses args, reporting environment errors too. Options may come before or
// after the positional arguments (`nailtrt render photo.jpg --material x`).
func (f *flags) parse(args []string) error {
	var opts, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		opts = append(opts, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if fl := f.fs.Lookup(name); fl != nil && !isBool(fl) && i+1 < len(args) {
			opts = append(opts, args[i+1])
			i++
		}
	}
	if err := f.fs.Parse(append(opts, append([]string{"--"}, pos...)...)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	return errors.Join(f.errs...)
}

// modelFlags are shared by every command that loads the model.
type modelFlags struct {
	model, backend, cacheDir *string
	threads, contexts, dev   *int
}

func addModelFlags(f *flags) modelFlags {
	return modelFlags{
		model:    f.String("model", "NAILTRT_MODEL", "engines/nailseg.json", "model manifest"),
		backend:  f.String("backend", "NAILTRT_BACKEND", "auto", "auto, onnxruntime or tensorrt"),
		cacheDir: f.String("cache-dir", "NAILTRT_ENGINE_CACHE", defaultCacheDir(), "TensorRT plan cache folder"),
		threads:  f.Int("threads", "NAILTRT_THREADS", 0, "ONNX Runtime threads per inference (0 = cores / contexts)"),
		contexts: f.Int("contexts", "NAILTRT_CONTEXTS", 2, "inferences that may run at once (execution contexts)"),
		dev:      f.Int("device", "NAILTRT_DEVICE", 0, "CUDA device"),
	}
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nailtrt", "engines")
	}
	return filepath.Join(os.TempDir(), "nailtrt-engines")
}

// resolveModel finds the manifest: as given, else next to the binary (../engines), so
// an installed binary finds its bundled model from any working directory.
func resolveModel(p string) string {
	if _, err := os.Stat(p); err == nil || filepath.IsAbs(p) {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		alt := filepath.Join(filepath.Dir(exe), "..", p)
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return p
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

func isBool(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
