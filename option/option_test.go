package option

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValuesParseAndPrint(t *testing.T) {
	var (
		s     string
		l     []string
		i     int
		i64   int64
		b64   int64
		f     float64
		b     bool
		not   bool
		d     time.Duration
		cases = []struct {
			v        Value
			in, want string
		}{
			{String(&s), " keep spaces ", " keep spaces "},
			{List(&l), " a, b ,,c ", "a,b,c"},
			{Int(&i), " 42", "42"},
			{Int64(&i64), "-7", "-7"},
			{Bytes(&b64), "268435456", "256MiB"},
			{Bytes(&b64), "256 MiB", "256MiB"},
			{Bytes(&b64), "20MB", "20000000"},
			{Bytes(&b64), "1.5GiB", "1536MiB"},
			{Bytes(&b64), "1kb", "1000"},
			{Float(&f), "-1", "-1"},
			{Float(&f), "0.25", "0.25"},
			{Bool(&b), "true", "true"},
			{Not(&not), "false", "false"},
			{Duration(&d), "1500us", "1.5ms"},
		}
	)
	for _, c := range cases {
		require.NoError(t, c.v.Set(c.in), c.in)
		assert.Equal(t, c.want, c.v.String(), c.in)
	}
	assert.True(t, not, "Not stores the opposite of what it is set to")
	assert.Equal(t, int64(1000), b64)
}

func TestValuesRefuseWithAHint(t *testing.T) {
	var (
		i   int
		b64 int64
		f   float64
		b   bool
		d   time.Duration
	)
	for _, c := range []struct {
		v    Value
		in   string
		hint string
	}{
		{Int(&i), "3.5", "not an integer"},
		{Int(&i), "99999999999999999999999", "not an integer"},
		{Bytes(&b64), "-1MiB", "256MiB"},
		{Bytes(&b64), "12 parsecs", "byte count"},
		{Bytes(&b64), "1e30GiB", "byte count"},
		{Float(&f), "NaN", "not a number"},
		{Bool(&b), "yes please", "true or false"},
		{Duration(&d), "5", `write 5s`},
		{Duration(&d), "soon", "30s, 5m"},
	} {
		err := c.v.Set(c.in)
		require.Error(t, err, c.in)
		assert.Contains(t, err.Error(), c.hint, c.in)
	}
}

func TestApplyDefaultsFillsOnlyUnsetFields(t *testing.T) {
	var (
		size, set int
		tol       float64 = -1
		ui        bool
		name      string
	)
	set = 7
	opts := []Option{
		{Flag: "size", Default: "100", Value: Int(&size)},
		{Flag: "set", Default: "100", Value: Int(&set)},
		{Flag: "tol", Default: "1", Value: Float(&tol)},
		{Flag: "ui", Default: "true", Value: Not(&ui)},
		{Flag: "name", Value: String(&name)},
	}
	require.NoError(t, ApplyDefaults(opts))
	assert.Equal(t, 100, size)
	assert.Equal(t, 7, set, "a set field keeps its value")
	assert.Equal(t, -1.0, tol, "a negative float is a value, not unset")
	assert.False(t, ui, "Not's default true leaves the field false")
	assert.Empty(t, name)

	bad := []Option{{Flag: "broken", Default: "ten", Value: Int(new(int))}}
	err := ApplyDefaults(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--broken")
}

func TestMarkdownEscapesAndNamesDefaults(t *testing.T) {
	md := Markdown([]Option{
		{Flag: "cors", Env: "NAILTRT_CORS", Help: "origins a|b", Value: List(new([]string))},
		{Env: "NAILTRT_SECRET", Help: "a secret", Value: String(new(string))},
		{Flag: "model", Env: "NAILTRT_MODEL", DefaultDoc: "the bundled model", Help: "m", Value: String(new(string))},
		{Flag: "n", Env: "NAILTRT_N", Default: "2", Help: "n", Value: Int(new(int))},
	})
	lines := strings.Split(strings.TrimSpace(md), "\n")
	require.Len(t, lines, 6)
	assert.Equal(t, "| `NAILTRT_CORS` | `--cors` | unset | origins a\\|b |", lines[2])
	assert.Equal(t, "| `NAILTRT_SECRET` | (none) | unset | a secret |", lines[3])
	assert.Equal(t, "| `NAILTRT_MODEL` | `--model` | the bundled model | m |", lines[4])
	assert.Equal(t, "| `NAILTRT_N` | `--n` | `2` | n |", lines[5])
	o, ok := Lookup([]Option{{Flag: "n", Env: "NAILTRT_N"}}, "NAILTRT_N")
	assert.True(t, ok)
	assert.Equal(t, "n", o.Flag)
}
