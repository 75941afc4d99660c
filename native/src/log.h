// Process-wide log sink for native messages (ONNX Runtime, TensorRT, engine builds).
// The Go side installs a callback that forwards into slog.
#pragma once

#include <string>

#include "nailtrt.h"

namespace nt {

void set_logger(nt_log_fn fn, void* user, nt_log_level min_level);
bool log_enabled(nt_log_level level);
void log(nt_log_level level, const std::string& message);

}  // namespace nt
