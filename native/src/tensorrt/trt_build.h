// Building a TensorRT plan from ONNX, with the plan cache and the timing cache.
#pragma once

#include <string>

#include "../backend.h"
#include "plan_cache.h"

namespace nt::trt {

// Returns a serialized plan for the ONNX model: from the cache when a plan for this exact
// key exists, otherwise built (progress logged) and then cached.
std::string plan_for_onnx(const void* onnx, size_t len, const std::string& origin, const EngineOptions& options);

}  // namespace nt::trt
