package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisServer is a real redis-server (Debian's package; make deps installs it) on a
// free loopback port, without persistence, stopped when the test ends.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
	args []string // more redis-server arguments (an ACL)
	user string   // "name:password" that clients authenticate as; "" for none
}

func startRedis(t *testing.T, args ...string) *redisServer {
	return startRedisAs(t, "", args...)
}

// startRedisAs starts redis-server with args, its clients logged in as user
// ("name:password").
func startRedisAs(t *testing.T, user string, args ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (make deps installs Debian's redis-server): shared cache tests skipped")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	r := &redisServer{t: t, port: port, args: args, user: user}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string {
	if r.user != "" {
		return fmt.Sprintf("redis://%s@127.0.0.1:%d/0", r.user, r.port)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
}

func (r *redisServer) start() {
	r.t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir(), "--loglevel", "warning", "--logfile", "redis.log"}, r.args...)
	r.cmd = exec.Command("redis-server", args...)
	require.NoError(r.t, r.cmd.Start())
	c := r.client()
	defer c.Close()
	require.Eventually(r.t, func() bool { return c.Ping(context.Background()).Err() == nil },
		10*time.Second, 20*time.Millisecond, "redis-server on port %d did not answer", r.port)
}

// stop kills the server the way a crash would (no shutdown handshake).
func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *redisServer) client() *redis.Client {
	user, pw, _ := strings.Cut(r.user, ":")
	return redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1, DisableIdentity: true,
		Username: user, Password: pw})
}

// sharedServer is a replica using rs as its shared cache, probing a down Redis every
// 50 ms instead of every second.
func sharedServer(t *testing.T, rs *redisServer, cfg Config) *Server {
	t.Helper()
	cfg.RedisURL = rs.url()
	s := newTestServer(t, cfg, nil)
	require.NotNil(t, s.cache.shared, "the shared level is on")
	s.cache.shared.retry = 50 * time.Millisecond
	waitReady(t, s)
	return s
}

// segmentJSON posts img and returns the response with its per-request fields (cached,
// timings) split off.
func segmentJSON(t *testing.T, s *Server, img []byte, fields map[string]string) (SegmentResponse, bool) {
	t.Helper()
	rec := postImage(t, s, "/api/nails/segment", img, fields)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	r := decodeJSON[SegmentResponse](t, rec)
	cached := r.Cached
	r.Cached, r.TimingsMS = false, nil
	return r, cached
}

// waitWrites waits until s has written n results to the shared level (writes happen
// after the response).
func waitWrites(t *testing.T, s *Server, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return s.cache.shared.sets.Load() >= n }, 10*time.Second, 5*time.Millisecond,
		"%d shared writes expected, %d done", n, s.cache.shared.sets.Load())
}

func TestSharedCacheAcrossReplicas(t *testing.T) {
	rs := startRedis(t)
	a := sharedServer(t, rs, Config{})
	b := sharedServer(t, rs, Config{})
	img := photoJPEG(t, 96, 72, 1)

	onA, cached := segmentJSON(t, a, img, map[string]string{"mask_format": "rle"})
	require.False(t, cached)
	require.NotEmpty(t, onA.Nails)
	waitWrites(t, a, 1)

	onB, cached := segmentJSON(t, b, img, map[string]string{"mask_format": "rle"})
	assert.True(t, cached, "segmented on A: a hit on B")
	assert.Equal(t, onA, onB, "the same answer, masks included")
	assert.Zero(t, b.cache.misses.Load(), "B never ran the model")
	assert.EqualValues(t, 1, b.cache.shared.hits.Load())

	// A render on a third replica paints from the shared masks, without the model.
	c := sharedServer(t, rs, Config{})
	rec := postImage(t, c, "/api/nails/render", img, map[string]string{"material": "glossy_red"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "image/jpeg", rec.Header().Get("Content-Type"))
	assert.Zero(t, c.cache.misses.Load())

	st := decodeJSON[cacheStats](t, do(t, b, "GET", "/api/cache/stats", nil, ""))
	require.NotNil(t, st.Shared)
	assert.True(t, st.Shared.Up)
	assert.EqualValues(t, 1, st.Shared.Hits)
}

func TestSharedCacheTTL(t *testing.T) {
	rs := startRedis(t)
	a := sharedServer(t, rs, Config{CacheTTL: 1500 * time.Millisecond})
	img := photoJPEG(t, 96, 72, 2)
	segmentJSON(t, a, img, nil)
	waitWrites(t, a, 1)

	rc := rs.client()
	defer rc.Close()
	ctx := context.Background()
	keys, err := rc.Keys(ctx, sharedPrefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	ttl, err := rc.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	assert.Positive(t, ttl)
	assert.LessOrEqual(t, ttl, 1500*time.Millisecond, "the value expires with NAILTRT_CACHE_TTL")
	require.Eventually(t, func() bool { return rc.Exists(ctx, keys[0]).Val() == 0 }, 5*time.Second, 50*time.Millisecond,
		"expired in Redis")
}

// Redis killed mid-test: requests still succeed (from the model) and say so in the
// metric; Redis back: the replicas use it again without a restart.
func TestSharedCacheSurvivesRedis(t *testing.T) {
	rs := startRedis(t)
	a := sharedServer(t, rs, Config{})
	b := sharedServer(t, rs, Config{})

	rs.stop()
	for i := range 3 {
		_, cached := segmentJSON(t, a, photoJPEG(t, 96, 72, uint8(10+i)), nil)
		assert.False(t, cached)
	}
	assert.Positive(t, a.cache.shared.failures.Load(), "the failures are counted")
	st := decodeJSON[cacheStats](t, do(t, a, "GET", "/api/cache/stats", nil, ""))
	assert.False(t, st.Shared.Up)
	metrics := do(t, a, "GET", "/metrics", nil, "").Body.String()
	assert.Contains(t, metrics, "nailtrt_cache_shared_up 0")
	assert.NotContains(t, metrics, "nailtrt_cache_shared_errors_total 0\n")

	rs.start()
	// The next request after the retry interval probes Redis and finds it again.
	img := photoJPEG(t, 96, 72, 20)
	require.Eventually(t, func() bool {
		segmentJSON(t, a, img, nil)
		return a.cache.shared.sets.Load() > 0
	}, 10*time.Second, 60*time.Millisecond, "A writes to Redis again")
	_, cached := segmentJSON(t, b, img, nil)
	assert.True(t, cached, "B reads what A wrote after the restart")
	assert.False(t, a.cache.shared.down.Load())
	assert.Contains(t, do(t, a, "GET", "/metrics", nil, "").Body.String(), "nailtrt_cache_shared_up 1")
}

// A Redis that accepts connections and never answers: requests wait at most the
// timeout once, then skip it while it is down.
func TestSharedCacheHungRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	s := newTestServer(t, Config{RedisURL: "redis://" + ln.Addr().String() + "/0", RedisTimeout: 50 * time.Millisecond}, nil)
	waitReady(t, s)
	for i := range 4 {
		_, cached := segmentJSON(t, s, photoJPEG(t, 96, 72, uint8(30+i)), nil)
		assert.False(t, cached)
	}
	assert.True(t, s.cache.shared.down.Load())
	// One failed lookup marks it down; while it is down (retry: 1 s) nobody asks again.
	assert.EqualValues(t, 1, s.cache.shared.failures.Load())
	assert.EqualValues(t, 4, s.cache.misses.Load())
}

// Clear removes this model's values from Redis and leaves other models' alone.
func TestSharedCacheClear(t *testing.T) {
	rs := startRedis(t)
	a := sharedServer(t, rs, Config{AdminToken: "tok"})
	for i := range 3 {
		segmentJSON(t, a, photoJPEG(t, 96, 72, uint8(40+i)), nil)
	}
	waitWrites(t, a, 3)
	rc := rs.client()
	defer rc.Close()
	ctx := context.Background()
	other := sharedKey("othermodel@1.0.0:" + strings.Repeat("ab", 32))
	require.NoError(t, rc.Set(ctx, other, "x", time.Minute).Err())

	rec := do(t, a, "POST", "/api/cache/clear", nil, "", "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decodeJSON[map[string]any](t, rec)
	assert.EqualValues(t, 3, body["cleared"])
	assert.EqualValues(t, 3, body["shared_cleared"])
	assert.EqualValues(t, 1, rc.Exists(ctx, other).Val(), "another model's value stays")
	n, err := rc.DBSize(ctx).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
}

func TestSharedCacheConfig(t *testing.T) {
	err := Config{RedisURL: "http://user:secret@host/0"}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NAILTRT_REDIS_URL")
	assert.NotContains(t, err.Error(), "secret", "the password stays out of messages")
	assert.NoError(t, Config{RedisURL: "redis://localhost:6379/0"}.Validate())
	assert.Equal(t, "redis://***@host:1/0", redactURL("redis://u:p@host:1/0"))
	assert.Equal(t, `a\*b\?\[c\]\\`, escapeGlob(`a*b?[c]\`))
}
