package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `make run` as the README's first command (issue 33): it says where to open the page,
// without make's directory noise, and listens on loopback only unless NAILTRT_ADDR says
// otherwise (it used to print ~40 lines, never the URL, and listen on every interface).
func TestMakeRunServesOnLoopbackQuietly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make run")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	if ln, err := net.Listen("tcp", ":8080"); err != nil {
		t.Skipf("port 8080, make run's default, is taken here: %v", err)
	} else {
		ln.Close()
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	cmd := exec.Command("make", "-C", root, "--no-print-directory", "run")
	// The default address is what is under test; MAKEFLAGS from an enclosing make test
	// would tie this make to its job server.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "NAILTRT_ADDR=") || strings.HasPrefix(kv, "MAKEFLAGS=") ||
			strings.HasPrefix(kv, "MFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=")
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // make, its shell and the server
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	const want = "nailtrt: open http://127.0.0.1:8080"
	var before []string
	deadline := time.After(5 * time.Minute) // a build first, if the tree has changed
	for found := false; !found; {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "make run ended before saying where to open; it printed:\n%s", strings.Join(before, "\n"))
			found = l == want
			if !found {
				before = append(before, l)
			}
		case <-deadline:
			t.Fatalf("no %q within 5 minutes; make run printed:\n%s", want, strings.Join(before, "\n"))
		}
	}
	go func() {
		for range lines { // drain, so the server never blocks on a full pipe
		}
	}()
	for _, l := range before {
		assert.NotRegexp(t, `^g?make\[\d+\]: (Entering|Leaving) directory`, l)
	}
	assert.LessOrEqual(t, len(before), 15, "make run is quiet until it says where to open:\n%s", strings.Join(before, "\n"))

	resp, err := http.Get("http://127.0.0.1:8080/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	// Not on the machine's other addresses.
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	tried := 0
	for _, a := range addrs {
		ip, ok := a.(*net.IPNet)
		if !ok || ip.IP.IsLoopback() || ip.IP.IsLinkLocalUnicast() {
			continue
		}
		tried++
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.IP.String(), "8080"), time.Second)
		if err == nil {
			c.Close()
		}
		assert.Error(t, err, "make run answers on %s: it must listen on loopback only", ip.IP)
	}
	t.Logf("%d lines before the address; %d non-loopback addresses refused", len(before), tried)
}
