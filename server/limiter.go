package server

import (
	"net/http"
	"sync/atomic"
)

// limiter bounds work waiting for inference. The model's contexts already cap how many
// inferences run at once (the others block in the pool); the limiter caps how many may
// wait behind them, so a burst turns into fast 503s with Retry-After instead of a queue
// that grows until every request times out.
type limiter struct {
	pending  atomic.Int64 // running + waiting
	capacity int64        // contexts + queue
}

func newLimiter(contexts, queue int) *limiter {
	return &limiter{capacity: int64(contexts + queue)}
}

// acquire reserves a place or returns a 503 error; release must follow a nil error.
func (l *limiter) acquire() error {
	if l.pending.Add(1) > l.capacity {
		l.pending.Add(-1)
		return &apiError{Status: http.StatusServiceUnavailable, Code: "overloaded",
			Message: "too many requests are waiting for inference; retry shortly", RetryAfter: 1}
	}
	return nil
}

func (l *limiter) release() { l.pending.Add(-1) }
