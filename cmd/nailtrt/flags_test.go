package main

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/server"
)

func TestFlagsReadEnvironment(t *testing.T) {
	t.Setenv("NAILTRT_ADDR", ":9999")
	t.Setenv("NAILTRT_CACHE_TTL", "90s")
	t.Setenv("NAILTRT_LAZY", "true")
	f := newFlags("serve", "")
	addr := f.String("addr", "NAILTRT_ADDR", ":8080", "listen address")
	ttl := f.Duration("cache-ttl", "NAILTRT_CACHE_TTL", time.Minute, "ttl")
	lazy := f.Bool("lazy", "NAILTRT_LAZY", false, "lazy")
	size := f.Int("cache-size", "NAILTRT_CACHE_SIZE", 100, "size")
	require.NoError(t, f.parse([]string{"--cache-size", "7"}))
	assert.Equal(t, ":9999", *addr, "environment sets the default")
	assert.Equal(t, 90*time.Second, *ttl)
	assert.True(t, *lazy)
	assert.Equal(t, 7, *size, "a flag beats the default")

	f2 := newFlags("serve", "")
	addr2 := f2.String("addr", "NAILTRT_ADDR", ":8080", "listen address")
	require.NoError(t, f2.parse([]string{"--addr", ":1234"}))
	assert.Equal(t, ":1234", *addr2, "a flag beats the environment")
}

func TestFlagsRejectBadEnvironment(t *testing.T) {
	t.Setenv("NAILTRT_CACHE_SIZE", "lots")
	f := newFlags("serve", "")
	f.Int("cache-size", "NAILTRT_CACHE_SIZE", 100, "size")
	err := f.parse(nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `NAILTRT_CACHE_SIZE="lots"`)
}

func TestHelpNamesEveryVariable(t *testing.T) {
	f := newFlags("serve", "")
	addModelFlags(f)
	f.String("addr", "NAILTRT_ADDR", ":8080", "listen address")
	var buf bytes.Buffer
	f.fs.SetOutput(&buf)
	f.fs.PrintDefaults()
	for _, env := range []string{"NAILTRT_ADDR", "NAILTRT_MODEL", "NAILTRT_BACKEND", "NAILTRT_THREADS", "NAILTRT_CONTEXTS"} {
		assert.Contains(t, buf.String(), env)
	}
	assert.ErrorIs(t, newFlags("x", "").parse([]string{"--help"}), errHelp, "asked for: stdout, exit 0")
	_ = os.Stderr
}

func TestFlagsAfterPositionalArguments(t *testing.T) {
	f := newFlags("render", "IMAGE")
	mat := f.String("material", "NAILTRT_MATERIAL", "", "material")
	list := f.fs.Bool("list", false, "list")
	require.NoError(t, f.parse([]string{"photo.jpg", "--material", "matte_black", "--list"}))
	assert.Equal(t, "matte_black", *mat)
	assert.True(t, *list)
	assert.Equal(t, []string{"photo.jpg"}, f.fs.Args())
	g := newFlags("segment", "IMAGE")
	mask := g.String("mask", "NAILTRT_MASK", "polygon", "mask")
	require.NoError(t, g.parse([]string{"--mask=rle", "a.jpg", "--", "-odd-name.jpg"}))
	assert.Equal(t, "rle", *mask)
	assert.Equal(t, []string{"a.jpg", "-odd-name.jpg"}, g.fs.Args())
}

// A zero that the Config would silently replace by its default is refused, naming the
// option and the default; a zero that is the default (--threads 0, automatic) and a
// false boolean are values, and pass.
func TestZeroThatMeansUnsetIsRefused(t *testing.T) {
	f := newFlags("serve", "")
	var model segment.Config
	var cfg server.Config
	var set serveSettings
	f.add(serveOptions(&model, &cfg, &set)...)
	err := f.parse([]string{"--max-queue", "0", "--threads", "0", "--lazy=false"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--max-queue 0: this setting cannot be 0")
	assert.Contains(t, err.Error(), "its default, 64")
	assert.NotContains(t, err.Error(), "threads")
	assert.NotContains(t, err.Error(), "lazy")

	t.Setenv("NAILTRT_REDIS_TIMEOUT", "0s")
	f = newFlags("serve", "")
	f.add(serveOptions(&segment.Config{}, &server.Config{}, &serveSettings{})...)
	err = f.parse(nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NAILTRT_REDIS_TIMEOUT=0s: this setting cannot be 0s")

	t.Setenv("NAILTRT_REDIS_TIMEOUT", "")
	cfg = server.Config{}
	f = newFlags("serve", "")
	f.add(serveOptions(&segment.Config{}, &cfg, &serveSettings{})...)
	require.NoError(t, f.parse([]string{"--max-queue", "3"}))
	assert.Equal(t, 3, cfg.MaxQueue)
}
