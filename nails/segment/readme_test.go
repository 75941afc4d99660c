package segment_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeGoExampleFromAnotherModule runs the README's "Use it from Go" as a new user
// would: a new module outside the tree, require + replace onto this checkout, the
// program exactly as printed, the shipped example photo, from an unrelated directory.
func TestReadmeGoExampleFromAnotherModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	section := string(readme)[strings.Index(string(readme), "## Use it from Go"):]
	program := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(section)
	require.NotNil(t, program, "the README's Go example")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program[1]), 0o644))
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		// GOFLAGS=-mod=mod: this module resolves its own requirements, as a new one does.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v: %s", name, args, out)
		return string(out)
	}
	run("go", "mod", "init", "example.com/tryon")
	run("go", "mod", "edit", "-require", "github.com/nailtrt/nailtrt@v0.0.0", "-replace", "github.com/nailtrt/nailtrt="+root)
	run("go", "mod", "tidy")
	out := run("go", "run", ".", filepath.Join(root, "docs", "examples", "hand.jpg"))
	assert.Regexp(t, `^\d+ nails -> painted.jpg`, out)
	assert.NotRegexp(t, `^0 nails`, out)
	_, err = os.Stat(filepath.Join(dir, "painted.jpg"))
	assert.NoError(t, err)
}
