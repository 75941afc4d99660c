package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/nails"
)

// The shared cache is untrusted input, checked with the real binaries (issue 31): two
// `nailtrt serve` replicas on one real redis-server, on loopback. The first fills the
// cache; the test then moves photo A's value under photo B's key, overwrites bytes of a
// value and plants garbage; a second replica (its own in-memory cache empty) must
// answer each photo with its own nails, count what it refused and stay up.
func TestServeDistrustsTheSharedCache(t *testing.T) {
	bin := nailtrtBinary(t)
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (make test installs Debian's redis-server)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	photoA, err := os.ReadFile(filepath.Join(root, "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	hand, err := nails.Decode(photoA, nails.Limits{})
	require.NoError(t, err)
	mirrored := image.NewRGBA(hand.RGBA().Rect)
	for y := range hand.Height {
		for x := range hand.Width {
			mirrored.Set(hand.Width-1-x, y, hand.RGBA().At(x, y))
		}
	}
	photoB := testimg.JPEG(t, mirrored, 92)

	port := freePort(t)
	srv := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--loglevel", "warning")
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, DisableIdentity: true})
	defer rc.Close()
	ctx := context.Background()
	require.Eventually(t, func() bool { return rc.Ping(ctx).Err() == nil }, 10*time.Second, 20*time.Millisecond)

	serve := func() string {
		t.Helper()
		p := freePort(t)
		cmd := exec.Command(bin, "serve", "--backend", "onnxruntime", "--threads", "1")
		cmd.Env = append(os.Environ(), "NAILTRT_ADDR=127.0.0.1:"+p, "NAILTRT_MODEL="+filepath.Join(root, "engines", "nailseg.json"),
			"NAILTRT_REDIS_URL=redis://127.0.0.1:"+port+"/0", "NAILTRT_LOG_FORMAT=json")
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		base := "http://127.0.0.1:" + p
		require.Eventually(t, func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, time.Minute, 10*time.Millisecond, "serve did not get ready")
		return base
	}
	// nailsOf posts a photo and returns the nails of the answer (the rest holds timings).
	nailsOf := func(base string, photo []byte) string {
		t.Helper()
		body, contentType := multipartForm(t, photo, nil)
		resp, err := http.Post(base+"/api/nails/segment", contentType, body)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
		var answer map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &answer))
		require.Contains(t, answer, "nails")
		return string(answer["nails"])
	}
	// newKey waits for the value a request has just written and returns its key.
	known := map[string]bool{}
	newKey := func() string {
		t.Helper()
		var key string
		require.Eventually(t, func() bool {
			keys, err := rc.Keys(ctx, "*").Result()
			require.NoError(t, err)
			for _, k := range keys {
				if !known[k] {
					key = k
				}
			}
			return key != ""
		}, 10*time.Second, 10*time.Millisecond, "no value written to the shared cache")
		known[key] = true
		return key
	}

	first := serve()
	wantA := nailsOf(first, photoA)
	keyA := newKey()
	wantB := nailsOf(first, photoB)
	keyB := newKey()
	require.NotEqual(t, wantA, wantB, "the mirrored photo has nails of its own")
	valueA, err := rc.Get(ctx, keyA).Bytes()
	require.NoError(t, err)

	// Photo A's answer under photo B's key (it was served as B's answer), and A's own
	// value with 8 bytes overwritten (it decoded into a wrong answer with 200).
	require.NoError(t, rc.Set(ctx, keyB, valueA, 0).Err())
	damaged := bytes.Clone(valueA)
	copy(damaged[len(damaged)/2:], "\xff\xff\xff\xff\xff\xff\xff\xff")
	require.NoError(t, rc.Set(ctx, keyA, damaged, 0).Err())

	second := serve()
	assert.Equal(t, wantB, nailsOf(second, photoB), "photo B gets its own nails, not the value moved under its key")
	assert.Equal(t, wantA, nailsOf(second, photoA), "photo A gets its own nails, not the damaged value's")

	// Garbage (45 bytes, far too short to be a result) under a key a replica reads:
	// refused, answered, and the replica stays up. Planted once the second replica has
	// written its own answer for A back (asynchronously), or that write would replace it.
	require.Eventually(t, func() bool {
		v, err := rc.Get(ctx, keyA).Bytes()
		return err == nil && !bytes.Equal(v, damaged)
	}, 10*time.Second, 10*time.Millisecond, "the second replica did not write its answer back")
	require.NoError(t, rc.Set(ctx, keyA, strings.Repeat("\x00\x7f", 22)+"!", 0).Err())
	third := serve() // a fresh in-memory cache again
	assert.Equal(t, wantA, nailsOf(third, photoA))
	for _, base := range []string{second, third} {
		resp, err := http.Get(base + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.GreaterOrEqual(t, sharedRejected(t, second), 2.0, "the second replica counted both values it refused")
	assert.GreaterOrEqual(t, sharedRejected(t, third), 1.0)
}

// sharedRejected sums a replica's nailtrt_cache_shared_rejected_total over its reasons.
func sharedRejected(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	sum, seen := 0.0, false
	for _, l := range strings.Split(string(page), "\n") {
		if !strings.HasPrefix(l, "nailtrt_cache_shared_rejected_total{") {
			continue
		}
		fields := strings.Fields(l)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		require.NoError(t, err, l)
		sum, seen = sum+v, true
	}
	require.True(t, seen, "no nailtrt_cache_shared_rejected_total in /metrics")
	return sum
}
