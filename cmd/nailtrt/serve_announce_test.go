package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve says where to open the page once it can answer (make run printed only log lines
// and never the URL): "nailtrt: open http://127.0.0.1:PORT", after which /readyz is 200.
func TestServeSaysWhereToOpen(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	port := freePort(t)
	cmd := exec.Command(nailtrtBinary(t), "serve", "--backend", "onnxruntime", "--threads", "1")
	cmd.Env = append(os.Environ(), "NAILTRT_ADDR=127.0.0.1:"+port, "NAILTRT_MODEL="+filepath.Join(root, "engines", "nailseg.json"),
		"NAILTRT_LOG_FORMAT=text")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	want := "nailtrt: open http://127.0.0.1:" + port
	deadline := time.After(time.Minute)
	for found := false; !found; {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "serve exited before saying where to open")
			found = l == want
		case <-deadline:
			t.Fatalf("no %q within a minute", want)
		}
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "announced once ready")
	go func() {
		for range lines { // drain, so serve never blocks on a full pipe
		}
	}()
}

func TestOpenURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080": "http://127.0.0.1:8080", "[::]:8080": "http://127.0.0.1:8080",
		"127.0.0.1:9000": "http://127.0.0.1:9000", "192.168.1.5:80": "http://192.168.1.5:80", "[::1]:8080": "http://[::1]:8080",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		assert.Equal(t, want, openURL(a), addr)
		assert.True(t, strings.HasPrefix(openURL(a), "http://"))
	}
}
