package main

import (
	"image/jpeg"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeHTTPExamples runs the README's curl examples as written, from the repository
// root, against `nailtrt serve` (only the port differs: a free one instead of 8080).
func TestReadmeHTTPExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	root, script := readmeShell(t, "## Use it over HTTP")

	port := freePort(t)
	serve := exec.Command(nailtrtBinary(t), "serve", "--addr", "127.0.0.1:"+port, "--backend", "onnxruntime")
	require.NoError(t, serve.Start())
	defer func() { _ = serve.Process.Kill(); _ = serve.Wait() }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://127.0.0.1:" + port + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 10*time.Millisecond)

	// The examples write their outputs to /tmp, never into the clone (they wrote gold.jpg
	// and blue.jpg into the repository root); here /tmp is a temporary folder.
	outputs := regexp.MustCompile(`-o (\S+)`).FindAllStringSubmatch(script, -1)
	require.NotEmpty(t, outputs)
	for _, o := range outputs {
		assert.True(t, strings.HasPrefix(o[1], "/tmp/"), "README curl example writes %s: use /tmp", o[1])
	}
	dir := t.TempDir()
	script = strings.ReplaceAll(script, "localhost:8080", "127.0.0.1:"+port)
	script = strings.ReplaceAll(script, "-o /tmp/", "-o "+dir+"/")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", "set -x\n"+script)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `"nails":\[\{"id":1,"score":`, string(out), "segment prints the nails")
	for _, name := range []string{"gold.jpg", "blue.jpg"} {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err, name)
		_, err = jpeg.Decode(f)
		f.Close()
		assert.NoError(t, err, name)
	}
}

// readmeShell returns the repository root and the first sh block of the README section
// that starts with heading: the commands a reader copies, which tests run as written.
func readmeShell(t *testing.T, heading string) (root, script string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	i := strings.Index(string(readme), heading)
	require.GreaterOrEqual(t, i, 0, "README.md has no %q", heading)
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(string(readme)[i:])
	require.NotNil(t, block, "no sh block under %q", heading)
	return root, block[1]
}
