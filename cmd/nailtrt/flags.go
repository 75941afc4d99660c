package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nailtrt/nailtrt/internal/textdist"
)

// errUsage: the usage was printed after a mistake (exit 2); errHelp: it was asked for
// (--help: printed on stdout, exit 0).
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

// aliases are option names people try that mean another option.
var aliases = map[string]string{"port": "addr", "listen": "addr", "host": "addr", "colour": "color", "output": "o", "out": "o"}

// flags is a FlagSet whose every option also reads a NAILTRT_* variable: the
// variable sets the default, a flag on the command line overrides it. Bad values in
// the environment are reported, not ignored.
type flags struct {
	fs      *flag.FlagSet
	errs    []error
	fromEnv map[string]bool // options whose NAILTRT_* variable was set
}

func newFlags(name, args string) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError), fromEnv: map[string]bool{}}
	f.fs.Usage = func() {
		fmt.Fprintf(f.fs.Output(), "usage: nailtrt %s [options] %s\n\noptions (flag, then environment variable):\n", name, args)
		f.fs.PrintDefaults()
	}
	// parse reports errors itself, with a suggestion, instead of the whole usage.
	f.fs.SetOutput(io.Discard)
	return f
}

// usage prints the options on stderr (after a mistake) or stdout (asked for).
func (f *flags) usage(w io.Writer) {
	f.fs.SetOutput(w)
	f.fs.Usage()
	f.fs.SetOutput(io.Discard)
}

// explain turns the flag package's parse errors into ones that say what to do.
func (f *flags) explain(err error) error {
	unknown, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return fmt.Errorf("%v (nailtrt %s --help lists the options)", err, f.fs.Name())
	}
	var names []string
	f.fs.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
	near := aliases[unknown]
	if f.fs.Lookup(near) == nil {
		near = textdist.Nearest(unknown, names)
	}
	if near != "" {
		return fmt.Errorf("unknown option --%s: did you mean --%s? (nailtrt %s --help lists the options)", unknown, near, f.fs.Name())
	}
	return fmt.Errorf("unknown option --%s (nailtrt %s --help lists the options)", unknown, f.fs.Name())
}

// isSet reports whether the option was given on the command line or by its variable.
func (f *flags) isSet(name string) bool {
	given := false
	f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given || f.fromEnv[name]
}

// lookup reads option name's variable env, remembering that it was set.
func (f *flags) lookup(name, env string) (string, bool) {
	v, ok := f.env(env)
	f.fromEnv[name] = ok
	return v, ok
}

func (f *flags) env(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

func (f *flags) String(name, env, def, usage string) *string {
	if v, ok := f.lookup(name, env); ok {
		def = v
	}
	return f.fs.String(name, def, usage+" ["+env+"]")
}

func (f *flags) Int(name, env string, def int, usage string) *int {
	if v, ok := f.lookup(name, env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not an integer", env, v))
		}
		def = n
	}
	return f.fs.Int(name, def, usage+" ["+env+"]")
}

func (f *flags) Int64(name, env string, def int64, usage string) *int64 {
	if v, ok := f.lookup(name, env); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not an integer", env, v))
		}
		def = n
	}
	return f.fs.Int64(name, def, usage+" ["+env+"]")
}

func (f *flags) Float64(name, env string, def float64, usage string) *float64 {
	if v, ok := f.lookup(name, env); ok {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not a number", env, v))
		}
		def = x
	}
	return f.fs.Float64(name, def, usage+" ["+env+"]")
}

func (f *flags) Bool(name, env string, def bool, usage string) *bool {
	if v, ok := f.lookup(name, env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not a boolean", env, v))
		}
		def = b
	}
	return f.fs.Bool(name, def, usage+" ["+env+"]")
}

func (f *flags) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	if v, ok := f.lookup(name, env); ok {
		d, err := parseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s: %w", env, err))
		}
		def = d
	}
	d := durationValue(def)
	f.fs.Var(&d, name, usage+" ["+env+"]")
	return (*time.Duration)(&d)
}

// parseDuration is time.ParseDuration with an error that shows how to write one: a bare
// number is the commonest mistake ("5" for five seconds).
func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil {
		return d, nil
	}
	if _, numErr := strconv.ParseFloat(v, 64); numErr == nil {
		return 0, fmt.Errorf("%q has no unit: write %ss (or %sms, %sm)", v, v, v, v)
	}
	return 0, fmt.Errorf("%q is not a duration: write it like 30s, 5m or 1h30m", v)
}

// durationValue is a flag.Value for durations with parseDuration's errors.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	*d = durationValue(v)
	return err
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

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
			f.usage(os.Stdout)
			return errHelp
		}
		return f.explain(err)
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
		model:    f.String("model", "NAILTRT_MODEL", "", "model manifest (JSON); unset: the bundled nailseg model, built into the binary"),
		backend:  f.String("backend", "NAILTRT_BACKEND", "auto", "auto, onnxruntime or tensorrt"),
		cacheDir: f.String("cache-dir", "NAILTRT_ENGINE_CACHE", defaultCacheDir(), "TensorRT plan cache folder"),
		threads:  f.Int("threads", "NAILTRT_THREADS", 0, "ONNX Runtime threads per inference (0 = automatic: every core for a request alone, cores / contexts under load)"),
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
	if p == "" {
		return "" // the bundled model
	}
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
