// The interface between the core library and the TensorRT backend, which is built as a
// separate shared library (libnailtrt_tensorrt.so) and loaded with dlopen on first use.
//
// Why a plugin: libnvinfer and the CUDA driver are large and absent on CPU machines. If the
// core linked them, a GPU build could not even start there. Loaded lazily, a missing
// library becomes an "unavailable" status with the loader's reason, and auto falls back to
// ONNX Runtime. Both libraries are built from this tree by the same compiler, so C++ types
// (Engine, Stream, nt::Error) may cross; the plugin is never unloaded.
#pragma once

#include <memory>
#include <string>

#include "../backend.h"

namespace nt {

// What the core lends the plugin: its log sink (the plugin has no copy of log state).
struct PluginHost {
  bool (*log_enabled)(nt_log_level level);
  void (*log)(nt_log_level level, const std::string& message);
};

// 2: Context gained write_input and read_output (its vtable changed).
// 3: write_input takes a pix::Source (pixels or a JPEG's planes), not a pixel pointer.
constexpr unsigned kPluginAbi = 3;

struct TensorrtPlugin {
  unsigned abi;  // kPluginAbi
  void (*attach)(const PluginHost* host);
  bool (*usable)(int device, std::string* why);
  std::unique_ptr<Engine> (*load)(const void* data, size_t len, const std::string& origin,
                                  const EngineOptions& options);
  std::string (*version)();
};

}  // namespace nt

// Exported by libnailtrt_tensorrt.so.
extern "C" const nt::TensorrtPlugin* nt_tensorrt_plugin(void);
