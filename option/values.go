package option

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// String binds a text field.
func String(p *string) Value { return (*stringValue)(p) }

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) IsZero() bool       { return *v == "" }

// List binds a comma-separated list; blanks around items and empty items are dropped.
func List(p *[]string) Value { return (*listValue)(p) }

type listValue []string

func (v *listValue) Set(s string) error {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	*v = out
	return nil
}
func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) IsZero() bool   { return len(*v) == 0 }

// Int binds an integer; 0 or less is unset.
func Int(p *int) Value { return (*intValue)(p) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) IsZero() bool   { return *v <= 0 }

// Int64 binds a 64-bit integer; 0 or less is unset.
func Int64(p *int64) Value { return (*int64Value)(p) }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) IsZero() bool   { return *v <= 0 }

// Bytes binds a byte count written as an integer with an optional unit (B, KB, MB, GB,
// KiB, MiB, GiB; case-insensitive): 268435456, 256MiB and 256 MiB are the same.
func Bytes(p *int64) Value { return (*bytesValue)(p) }

type bytesValue int64

var byteUnits = []struct {
	suffix string
	scale  int64
}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"b", 1}}

func (v *bytesValue) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	scale := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, scale = strings.TrimSpace(num), u.scale
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || n*float64(scale) > math.MaxInt64/2 {
		return errors.New("not a byte count: write it like 268435456, 256MiB or 1GB")
	}
	*v = bytesValue(n * float64(scale))
	return nil
}

func (v *bytesValue) String() string {
	n := int64(*v)
	for _, u := range []struct {
		suffix string
		scale  int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.scale && n%u.scale == 0 {
			return strconv.FormatInt(n/u.scale, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
func (v *bytesValue) IsZero() bool { return *v <= 0 }

// Float binds a number; only 0 is unset, since a negative value may mean something
// (a negative polygon tolerance keeps every corner).
func Float(p *float64) Value { return (*floatValue)(p) }

type floatValue float64

func (v *floatValue) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return errors.New("not a number")
	}
	*v = floatValue(x)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) IsZero() bool   { return *v == 0 }

// Bool binds a boolean whose default is false.
func Bool(p *bool) Value { return (*boolValue)(p) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a boolean: write true or false")
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsZero() bool     { return !bool(*v) }
func (v *boolValue) IsBoolFlag() bool { return true }

// Not binds a boolean option to a field holding its opposite, so the field's zero
// value (false) is the option's default (true): option "ui" sets DisableUI.
func Not(p *bool) Value { return (*notValue)(p) }

type notValue bool

func (v *notValue) Set(s string) error {
	var b boolValue
	if err := b.Set(s); err != nil {
		return err
	}
	*v = notValue(!b)
	return nil
}
func (v *notValue) String() string   { return strconv.FormatBool(!bool(*v)) }
func (v *notValue) IsZero() bool     { return !bool(*v) }
func (v *notValue) IsBoolFlag() bool { return true }

// Duration binds a duration written with its unit (30s, 5m, 1ms); 0 or less is unset.
func Duration(p *time.Duration) Value { return (*durationValue)(p) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := ParseDuration(strings.TrimSpace(s))
	*v = durationValue(d)
	return err
}
func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) IsZero() bool   { return *v <= 0 }

// ParseDuration is time.ParseDuration with an error that shows how to write one: a
// bare number is the commonest mistake ("5" for five seconds). Errors do not repeat
// the value: the flag package and the environment reader show it.
func ParseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil {
		return d, nil
	}
	if _, numErr := strconv.ParseFloat(v, 64); numErr == nil {
		return 0, fmt.Errorf("no unit: write %ss (or %sms, %sm)", v, v, v)
	}
	return 0, errors.New("not a duration: write it like 30s, 5m or 1h30m")
}
