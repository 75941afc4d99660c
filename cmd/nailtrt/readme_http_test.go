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
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	section := string(readme)[strings.Index(string(readme), "## Use it over HTTP"):]
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section)
	require.NotNil(t, block)

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

	dir := t.TempDir()
	script := strings.ReplaceAll(block[1], "localhost:8080", "127.0.0.1:"+port)
	// Outputs (-o gold.jpg) land in a temporary folder; the photo path stays as written.
	script = strings.ReplaceAll(script, "-o ", "-o "+dir+"/")
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
