package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/nailtrt/nailtrt/nails"
)

// sharedCache is the result cache's second level: Redis, shared by every replica, so a
// photo segmented by one is a hit on the others (masks included, so a render works
// anywhere). It is an optimisation and never a dependency:
//
//   - every call is bounded by a short timeout (NAILTRT_REDIS_TIMEOUT, 100 ms);
//   - after a failure the level is marked down and skipped outright (no request waits
//     on a dead server) until a retry time; then one request probes it again, so it
//     reconnects by itself when Redis is back (go-redis redials on demand);
//   - writes happen after the response, off the request path, a bounded number at a
//     time; when that many are pending a write is dropped, not queued;
//   - a value that is larger than NAILTRT_REDIS_MAX_VALUE is not stored.
//
// Failures are counted (metrics) and logged at most once per logEvery.
type sharedCache struct {
	client   *redis.Client
	log      *slog.Logger
	timeout  time.Duration
	ttl      time.Duration
	maxValue int
	limit    int           // decoded bytes one value may claim (nails.UnmarshalResult)
	retry    time.Duration // how long a failed level is skipped before the next probe
	writes   chan struct{} // write slots
	pending  sync.WaitGroup

	down    atomic.Bool
	retryAt atomic.Int64 // unix ns before which a down level is skipped

	hits, misses, failures, sets, skipped atomic.Int64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

const (
	logEvery  = 10 * time.Second
	maxWrites = 8
)

// parseRedisURL checks a NAILTRT_REDIS_URL; Validate uses it.
func parseRedisURL(u string) (*redis.Options, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("NAILTRT_REDIS_URL %q: %w (want redis://[user:password@]host:port/db)", redactURL(u), err)
	}
	return opt, nil
}

// redactURL hides a password in a URL for messages.
func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			return u[:scheme+3] + "***" + u[at:]
		}
	}
	return u
}

func newSharedCache(cfg Config, log *slog.Logger) (*sharedCache, error) {
	opt, err := parseRedisURL(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	// One attempt per call, every wait bounded by the timeout: falling back to inference
	// is always cheaper than waiting on a sick cache.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = cfg.RedisTimeout, cfg.RedisTimeout, cfg.RedisTimeout, cfg.RedisTimeout
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true // CLIENT SETINFO is unknown to Redis < 7.2: one less error per connection
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	limit := int(cfg.CacheBytes)
	if limit <= 0 || limit > 1<<30 {
		limit = 1 << 30
	}
	return &sharedCache{client: redis.NewClient(opt), log: log, timeout: cfg.RedisTimeout, ttl: cfg.CacheTTL,
		maxValue: int(cfg.RedisMaxValue), limit: limit, retry: time.Second, writes: make(chan struct{}, maxWrites)}, nil
}

// usable says whether to try Redis now: always while up; when down, once per retry
// interval (the caller that wins the swap probes, the others skip).
func (s *sharedCache) usable() bool {
	if !s.down.Load() {
		return true
	}
	at := s.retryAt.Load()
	now := time.Now().UnixNano()
	return now >= at && s.retryAt.CompareAndSwap(at, now+int64(s.retry))
}

func (s *sharedCache) ok() {
	if s.down.Swap(false) {
		s.log.Info("shared cache (redis) is reachable again")
	}
}

func (s *sharedCache) fail(op string, err error) {
	s.failures.Add(1)
	if !s.down.Swap(true) {
		s.retryAt.Store(time.Now().Add(s.retry).UnixNano())
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if time.Since(s.lastLog) < logEvery {
		s.suppressed++
		return
	}
	s.log.Warn("shared cache (redis) unavailable: serving from this replica's cache and the model",
		"op", op, "err", err, "similar_errors_since_last_log", s.suppressed, "retry_every", s.retry)
	s.lastLog, s.suppressed = time.Now(), 0
}

// key is the Redis key of an L1 key (which starts with the model ID, see cacheKey).
func sharedKey(key string) string { return sharedPrefix + key }

// sharedPrefix starts every shared key: the result codec's version is part of it.
var sharedPrefix = "nailtrt:result:v" + strconv.Itoa(nails.ResultCodecVersion) + ":"

// get returns the result stored under key, or nil on a miss, on an undecodable value,
// or when Redis is down or slow.
func (s *sharedCache) get(key string) *nails.Result {
	if !s.usable() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	b, err := s.client.Get(ctx, sharedKey(key)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		s.ok()
		s.misses.Add(1)
		return nil
	case err != nil:
		s.fail("get", err)
		return nil
	}
	s.ok()
	r, err := nails.UnmarshalResult(b, s.limit)
	if err != nil {
		// Another build's value, or damage: a miss, and it will be overwritten.
		s.misses.Add(1)
		s.log.Debug("shared cache value not readable", "err", err)
		return nil
	}
	s.hits.Add(1)
	return r
}

// put stores r under key in the background. It never blocks: when maxWrites writes are
// pending, or Redis is down, the value is skipped.
func (s *sharedCache) put(key string, r *nails.Result) {
	if !s.usable() {
		s.skipped.Add(1)
		return
	}
	select {
	case s.writes <- struct{}{}:
	default:
		s.skipped.Add(1)
		return
	}
	s.pending.Add(1)
	go func() {
		defer func() { <-s.writes; s.pending.Done() }()
		b, err := r.MarshalBinary()
		if err != nil || len(b) > s.maxValue {
			s.skipped.Add(1)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if err := s.client.Set(ctx, sharedKey(key), b, s.ttl).Err(); err != nil {
			s.fail("set", err)
			return
		}
		s.ok()
		s.sets.Add(1)
	}()
}

// clear deletes the values of one model (all replicas share them), in batches.
func (s *sharedCache) clear(modelID string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*s.timeout+5*time.Second)
	defer cancel()
	n := 0
	iter := s.client.Scan(ctx, 0, escapeGlob(sharedKey(modelID+":"))+"*", 500).Iterator()
	batch := make([]string, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		d, err := s.client.Unlink(ctx, batch...).Result()
		n += int(d)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				s.fail("clear", err)
				return n, err
			}
		}
	}
	err := iter.Err()
	if err == nil {
		err = flush()
	}
	if err != nil {
		s.fail("clear", err)
		return n, err
	}
	s.ok()
	return n, nil
}

// escapeGlob quotes SCAN MATCH's pattern characters.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sharedStats is the "shared" part of GET /api/cache/stats.
type sharedStats struct {
	Up      bool  `json:"up"`
	Hits    int64 `json:"hits"`
	Misses  int64 `json:"misses"`
	Errors  int64 `json:"errors"`
	Writes  int64 `json:"writes"`
	Skipped int64 `json:"skipped"`
}

func (s *sharedCache) stats() *sharedStats {
	return &sharedStats{Up: !s.down.Load(), Hits: s.hits.Load(), Misses: s.misses.Load(), Errors: s.failures.Load(),
		Writes: s.sets.Load(), Skipped: s.skipped.Load()}
}

// close waits for pending writes (each bounded by the timeout), then disconnects.
func (s *sharedCache) close() error {
	s.pending.Wait()
	return s.client.Close()
}
