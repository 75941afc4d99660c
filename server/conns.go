package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// spareConns is how many connections are admitted past NAILTRT_MAX_CONNS while every
// connection under it is busy with a request, for the probes alone: a kubelet that
// cannot reach /healthz restarts a pod that is merely busy.
const spareConns = 8

// connLimiter caps open client connections (NAILTRT_MAX_CONNS) without letting idle
// keep-alive ones lock out new clients: when the cap is reached, the connection that has
// been idle between requests the longest is closed to admit the newcomer, as nginx reuses
// its idle connections (clients expect a keep-alive connection to close at any time
// between requests, and retry). While every connection under the cap is busy, a few
// spare ones are admitted for /healthz and /readyz only (probesOnlyPastCap); past those,
// new connections wait in the kernel's backlog, as with netutil.LimitListener.
//
// http.Server must report to connState (its ConnState hook) and put the connection in
// each request's context (withConn, its ConnContext).
type connLimiter struct {
	net.Listener
	max       int
	reclaimed atomic.Int64

	mu             sync.Mutex
	conns          map[*trackedConn]struct{}
	regular, spare int // open connections under the cap, and past it

	changed   chan struct{} // a connection closed or went idle (capacity 1)
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// trackedConn is a connection the limiter admitted; Close gives its place back.
type trackedConn struct {
	net.Conn
	l     *connLimiter
	spare bool // admitted past the cap: probes only, one request

	// Under l.mu: the http.Server's state for it, and since when.
	state http.ConnState
	since time.Time
}

func newConnLimiter(ln net.Listener, maxConns int) *connLimiter {
	return &connLimiter{Listener: ln, max: max(1, maxConns), conns: map[*trackedConn]struct{}{},
		changed: make(chan struct{}, 1), done: make(chan struct{})}
}

// Accept returns the next connection once it has a place: under the cap, in place of
// the longest-idle one, or a spare one.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		tc, victim := l.admit(c)
		if victim != nil {
			// Closed outside the lock: its server goroutine sees its read fail and
			// closes it, and that Close finds it already forgotten.
			_ = victim.Conn.Close()
			l.reclaimed.Add(1)
		}
		if tc != nil {
			return tc, nil
		}
		select {
		case <-l.changed:
		case <-l.done:
			_ = c.Close()
			return nil, net.ErrClosed
		}
	}
}

// admit finds c a place, taking it from an idle connection (returned, to be closed)
// when that is the only way; nil when every place is busy.
func (l *connLimiter) admit(c net.Conn) (tc, victim *trackedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	spare := false
	switch {
	case l.regular < l.max:
		l.regular++
	case l.longestIdle(false) != nil:
		victim = l.longestIdle(false)
	case l.spare < spareConns:
		l.spare++
		spare = true
	case l.longestIdle(true) != nil:
		victim, spare = l.longestIdle(true), true
	default:
		return nil, nil
	}
	if victim != nil {
		delete(l.conns, victim) // its place passes to c
	}
	tc = &trackedConn{Conn: c, l: l, spare: spare, state: http.StateNew, since: time.Now()}
	l.conns[tc] = struct{}{}
	return tc, victim
}

// longestIdle is the connection that has waited longest between requests. A spare one
// serves a single request, so any of those not yet in one counts: a probe must not wait
// behind clients that opened connections and sent nothing.
func (l *connLimiter) longestIdle(spare bool) *trackedConn {
	var oldest *trackedConn
	for tc := range l.conns {
		idle := tc.state == http.StateIdle || (spare && tc.state == http.StateNew)
		if tc.spare == spare && idle && (oldest == nil || tc.since.Before(oldest.since)) {
			oldest = tc
		}
	}
	return oldest
}

// connState is the http.Server's ConnState hook.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	if state == http.StateClosed || state == http.StateHijacked {
		l.forget(tc)
		return
	}
	l.mu.Lock()
	tc.state, tc.since = state, time.Now()
	l.mu.Unlock()
	if state == http.StateIdle {
		l.signal()
	}
}

// forget gives tc's place back, once.
func (l *connLimiter) forget(tc *trackedConn) {
	l.mu.Lock()
	_, ok := l.conns[tc]
	if ok {
		delete(l.conns, tc)
		if tc.spare {
			l.spare--
		} else {
			l.regular--
		}
	}
	l.mu.Unlock()
	if ok {
		l.signal()
	}
}

func (l *connLimiter) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// Close stops Accept, a waiting one included.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// counts is how many connections are open and how many of them are idle.
func (l *connLimiter) counts() (open, idle int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for tc := range l.conns {
		if tc.state == http.StateIdle {
			idle++
		}
	}
	return len(l.conns), idle
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.l.forget(c)
	return err
}

// CloseWrite half-closes, as the server does before closing a connection whose request
// body it left unread, so that the client reads the answer rather than a reset.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

type connKey struct{}

// withConn is the http.Server's ConnContext hook: requests can tell which connection
// they came on.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// probesOnlyPastCap answers only /healthz and /readyz on a spare connection (admitted
// past NAILTRT_MAX_CONNS while every other one was busy), and closes it after that one
// answer; anything else there gets a 503 with Retry-After.
func probesOnlyPastCap() gin.HandlerFunc {
	return func(c *gin.Context) {
		tc, _ := c.Request.Context().Value(connKey{}).(*trackedConn)
		if tc == nil || !tc.spare {
			c.Next()
			return
		}
		c.Header("Connection", "close")
		if p := c.Request.URL.Path; p == "/healthz" || p == "/readyz" {
			c.Next()
			return
		}
		_ = c.Error(&apiError{Status: http.StatusServiceUnavailable, Code: "overloaded", RetryAfter: 1,
			Message: "every connection the server takes (NAILTRT_MAX_CONNS) is busy; retry shortly"})
		c.Abort()
	}
}

// connCollectors export the limiter's counts once Serve has made one.
func connCollectors(p *atomic.Pointer[connLimiter]) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nailtrt_http_connections",
			Help: "Open client connections, spare ones for the probes included."},
			func() float64 {
				if l := p.Load(); l != nil {
					open, _ := l.counts()
					return float64(open)
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "nailtrt_http_connections_reclaimed_total",
			Help: "Idle keep-alive connections closed to admit new ones at NAILTRT_MAX_CONNS."},
			func() float64 {
				if l := p.Load(); l != nil {
					return float64(l.reclaimed.Load())
				}
				return 0
			}),
	}
}
