// Where built plans live. A plan is only valid for the TensorRT version and GPU
// architecture that built it (NVIDIA/TensorRT#2176), and for the precision and
// optimisation profile it was built with, so all of these are in the key.
#pragma once

#include <optional>
#include <string>

namespace nt::trt {

struct PlanKey {
  std::string onnx_sha256;  // of the ONNX bytes
  std::string trt_version;  // "11.1.0"
  int sm_major = 0, sm_minor = 0;
  std::string precision;  // "fp16", "fp32" or "typed"
  int opt_batch = 1, max_batch = 1;

  // e.g. "3f2a...c1-trt11.1.0-sm90-fp16-b1-8"
  std::string str() const;
};

class PlanCache {
 public:
  explicit PlanCache(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }

  std::string plan_path(const PlanKey& k) const;
  // One timing cache per TensorRT version and architecture: it speeds up later builds of
  // any model on the same setup.
  std::string timing_cache_path(const PlanKey& k) const;

  std::optional<std::string> read(const std::string& path) const;
  // Writes through a temporary file and rename, so a crash mid-write never leaves a
  // truncated plan that a later start would try to deserialize.
  void write(const std::string& path, const void* data, size_t len) const;

 private:
  std::string dir_;
};

}  // namespace nt::trt
