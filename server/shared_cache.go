package server

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"runtime/debug"
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
// And it is not trusted (SECURITY.md, "The shared cache"): what Redis returns is read
// bounded in bytes (GETRANGE, and a guard on the connection, redis_conn.go), used only
// when it is sealed to its key (shared_value.go), decodes within the codec's limits
// and is for a photo of the size the request's header says; anything else is a miss,
// counted by reason. Every get and put runs under recover.
//
// Failures are counted (metrics) and logged at most once per logEvery.
type sharedCache struct {
	client   *redis.Client
	log      *slog.Logger
	timeout  time.Duration
	ttl      time.Duration
	maxValue int           // bytes of a stored value (sealed), written or read
	limit    int           // decoded bytes one value may claim (nails.UnmarshalResult)
	secret   []byte        // the values' MAC key; nil: a keyless digest (shared_value.go)
	retry    time.Duration // how long a failed level is skipped before the next probe
	writes   chan struct{} // write slots
	pending  sync.WaitGroup
	// decode is nails.UnmarshalResult (a seam: tests make it panic).
	decode func(data []byte, size image.Point, limit int) (*nails.Result, error)

	down    atomic.Bool
	retryAt atomic.Int64 // unix ns before which a down level is skipped

	hits, misses, failures, sets, skipped atomic.Int64
	rejected                              [numRejects]atomic.Int64 // values refused, by reason

	failLog, rejectLog rateLog
}

// Why a value read from Redis was not used (nailtrt_cache_shared_rejected_total).
const (
	rejectTag      = iota // not sealed to its key: damaged, forged, foreign, or another secret's
	rejectInvalid         // undecodable, beyond the codec's limits, or another photo's size
	rejectTooLarge        // longer than NAILTRT_REDIS_MAX_VALUE
	rejectPanic           // decoding it panicked
	numRejects
)

var rejectReasons = [numRejects]string{"tag", "invalid", "too_large", "panic"}

// rateLog lets one line through per logEvery and counts the rest.
type rateLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many lines were suppressed before.
func (l *rateLog) allow() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.last) < logEvery {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = time.Now(), 0
	return n, true
}

const (
	logEvery  = 10 * time.Second
	maxWrites = 8
)

// parseRedisURL checks a NAILTRT_REDIS_URL; Validate uses it.
func parseRedisURL(u string) (*redis.Options, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("NAILTRT_REDIS_URL %q: %w (want redis://[user:password@]host:port/db, or rediss:// for TLS)", redactURL(u), err)
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
	secret, err := redisSecret(cfg.RedisSecret, cfg.RedisSecretFile)
	if err != nil {
		return nil, err
	}
	if secret == nil {
		log.Warn("shared cache values are not authenticated: anyone who can write to Redis can plant answers " +
			"(set NAILTRT_REDIS_SECRET or NAILTRT_REDIS_SECRET_FILE on every replica)")
	}
	// One attempt per call, every wait bounded by the timeout: falling back to inference
	// is always cheaper than waiting on a sick cache.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = cfg.RedisTimeout, cfg.RedisTimeout, cfg.RedisTimeout, cfg.RedisTimeout
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true // CLIENT SETINFO is unknown to Redis < 7.2: one less error per connection
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	maxValue := int(min(cfg.RedisMaxValue, 1<<30))
	// go-redis's own dialer (TLS for rediss://), its replies read through the guard: a
	// value's reply is at most maxValue+1 bytes (GETRANGE), the rest is slack for the
	// framing and the small replies of the other commands.
	opt.Dialer = boundedDialer(redis.NewDialer(opt), int64(maxValue)+1<<20)
	limit := int(cfg.CacheBytes)
	if limit <= 0 || limit > 1<<30 {
		limit = 1 << 30
	}
	return &sharedCache{client: redis.NewClient(opt), log: log, timeout: cfg.RedisTimeout, ttl: cfg.CacheTTL,
		maxValue: maxValue, limit: limit, secret: secret, retry: time.Second, writes: make(chan struct{}, maxWrites),
		decode: nails.UnmarshalResult}, nil
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
	if n, ok := s.failLog.allow(); ok {
		s.log.Warn("shared cache (redis) unavailable: serving from this replica's cache and the model",
			"op", op, "err", err, "similar_errors_since_last_log", n, "retry_every", s.retry)
	}
}

// reject counts a value read from Redis and not used: a miss, whatever it held.
func (s *sharedCache) reject(reason int, err error) {
	s.misses.Add(1)
	s.rejected[reason].Add(1)
	if n, ok := s.rejectLog.allow(); ok {
		s.log.Warn("shared cache value refused: treated as a miss", "reason", rejectReasons[reason], "err", err,
			"similar_since_last_log", n)
	}
}

// key is the Redis key of an L1 key (which starts with the model ID, see cacheKey).
func sharedKey(key string) string { return sharedPrefix + key }

// sharedPrefix starts every shared key: the result codec's version is part of it.
var sharedPrefix = "nailtrt:result:v" + strconv.Itoa(nails.ResultCodecVersion) + ":"

// get returns the result stored under key for a photo of size (as displayed: the size
// its header gives, after EXIF orientation), or nil: on a miss, when Redis is down or
// slow, and for a value that is not used (reject). It never panics: it runs inside the
// singleflight group, which re-panics in a goroutine of its own, outside any recovery.
func (s *sharedCache) get(key string, size image.Point) (r *nails.Result) {
	defer func() {
		if p := recover(); p != nil {
			r = nil
			s.reject(rejectPanic, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	if !s.usable() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	rkey := sharedKey(key)
	// GETRANGE rather than GET: Redis sends at most maxValue+1 bytes whatever is
	// stored, so an oversized value is a miss and the connection stays usable. (A
	// missing key reads as "", which no sealed value is.)
	b, err := s.client.GetRange(ctx, rkey, 0, int64(s.maxValue)).Bytes()
	if err != nil {
		s.fail("get", err)
		return nil
	}
	s.ok()
	if len(b) == 0 {
		s.misses.Add(1)
		return nil
	}
	if len(b) > s.maxValue {
		s.reject(rejectTooLarge, fmt.Errorf("value over the %d-byte NAILTRT_REDIS_MAX_VALUE", s.maxValue))
		return nil
	}
	payload, err := openValue(s.secret, rkey, b)
	if err != nil {
		s.reject(rejectTag, err)
		return nil
	}
	// A result's masks hold well under a byte a pixel: 4 bytes a pixel bounds what a
	// value may make this replica allocate by the photo it is for.
	limit := int(min(int64(s.limit), 4*int64(size.X)*int64(size.Y)+1<<20))
	r, err = s.decode(payload, size, limit)
	if err != nil {
		// Another build's value, or damage: a miss, and it will be overwritten.
		s.reject(rejectInvalid, err)
		return nil
	}
	s.hits.Add(1)
	return r
}

// put stores r under key in the background, sealed to it. It never blocks: when
// maxWrites writes are pending, or Redis is down, the value is skipped.
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
		// Off the request path, outside every handler's recovery: a panic here would
		// end the process.
		defer func() {
			if p := recover(); p != nil {
				s.skipped.Add(1)
				s.log.Error("shared cache write panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		b, err := r.MarshalBinary()
		if err != nil {
			s.skipped.Add(1)
			return
		}
		rkey := sharedKey(key)
		v := sealValue(s.secret, rkey, b)
		if len(v) > s.maxValue {
			s.skipped.Add(1)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if err := s.client.Set(ctx, rkey, v, s.ttl).Err(); err != nil {
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
	Up     bool  `json:"up"`
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"` // rejected values included
	// Rejected counts values read and not used (not intact, not this key's or this
	// photo's, beyond the limits); nailtrt_cache_shared_rejected_total has the reasons.
	Rejected int64 `json:"rejected"`
	Errors   int64 `json:"errors"`
	Writes   int64 `json:"writes"`
	Skipped  int64 `json:"skipped"`
}

func (s *sharedCache) stats() *sharedStats {
	var rejected int64
	for i := range s.rejected {
		rejected += s.rejected[i].Load()
	}
	return &sharedStats{Up: !s.down.Load(), Hits: s.hits.Load(), Misses: s.misses.Load(), Rejected: rejected,
		Errors: s.failures.Load(), Writes: s.sets.Load(), Skipped: s.skipped.Load()}
}

// close waits for pending writes (each bounded by the timeout), then disconnects.
func (s *sharedCache) close() error {
	s.pending.Wait()
	return s.client.Close()
}
