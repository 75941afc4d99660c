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
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/option"
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
	opts    []option.Option // every option added, for checks after parsing
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
	return f.onCommandLine(name) || f.fromEnv[name]
}

// onCommandLine reports whether the option was given as a flag (not by its variable).
func (f *flags) onCommandLine(name string) bool {
	given := false
	f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given
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

// add registers opts as flags: each starts at its default, its NAILTRT_* variable
// (when set) replaces that, and the command line replaces both. A bad value in the
// environment is reported by parse, naming the variable. An option without a flag
// (a secret) is read from its variable only.
func (f *flags) add(opts ...option.Option) {
	if err := option.ApplyDefaults(opts); err != nil {
		panic(err) // a default written in code that its own type refuses: a bug
	}
	f.opts = append(f.opts, opts...)
	for _, o := range opts {
		if v, ok := f.lookup(o.Flag, o.Env); ok {
			if err := o.Value.Set(v); err != nil {
				f.errs = append(f.errs, fmt.Errorf("%s=%q: %w", o.Env, v, err))
			}
		}
		if o.Flag == "" {
			continue
		}
		usage := o.Help
		if o.Env != "" {
			usage += " [" + o.Env + "]"
		}
		f.fs.Var(o.Value, o.Flag, usage)
	}
}

// The typed helpers register one option of a command's own (its result is where the
// value lands); the model's and the server's options come from their Config.Options.
func (f *flags) String(name, env, def, usage string) *string {
	p := new(string)
	f.add(option.Option{Flag: name, Env: env, Default: def, Help: usage, Value: option.String(p)})
	return p
}

func (f *flags) Int(name, env string, def int, usage string) *int {
	p := new(int)
	f.add(option.Option{Flag: name, Env: env, Default: strconv.Itoa(def), Help: usage, Value: option.Int(p)})
	return p
}

func (f *flags) Float64(name, env string, def float64, usage string) *float64 {
	p := new(float64)
	f.add(option.Option{Flag: name, Env: env, Default: strconv.FormatFloat(def, 'g', -1, 64), Help: usage, Value: option.Float(p)})
	return p
}

func (f *flags) Bool(name, env string, def bool, usage string) *bool {
	p := new(bool)
	f.add(option.Option{Flag: name, Env: env, Default: strconv.FormatBool(def), Help: usage, Value: option.Bool(p)})
	return p
}

func (f *flags) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	f.add(option.Option{Flag: name, Env: env, Default: def.String(), Help: usage, Value: option.Duration(p)})
	return p
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
			f.usage(os.Stdout)
			return errHelp
		}
		return f.explain(err)
	}
	return errors.Join(append(f.errs, f.zeroes()...)...)
}

func isBoolValue(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// zeroes refuses a value given on the command line or in the environment that the
// option's field holds as "unset" (0, or less, for counts, sizes and durations) when
// unset means a non-zero default: the Config would silently take the default instead
// (--max-queue 0 became 64). Where unset means zero anyway (--threads 0, automatic) the
// value is kept.
func (f *flags) zeroes() []error {
	var errs []error
	for _, o := range f.opts {
		if o.Flag == "" || o.Default == "" || isBoolValue(o.Value) || !o.Value.IsZero() || !f.isSet(o.Flag) {
			continue // secrets (no flag) are text, and false is a boolean's value, not "unset"
		}
		given := o.Value.String()
		if err := o.Value.Set(o.Default); err != nil || o.Value.IsZero() {
			_ = o.Value.Set(given) // the default is zero too: what was given stands
			continue
		}
		name := "--" + o.Flag + " " + given
		if !f.onCommandLine(o.Flag) {
			name = o.Env + "=" + given
		}
		errs = append(errs, fmt.Errorf("%s: this setting cannot be %s (that value means unset, which is its default, %s); "+
			"give a positive value (nailtrt %s --help)", name, given, o.Default, f.fs.Name()))
	}
	return errs
}

// addModelFlags registers the model's options (segment.Config.Options) into a Config
// that parse fills; every command that loads the model shares them.
func addModelFlags(f *flags) *segment.Config {
	cfg := new(segment.Config)
	f.add(cfg.Options()...)
	return cfg
}

// resolveModel finds the manifest: as given, else next to the binary (../engines), so
// an installed binary finds its bundled model from any working directory.
func resolveModel(p string) string {
	if p == "" || strings.HasPrefix(p, segment.BuiltinPrefix) {
		return p // a bundled model
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
