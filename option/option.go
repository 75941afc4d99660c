package option

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Value is a Config field seen as a flag: flag.Value plus whether it is unset.
type Value interface {
	flag.Value
	// IsZero reports that the field holds its zero value, which stands for the default.
	IsZero() bool
}

// Option is one setting.
type Option struct {
	Flag    string // command-line name without dashes; "" for a variable with no flag (a secret)
	Env     string // its NAILTRT_* variable; "" for none
	Default string // in the syntax Value.Set accepts; "" is the zero value
	// DefaultDoc is how the docs show a default that is computed at run time or that
	// Default alone would misstate ("the bundled model"); "" shows Default.
	DefaultDoc string
	Help       string
	Value      Value
}

// ApplyDefaults sets every option still at its zero value to its default. Defaults are
// written in code, so an error here is a bug in an option table (tests hold them).
func ApplyDefaults(opts []Option) error {
	var errs []error
	for _, o := range opts {
		if o.Default == "" || !o.Value.IsZero() {
			continue
		}
		if err := o.Value.Set(o.Default); err != nil {
			errs = append(errs, fmt.Errorf("option %s: default %q: %w", o.name(), o.Default, err))
		}
	}
	return errors.Join(errs...)
}

// Lookup finds an option by flag name or variable.
func Lookup(opts []Option, name string) (Option, bool) {
	for _, o := range opts {
		if name != "" && (o.Flag == name || o.Env == name) {
			return o, true
		}
	}
	return Option{}, false
}

func (o Option) name() string {
	if o.Flag != "" {
		return "--" + o.Flag
	}
	return o.Env
}

// Markdown renders the options as a table (variable, flag, default, meaning): the
// README's option table is this output, checked by a test.
func Markdown(opts []Option) string {
	var b strings.Builder
	b.WriteString("| variable | flag | default | what it sets |\n| --- | --- | --- | --- |\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + s + "`"
	}
	for _, o := range opts {
		def := code(o.Default)
		if o.DefaultDoc != "" {
			def = cell(o.DefaultDoc)
		} else if def == "" {
			def = "unset"
		}
		flagName := "(none)"
		if o.Flag != "" {
			flagName = code("--" + o.Flag)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code(o.Env), flagName, def, cell(o.Help))
	}
	return b.String()
}
