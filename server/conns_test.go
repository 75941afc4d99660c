package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveLoopback runs s.Serve on a loopback listener until the test ends (Serve closes s).
func serveLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := netListen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return s.conns.Load() != nil }, 10*time.Second, time.Millisecond)
	return ln.Addr().String()
}

// idleConn is a keep-alive connection that has had one answer and sent nothing since.
func idleConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = fmt.Fprint(conn, "GET /api/materials HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.False(t, resp.Close)
	return conn
}

// get fetches path on a new connection, failing rather than waiting for ever.
func get(t *testing.T, addr, path string) (*http.Response, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + path)
	require.NoError(t, err, "GET %s: no answer", path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// With NAILTRT_MAX_CONNS=20, 20 idle keep-alive clients made /healthz time out. At the
// cap, the longest-idle connection is closed to admit a new one.
func TestIdleConnsMakeWayForNewOnes(t *testing.T) {
	const maxConns = 4
	s := New(Config{Lazy: true, MaxConns: maxConns, ShutdownTimeout: 2 * time.Second}, fixtureLoader,
		Options{Logger: quietLogger()})
	addr := serveLoopback(t, s)
	var idle []net.Conn
	for range maxConns {
		idle = append(idle, idleConn(t, addr))
	}
	require.Eventually(t, func() bool { _, n := s.conns.Load().counts(); return n == maxConns }, 10*time.Second, time.Millisecond)

	for _, path := range []string{"/api/materials", "/healthz", "/api/materials"} {
		resp, _ := get(t, addr, path)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		open, _ := s.conns.Load().counts()
		assert.LessOrEqual(t, open, maxConns, "the cap holds")
	}
	assert.Positive(t, s.conns.Load().reclaimed.Load())
	var closed atomic.Int32
	for _, c := range idle {
		go func() { // the others end when the test closes them
			if _, err := c.Read(make([]byte, 1)); err == io.EOF {
				closed.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return closed.Load() > 0 }, 10*time.Second, time.Millisecond,
		"an idle connection was closed to make room")
}

// While every connection under the cap is busy, the probes still answer (on a spare
// connection, closed after its answer), and other requests get a 503 at once.
func TestProbesAnswerWhenEveryConnIsBusy(t *testing.T) {
	const maxConns = 2
	s := New(Config{Lazy: true, MaxConns: maxConns, BodyStallTimeout: time.Minute, ShutdownTimeout: 2 * time.Second},
		fixtureLoader, Options{Logger: quietLogger()})
	addr := serveLoopback(t, s)
	var busy []net.Conn
	for range maxConns {
		busy = append(busy, stalledUpload(t, addr, false, 1<<20))
	}
	require.Eventually(t, func() bool { return inFlight(s) == maxConns }, 10*time.Second, time.Millisecond)

	for range spareConns + 2 { // spare connections are given back after each answer
		resp, _ := get(t, addr, "/healthz")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.True(t, resp.Close, "a spare connection serves one request")
	}
	resp, b := get(t, addr, "/api/materials")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(b), "NAILTRT_MAX_CONNS")

	for _, c := range busy {
		_ = c.Close()
	}
	require.Eventually(t, func() bool { open, _ := s.conns.Load().counts(); return open == 0 }, 10*time.Second, time.Millisecond)
	resp, _ = get(t, addr, "/api/materials")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "served again once the busy ones are gone")
}
