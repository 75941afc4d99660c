// Finds and loads the TensorRT backend plugin (see tensorrt/plugin.h), once.
#include <dlfcn.h>

#include <mutex>

#include "backend.h"
#include "error.h"
#include "log.h"
#include "memory.h"
#include "tensorrt/plugin.h"

namespace nt {
namespace {

constexpr const char* kPluginName = "libnailtrt_tensorrt.so";

struct Loaded {
  const TensorrtPlugin* plugin = nullptr;
  std::string why;
};

// The folder this library was loaded from, where the build puts the plugin next to it.
std::string own_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_dir), &info) == 0 || info.dli_fname == nullptr) return "";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

const PluginHost kHost{&log_enabled, &log};

const Loaded& loaded() {
  static Loaded l;
  static std::once_flag once;
  std::call_once(once, [] {
#ifndef NT_WITH_TENSORRT
    l.why =
        "not built: nailtrt was built without TensorRT (CMake found no TensorRT headers and libraries; "
        "set TENSORRT_ROOT and rebuild on a machine with CUDA)";
#else
    std::string path = own_dir() + kPluginName;
    // RTLD_LOCAL: TensorRT's symbols stay out of the global namespace.
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* err = dlerror();
      l.why = std::string("no library: cannot load the TensorRT backend ") + path + ": " + (err ? err : "unknown error") +
              " (is TensorRT's libnvinfer on the library path?)";
      return;
    }
    auto entry = reinterpret_cast<const TensorrtPlugin* (*)()>(dlsym(h, "nt_tensorrt_plugin"));
    const TensorrtPlugin* p = entry ? entry() : nullptr;
    if (p == nullptr || p->abi != kPluginAbi) {
      l.why = path + " is not a compatible nailtrt TensorRT plugin";
      return;
    }
    p->attach(&kHost);
    l.plugin = p;
#endif
  });
  return l;
}

}  // namespace

bool tensorrt_usable(int device, std::string* why) {
  const Loaded& l = loaded();
  if (l.plugin == nullptr) {
    if (why) *why = l.why;
    return false;
  }
  std::string cuda_why;
  if (!cuda_usable(device, &cuda_why)) {
    if (why) *why = "no GPU: " + cuda_why;
    return false;
  }
  return l.plugin->usable(device, why);
}

std::string tensorrt_version() {
  const Loaded& l = loaded();
  return l.plugin ? l.plugin->version() : "none";
}

std::unique_ptr<Engine> load_tensorrt(const void* data, size_t len, const std::string& origin,
                                      const EngineOptions& options) {
  std::string why;
  if (!tensorrt_usable(options.device_id, &why)) fail(NT_UNAVAILABLE, "tensorrt unavailable: " + why);
  return loaded().plugin->load(data, len, origin, options);
}

}  // namespace nt
