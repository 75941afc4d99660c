package trt

/*
#include "nailtrt.h"

extern void ntGoLog(void* user, int level, char* message);

// nt_log_fn passes a const char*; cgo exports take char*. This adapter sits in its own
// file because a file with //export may only declare, not define, in its preamble.
static void nt_go_log_adapter(void* user, nt_log_level level, const char* message) {
	ntGoLog(user, (int)level, (char*)message);
}

static nt_status nt_install_go_logger(nt_log_level min_level) {
	return nt_set_logger(nt_go_log_adapter, 0, min_level);
}
*/
import "C"

import "log/slog"

// installLogger routes native log lines (ONNX Runtime warnings, TensorRT build progress)
// into slog. Called once, from checkABI.
func installLogger() {
	C.nt_install_go_logger(C.NT_LOG_INFO)
}

func slogLevel(level int) slog.Level {
	switch level {
	case 0:
		return slog.LevelError
	case 1:
		return slog.LevelWarn
	case 2:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
