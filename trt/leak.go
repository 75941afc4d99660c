package trt

import (
	"log/slog"
	"runtime"
	"sync/atomic"
)

// Live counts native handles that are open, by kind. Tests use it to prove nothing leaks;
// servers can export it as a gauge.
type LiveCounts struct {
	Engines, Contexts, Streams, Buffers int64
}

var live struct {
	engines, contexts, streams, buffers atomic.Int64
}

// Live returns the number of open handles of each kind.
func Live() LiveCounts {
	return LiveCounts{live.engines.Load(), live.contexts.Load(), live.streams.Load(), live.buffers.Load()}
}

// handleState is shared between an owning Go value and its cleanup: the cleanup must not
// reference the owner, or the owner could never be collected.
type handleState struct {
	closed atomic.Bool
	kind   string
}

// watch reports owner being garbage collected while its handle is still open. It only
// reports: freeing native memory from the collector could race with a binding that the
// caller still relies on, so a leak stays a leak, but a visible one.
func watch[T any](owner *T, kind string) *handleState {
	st := &handleState{kind: kind}
	runtime.AddCleanup(owner, func(s *handleState) {
		if !s.closed.Load() {
			currentLogger().Warn("trt: "+s.kind+" garbage collected without Close: native memory leaked", slog.String("kind", s.kind))
		}
	}, st)
	return st
}
