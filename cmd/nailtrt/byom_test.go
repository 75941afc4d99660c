package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's "Bring your own model" worked example runs as written (the fixture models
// are committed, so the line that makes them again is left out; the render's output goes
// to a temporary folder) and prints what the README shows.
func TestBringYourOwnModelExample(t *testing.T) {
	root, script := readmeShell(t, "## Bring your own model")
	bin := nailtrtBinary(t)
	dir := t.TempDir()
	ran := 0
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.Contains(line, "make_fixtures.py") {
			continue
		}
		require.True(t, strings.HasPrefix(line, "bin/nailtrt "), "a nailtrt command: %s", line)
		if i := strings.Index(line, " #"); i > 0 {
			line = line[:i]
		}
		args := strings.Fields(strings.TrimPrefix(line, "bin/nailtrt "))
		for i, a := range args {
			if strings.HasPrefix(a, "/tmp/") {
				args[i] = filepath.Join(dir, strings.TrimPrefix(a, "/tmp/"))
			}
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "NAILTRT_BACKEND=onnxruntime")
		out, err := cmd.Output()
		require.NoError(t, err, line)
		switch args[0] {
		case "info":
			assert.Contains(t, string(out), "input image float32[-1,3,64,64]")
			assert.Contains(t, string(out), "output output0 float32[-1,37,6]")
		case "segment":
			assert.Contains(t, string(out), `"nails":[{"id":1,"score":0.9,"polygon":[67,67,149,67,149,149,67,149],"box":[67,67,149,149],"area":6724,"class":"nail"},{"id":2,"score":0.7,`)
			assert.Contains(t, string(out), `"model":"fixture-yolo@0.0.1"`)
		}
		ran++
	}
	assert.Equal(t, 3, ran, "info, segment and render")
	_, err := os.Stat(filepath.Join(dir, "fixture.jpg"))
	assert.NoError(t, err, "render wrote its photo")
}
