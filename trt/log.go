package trt

// #include "nailtrt.h"
import "C"

import (
	"context"
	"log/slog"
	"sync/atomic"
)

var logger atomic.Pointer[slog.Logger]

// SetLogger sends native log lines to l (nil: slog.Default()).
func SetLogger(l *slog.Logger) { logger.Store(l) }

func currentLogger() *slog.Logger {
	if l := logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

//export ntGoLog
func ntGoLog(_ *C.void, level C.int, message *C.char) {
	l := currentLogger()
	lvl := slogLevel(int(level))
	if !l.Enabled(context.Background(), lvl) {
		return
	}
	l.Log(context.Background(), lvl, C.GoString(message), "component", "native")
}
