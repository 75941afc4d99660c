package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/option"
	"github.com/nailtrt/nailtrt/server"
)

var updateREADME = flag.Bool("update", false, "rewrite the README's option table from the option list")

const (
	tableBegin = "<!-- options:begin (generated from the option list: go test ./cmd/nailtrt -run TestREADMEOptionTable -update) -->\n"
	tableEnd   = "<!-- options:end -->"
)

// The README's option table is the option list rendered (option.Markdown): a default,
// variable or help text changed in code and not in the README fails here.
func TestREADMEOptionTable(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	require.True(t, i >= 0 && j > i, "README.md lacks the option table markers %q ... %q", tableBegin, tableEnd)
	want := option.Markdown(serveOptions(&segment.Config{}, &server.Config{}, &serveSettings{}))
	got := readme[i+len(tableBegin) : j]
	if *updateREADME {
		require.NoError(t, os.WriteFile(path, []byte(readme[:i+len(tableBegin)]+want+readme[j:]), 0o644))
		return
	}
	assert.Equal(t, want, got, "README.md's option table differs from the code: run go test ./cmd/nailtrt -run TestREADMEOptionTable -update")
}

// Every option is well formed: a unique flag and variable, help, and a default its own
// type parses, printed as --help shows it and parsed again to the same value.
func TestOptionTable(t *testing.T) {
	opts := serveOptions(&segment.Config{}, &server.Config{}, &serveSettings{})
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, o := range opts {
		name := o.Flag + o.Env
		assert.NotEmpty(t, o.Help, name)
		assert.True(t, strings.HasPrefix(o.Env, "NAILTRT_"), "%s: variable %q", name, o.Env)
		assert.False(t, envs[o.Env], "variable %s twice", o.Env)
		envs[o.Env] = true
		if o.Flag != "" {
			assert.False(t, flags[o.Flag], "flag %s twice", o.Flag)
			flags[o.Flag] = true
		}
		if o.Default != "" {
			require.NoError(t, o.Value.Set(o.Default), name)
			printed := o.Value.String() // what --help shows: it must mean the same
			require.NoError(t, o.Value.Set(printed), name)
			assert.Equal(t, printed, o.Value.String(), "%s: the default does not survive printing", name)
		}
	}
	// The zero Config takes the same defaults as the command does.
	var cfg server.Config
	require.NoError(t, option.ApplyDefaults(cfg.Options()))
	assert.Equal(t, int64(256<<20), cfg.CacheBytes)
	assert.Equal(t, ":8080", cfg.Addr)
	assert.False(t, cfg.DisableUI)
}

// The server's fallback for NAILTRT_CONTEXTS (a library user's server.Config{}) is the
// runtime's default, which nailtrt serve passes on: one number, written twice, held equal.
func TestServerContextsDefaultIsTheRuntimes(t *testing.T) {
	var model segment.Config
	require.NoError(t, option.ApplyDefaults(model.Options()))
	assert.Equal(t, model.Contexts, server.DefaultContexts)
}
