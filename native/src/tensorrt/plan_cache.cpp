#include "plan_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "../error.h"

namespace nt::trt {

std::string PlanKey::str() const {
  return onnx_sha256 + "-trt" + trt_version + "-sm" + std::to_string(sm_major) + std::to_string(sm_minor) + "-" +
         precision + "-b" + std::to_string(opt_batch) + "-" + std::to_string(max_batch);
}

std::string PlanCache::plan_path(const PlanKey& k) const { return dir_ + "/" + k.str() + ".plan"; }

std::string PlanCache::timing_cache_path(const PlanKey& k) const {
  return dir_ + "/timing-trt" + k.trt_version + "-sm" + std::to_string(k.sm_major) + std::to_string(k.sm_minor) +
         ".cache";
}

std::optional<std::string> PlanCache::read(const std::string& path) const {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.empty()) return std::nullopt;
  return data;
}

void PlanCache::write(const std::string& path, const void* data, size_t len) const {
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST)
    fail(NT_RUNTIME, "cannot create cache folder " + dir_ + ": " + std::strerror(errno));
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(len));
    if (!f) fail(NT_RUNTIME, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(NT_RUNTIME, "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
}

}  // namespace nt::trt
