package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
)

// go-redis allocates whatever a reply declares before reading it: a bulk string's
// "$<n>" becomes make([]byte, n+2), an array's "*<n>" a slice of n values. A server
// (or anything in between) answering "$100000000000" to one GET took nailtrt down with
// a fatal out-of-memory, which no recover catches. So every connection to Redis is
// read through a guard that parses the RESP framing as the bytes arrive and refuses a
// reply, before go-redis sees its header, when what it declares would take the replies
// to the last command past a byte budget. The connection then fails like any other
// Redis error (the level is marked down and skipped for a while).

// errReplyTooLarge is a Redis reply refused by the guard.
var errReplyTooLarge = errors.New("redis reply larger than the shared cache reads")

const (
	// maxRESPLine bounds one header or simple-string line (go-redis grows a buffer for
	// a line without end). Redis's own lines (errors, statuses) are far shorter.
	maxRESPLine = 64 << 10
	// respSlot is what go-redis holds per element of an aggregate before reading it
	// (an interface value or a string header).
	respSlot = 16
)

// boundedDialer wraps dial (go-redis's own, TLS included) so that every connection is
// read through a respGuard allowing replies of budget bytes per command.
func boundedDialer(dial func(context.Context, string, string) (net.Conn, error), budget int64) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g := &boundedConn{Conn: c, guard: respGuard{limit: budget}}
		g.guard.left.Store(budget)
		return g, nil
	}
}

// boundedConn is a Redis connection whose replies pass a respGuard. Writing a command
// gives its replies a fresh budget.
type boundedConn struct {
	net.Conn
	guard respGuard
}

func (c *boundedConn) Write(p []byte) (int, error) {
	c.guard.left.Store(c.guard.limit)
	return c.Conn.Write(p)
}

func (c *boundedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if gerr := c.guard.scan(p[:n]); gerr != nil {
			_ = c.Conn.Close() // the stream is out of step now: never reuse it
			return 0, gerr
		}
	}
	return n, err
}

// respGuard follows RESP (2 and 3) framing: header lines, then for a blob its payload.
// It needs no nesting: an aggregate's elements are values of their own that follow
// its header. Only Read touches the parser state; left is reset by Write.
type respGuard struct {
	limit int64        // bytes the replies to one command may declare
	left  atomic.Int64 // of limit, what is not declared yet
	skip  int64        // payload bytes (and their CRLF) still to pass through
	line  []byte       // the current header line so far
}

// scan checks bytes just read, before they are handed on.
func (g *respGuard) scan(p []byte) error {
	for len(p) > 0 {
		if g.skip > 0 {
			n := int(min(g.skip, int64(len(p))))
			g.skip -= int64(n)
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		end := i + 1
		if i < 0 {
			end = len(p)
		}
		if len(g.line)+end > maxRESPLine {
			return fmt.Errorf("%w: a line of more than %d bytes", errReplyTooLarge, maxRESPLine)
		}
		g.line = append(g.line, p[:end]...)
		p = p[end:]
		if i < 0 {
			return nil // the line goes on in the next read
		}
		err := g.header(g.line)
		g.line = g.line[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// header charges one line, and what its header declares, to the budget.
func (g *respGuard) header(line []byte) error {
	cost := int64(len(line))
	if len(line) >= 3 {
		var per int64 // bytes go-redis allocates per declared unit
		switch line[0] {
		case '$', '!', '=': // bulk string, bulk error, verbatim string: n bytes + CRLF
			per = 1
		case '*', '~', '>': // array, set, push: n values
			per = respSlot
		case '%', '|': // map, attribute: n keys and n values
			per = 2 * respSlot
		}
		if per > 0 {
			n, err := strconv.ParseInt(string(bytes.TrimRight(line[1:], "\r\n")), 10, 64)
			if err != nil || n < -1 {
				return fmt.Errorf("%w: malformed length in %.40q", errReplyTooLarge, line)
			}
			if n > 0 {
				if n > g.left.Load()/per {
					return fmt.Errorf("%w: %.40q declares more than the %d bytes a reply may take", errReplyTooLarge, line, g.limit)
				}
				cost += n * per
				if per == 1 {
					g.skip = n + 2 // the payload is read as it is, not parsed
				}
			} else if n == 0 && per == 1 {
				g.skip = 2
			}
		}
	}
	if left := g.left.Load(); cost > left {
		return fmt.Errorf("%w: more than %d bytes for one command", errReplyTooLarge, g.limit)
	}
	g.left.Add(-cost)
	return nil
}
