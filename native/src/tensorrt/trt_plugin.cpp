// Entry point of libnailtrt_tensorrt.so and the helpers of trt_common.h.
#include <NvInferVersion.h>

#include "plugin.h"
#include "trt_common.h"

namespace nt {

// The plugin has no log state of its own: it borrows the core library's sink.
namespace {
const PluginHost* g_host = nullptr;
}

bool log_enabled(nt_log_level level) { return g_host != nullptr && g_host->log_enabled(level); }

void log(nt_log_level level, const std::string& message) {
  if (g_host) g_host->log(level, message);
}

namespace trt {

void Logger::log(Severity severity, const char* msg) noexcept {
  try {
    nt_log_level level = severity <= Severity::kERROR     ? NT_LOG_ERROR
                         : severity == Severity::kWARNING ? NT_LOG_WARNING
                         : severity == Severity::kINFO    ? NT_LOG_INFO
                                                          : NT_LOG_VERBOSE;
    if (level == NT_LOG_ERROR) errors_.report(static_cast<int32_t>(severity), msg);
    if (nt::log_enabled(level)) nt::log(level, std::string("tensorrt: ") + (msg ? msg : ""));
  } catch (...) {
  }
}

Logger& logger() {
  static Logger l;
  return l;
}

nvinfer1::ErrorCode ErrorRecorder::getErrorCode(int32_t i) const noexcept {
  return static_cast<nvinfer1::ErrorCode>(
      errors_.code(i, static_cast<int32_t>(nvinfer1::ErrorCode::kUNSPECIFIED_ERROR)));
}

void ErrorRecorder::clear() noexcept {
  if (scope_ == Scope::kCall)
    errors_.clear_all();
  else
    errors_.clear();
}

bool ErrorRecorder::reportError(nvinfer1::ErrorCode code, ErrorDesc desc) noexcept {
  errors_.report(static_cast<int32_t>(code), desc);
  try {
    // With a recorder set, TensorRT reports errors here instead of to the logger: log them too.
    if (nt::log_enabled(NT_LOG_ERROR)) nt::log(NT_LOG_ERROR, std::string("tensorrt: ") + (desc ? desc : ""));
  } catch (...) {
  }
  // A hint to TensorRT: only an internal error leaves it in a state not worth continuing.
  return code == nvinfer1::ErrorCode::kINTERNAL_ERROR;
}

std::string ErrorRecorder::take() { return scope_ == Scope::kCall ? errors_.take_all() : errors_.take(); }

void begin_call(ErrorRecorder* recorder) {
  logger().forget();
  if (recorder) recorder->clear();
}

void check_trt(bool ok, nt_status code, const std::string& what, ErrorRecorder* recorder) {
  if (ok) return;
  std::string why = recorder ? recorder->take() : std::string();
  std::string logged = logger().take_error();
  if (!logged.empty()) why += (why.empty() ? "" : "; ") + logged;
  fail(code, what + (why.empty() ? std::string(" (TensorRT gave no reason)") : ": " + why));
}

void check_cuda(cudaError_t err, const std::string& what) {
  if (err == cudaSuccess) return;
  nt_status code = err == cudaErrorMemoryAllocation ? NT_OUT_OF_MEMORY : NT_RUNTIME;
  fail(code, what + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

nt_dtype from_trt(nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: return NT_FLOAT32;
    case nvinfer1::DataType::kHALF: return NT_FLOAT16;
    case nvinfer1::DataType::kBF16: return NT_BFLOAT16;
    case nvinfer1::DataType::kINT8: return NT_INT8;
    case nvinfer1::DataType::kUINT8: return NT_UINT8;
    case nvinfer1::DataType::kINT32: return NT_INT32;
    case nvinfer1::DataType::kINT64: return NT_INT64;
    case nvinfer1::DataType::kBOOL: return NT_BOOL;
    default: return NT_DTYPE_UNKNOWN;
  }
}

Dims from_trt(const nvinfer1::Dims& d) {
  Dims out;
  for (int32_t i = 0; i < d.nbDims; ++i) out.push_back(d.d[i]);
  return out;
}

nvinfer1::Dims to_trt(const Dims& d) {
  nvinfer1::Dims out{};
  if (d.size() > static_cast<size_t>(nvinfer1::Dims::MAX_DIMS))
    fail(NT_SHAPE, "rank " + std::to_string(d.size()) + " exceeds TensorRT's limit");
  out.nbDims = static_cast<int32_t>(d.size());
  for (size_t i = 0; i < d.size(); ++i) out.d[i] = d[i];
  return out;
}

std::string library_version() {
  int32_t v = getInferLibVersion();  // MAJOR*10000 + MINOR*100 + PATCH
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

bool usable(int device, std::string* why) {
  int32_t major = getInferLibMajorVersion();
  if (major != NV_TENSORRT_MAJOR) {
    if (why)
      *why = "no library: libnvinfer " + library_version() + " does not match the TensorRT " +
             std::to_string(NV_TENSORRT_MAJOR) + " headers nailtrt was built with";
    return false;
  }
  cudaDeviceProp prop{};
  cudaError_t err = cudaGetDeviceProperties(&prop, device);
  if (err != cudaSuccess) {
    if (why) *why = std::string("no GPU: ") + cudaGetErrorString(err);
    return false;
  }
  return true;
}

std::unique_ptr<Engine> load(const void* data, size_t len, const std::string& origin, const EngineOptions& options);

}  // namespace trt
}  // namespace nt

namespace {

void attach(const nt::PluginHost* host) { nt::g_host = host; }

const nt::TensorrtPlugin kPlugin{
    nt::kPluginAbi, &attach, &nt::trt::usable, &nt::trt::load, &nt::trt::library_version,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const nt::TensorrtPlugin* nt_tensorrt_plugin(void) {
  return &kPlugin;
}
