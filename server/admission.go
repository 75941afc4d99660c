package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// budget is a byte budget shared by every request: work is admitted by the bytes it will
// hold (estimated before allocating them) under one weighted semaphore, and waits for
// room at most `wait`. Work that could never fit is refused at once; work that does not
// get room in time gets 503 + Retry-After. Waiting is bounded too: at most maxWaiters
// requests queue, the rest are refused immediately, so a flood of large uploads turns
// into fast 503s instead of goroutines piling up.
type budget struct {
	name     string // "memory" or "upload": says which setting to raise in errors
	setting  string // the NAILTRT_* variable that sets capacity
	capacity int64
	sem      *semaphore.Weighted
	wait     time.Duration
	waiters  chan struct{}
}

func newBudget(name, setting string, capacity int64, wait time.Duration, maxWaiters int) *budget {
	return &budget{name: name, setting: setting, capacity: capacity, sem: semaphore.NewWeighted(capacity),
		wait: wait, waiters: make(chan struct{}, max(1, maxWaiters))}
}

// errNeverFits marks work larger than the whole budget (the handler picks 413 or 422).
var errNeverFits = errors.New("larger than the server's budget")

// acquire reserves n bytes, or returns an error; release(n) must follow a nil error.
func (b *budget) acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	if n > b.capacity {
		return fmt.Errorf("%w: needs %d MiB of %s, the budget is %d MiB (%s)", errNeverFits, n>>20, b.name,
			b.capacity>>20, b.setting)
	}
	if b.sem.TryAcquire(n) {
		return nil
	}
	select {
	case b.waiters <- struct{}{}:
		defer func() { <-b.waiters }()
	default:
		return b.busy()
	}
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	if err := b.sem.Acquire(wctx, n); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return b.busy()
	}
	return nil
}

func (b *budget) release(n int64) {
	if n > 0 {
		b.sem.Release(n)
	}
}

func (b *budget) busy() error {
	return &apiError{Status: http.StatusServiceUnavailable, Code: "overloaded",
		Message: fmt.Sprintf("the server's %s budget is in use by other requests; retry shortly", b.name), RetryAfter: 1}
}

// reservation is what one request holds in a budget. It grows as the request needs more
// (an upload, as its bytes arrive) and shrinks as the request lets go (a render, once
// only its encoded body is left to send), so that a client that sends or reads slowly
// holds only what it really keeps. One goroutine uses it; release may be called again.
type reservation struct {
	b *budget
	n int64
}

// grow reserves n more bytes, waiting for room as budget.acquire does.
func (r *reservation) grow(ctx context.Context, n int64) error {
	if err := r.b.acquire(ctx, n); err != nil {
		return err
	}
	r.n += n
	return nil
}

// shrinkTo gives back all but n bytes (nothing when it holds n or less).
func (r *reservation) shrinkTo(n int64) {
	if n < r.n {
		r.b.release(r.n - n)
		r.n = n
	}
}

func (r *reservation) release() { r.shrinkTo(0) }
