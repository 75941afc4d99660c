package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/nailtrt/nailtrt/nails"
)

// resultCache holds segmentation results by content: the key is the SHA-256 of the
// image bytes plus the model's id and version (nothing else changes the answer; how the
// masks are formatted is applied per response). It is bounded by entries, by bytes and
// by time, and concurrent misses for one key share a single inference.
//
// One cache lives for the life of the process. The eviction callback runs under the
// LRU's lock, so it only adjusts counters and never calls back into the cache.
//
// With NAILTRT_REDIS_URL set, shared is a second level below this one: a miss here asks
// Redis before running the model, and what the model finds is written there too.
type resultCache struct {
	shared   *sharedCache // nil: no second level
	lru      *expirable.LRU[string, *nails.Result]
	maxBytes int64
	ttl      time.Duration
	size     int
	flight   singleflight.Group

	mu        sync.Mutex // serialises Add + byte trimming
	bytes     atomic.Int64
	hits      atomic.Int64
	misses    atomic.Int64
	evictions atomic.Int64
	removing  atomic.Bool // Purge/trim in progress: those are not evictions

	// waiting counts the callers of get waiting for a computation, their own or one
	// they joined. Only tests read it: they wait for every caller to have joined the
	// computation they hold, instead of sleeping and hoping they all arrived.
	waiting atomic.Int32
}

func newResultCache(size int, maxBytes int64, ttl time.Duration) *resultCache {
	c := &resultCache{maxBytes: maxBytes, ttl: ttl, size: size}
	c.lru = expirable.NewLRU[string, *nails.Result](size, func(_ string, r *nails.Result) {
		c.bytes.Add(-int64(r.Bytes()))
		if !c.removing.Load() {
			c.evictions.Add(1)
		}
	}, ttl)
	return c
}

// cacheKey identifies one image under one model: "model@version+settings:sha256-of-bytes"
// (modelID is Manifest.CacheID). The model comes first so the shared level can clear one
// model's values by prefix.
func cacheKey(image []byte, modelID string) string {
	h := sha256.Sum256(image)
	return modelID + ":" + hex.EncodeToString(h[:])
}

// photoSize is the size a result for data must have: photo's when it is decoded, else
// what data's header says (read only when the shared cache is asked).
func photoSize(data []byte, photo *nails.Photo) func() (image.Point, error) {
	return func() (image.Point, error) {
		if photo != nil {
			return image.Pt(photo.Width, photo.Height), nil
		}
		h, err := nails.ReadHeader(data)
		return h.Displayed(), err
	}
}

// get returns the cached result for key, or runs compute once for all concurrent callers
// with the same key and caches what it returns. cached says whether this caller's answer
// came from the cache (or from another caller's in-flight computation). Errors are never
// cached: a bad request cannot poison the cache.
//
// size is the photo's size as displayed (its header's, after EXIF orientation), asked
// only when the shared level is consulted: a value there for another size is not this
// photo's answer. When it fails, or is nil, the shared level is skipped (compute
// reports the photo's error).
func (c *resultCache) get(ctx context.Context, key string, size func() (image.Point, error),
	compute func() (*nails.Result, error)) (res *nails.Result, cached bool, err error) {
	if r, ok := c.lru.Get(key); ok {
		c.hits.Add(1)
		return r, true, nil
	}
	// Only the first caller's function runs; the others share its result. ran tells
	// this caller which it was (singleflight's Shared is true for all of them). The
	// channel receive orders the write before the read.
	ran := false
	ch := c.flight.DoChan(key, func() (any, error) {
		if r, ok := c.lru.Get(key); ok { // filled while we queued
			return r, nil
		}
		if c.shared != nil && size != nil {
			if sz, err := size(); err == nil {
				if r := c.shared.get(key, sz); r != nil {
					c.add(key, r)
					return r, nil // another replica's answer: a hit for every caller
				}
			}
		}
		ran = true
		r, err := safeCompute(compute)
		if err != nil {
			return nil, err
		}
		c.add(key, r)
		if c.shared != nil {
			c.shared.put(key, r)
		}
		return r, nil
	})
	c.waiting.Add(1)
	v, err := await(ctx, ch)
	c.waiting.Add(-1)
	if err != nil {
		return nil, false, err
	}
	if v.Err != nil {
		return nil, false, v.Err
	}
	if ran {
		c.misses.Add(1)
	} else {
		c.hits.Add(1)
	}
	return v.Val.(*nails.Result), !ran, nil
}

// safeCompute runs the shared computation and turns a panic into an error. singleflight
// re-panics a panicking function in a goroutine of its own, outside any recovery, which
// would kill the process; here the waiting requests get a 500 instead.
func safeCompute(compute func() (*nails.Result, error)) (r *nails.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%w: %v\n%s", errPanic, p, debug.Stack())
		}
	}()
	return compute()
}

var errPanic = errors.New("panic in shared computation")

func (c *resultCache) add(key string, r *nails.Result) {
	n := int64(r.Bytes())
	if c.maxBytes > 0 && n > c.maxBytes {
		return // larger than the whole cache: serve it, do not keep it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Remove, then add: an entry that expired but is not purged yet is invisible to
	// Peek, and Add would replace it without the eviction callback, so its bytes would
	// never be subtracted. Remove runs the callback for it, expired or not.
	c.removing.Store(true)
	c.lru.Remove(key)
	c.removing.Store(false)
	c.lru.Add(key, r)
	c.bytes.Add(n)
	for c.maxBytes > 0 && c.bytes.Load() > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// clear empties this replica's level, and the shared level's values of modelIDs (the
// models this server runs; other models sharing the Redis keep theirs). No IDs (no
// model loaded yet) leaves the shared level alone. shared is -1 without a shared level.
func (c *resultCache) clear(modelIDs ...string) (local, shared int, err error) {
	c.mu.Lock()
	local = c.lru.Len()
	c.removing.Store(true)
	c.lru.Purge()
	c.removing.Store(false)
	c.mu.Unlock()
	if c.shared == nil || len(modelIDs) == 0 {
		return local, -1, nil
	}
	for _, id := range modelIDs {
		n, cerr := c.shared.clear(id)
		shared += n
		err = errors.Join(err, cerr)
	}
	return local, shared, err
}

// cacheStats is GET /api/cache/stats.
type cacheStats struct {
	Size      int     `json:"size"`
	Max       int     `json:"max"`
	TTL       float64 `json:"ttl_seconds"`
	Hits      int64   `json:"hits"`
	Misses    int64   `json:"misses"`
	HitRatio  float64 `json:"hit_ratio"`
	Evictions int64   `json:"evictions"`
	Bytes     int64   `json:"bytes"`
	MaxBytes  int64   `json:"max_bytes"`
	// Shared is the Redis level (NAILTRT_REDIS_URL); null when there is none. Hits
	// and HitRatio above count answers found at either level (no model call).
	Shared *sharedStats `json:"shared"`
}

func (c *resultCache) stats() cacheStats {
	h, m := c.hits.Load(), c.misses.Load()
	ratio := 0.0
	if h+m > 0 {
		ratio = float64(h) / float64(h+m)
	}
	st := cacheStats{Size: c.lru.Len(), Max: c.size, TTL: c.ttl.Seconds(), Hits: h, Misses: m, HitRatio: ratio,
		Evictions: c.evictions.Load(), Bytes: c.bytes.Load(), MaxBytes: c.maxBytes}
	if c.shared != nil {
		st.Shared = c.shared.stats()
	}
	return st
}

// await waits for the shared work's result or for ctx to end. When both are ready, ctx
// wins every time: a select alone chooses at random, and a client already gone got an
// answer now and then. The work's result is cached either way (get's compute adds it).
func await(ctx context.Context, ch <-chan singleflight.Result) (singleflight.Result, error) {
	select {
	case <-ctx.Done():
		return singleflight.Result{}, ctx.Err()
	case v := <-ch:
		if err := ctx.Err(); err != nil {
			return singleflight.Result{}, err
		}
		return v, nil
	}
}
