// Shared pieces of the TensorRT plugin: the logger, owning pointers, CUDA error checks,
// type mapping. Only compiled where TensorRT headers exist (see native/CMakeLists.txt).
#pragma once

#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <mutex>
#include <string>

#include "../error.h"
#include "../log.h"
#include "../tensor.h"

namespace nt::trt {

// Forwards TensorRT's messages to the nailtrt log and keeps the last error, so a failed
// call can say why ("unable to deserialize plan: <TensorRT's own reason>"), as Triton's
// TensorRT backend does.
class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override;
  // The last kERROR/kINTERNAL_ERROR message since the previous take, then clears it.
  std::string take_error();

 private:
  std::mutex mu_;
  std::string last_error_;
};

Logger& logger();

// TensorRT 10+ objects are released with delete.
template <typename T>
using Ptr = std::unique_ptr<T>;

// Throws nt::Error(code) with "what: TensorRT's last error" when ok is false.
void check_trt(bool ok, nt_status code, const std::string& what);

// Throws NT_RUNTIME (or NT_OUT_OF_MEMORY) with the CUDA error's name and text.
void check_cuda(cudaError_t err, const std::string& what);

nt_dtype from_trt(nvinfer1::DataType t);
Dims from_trt(const nvinfer1::Dims& d);
nvinfer1::Dims to_trt(const Dims& d);

// TensorRT library version as "11.1.0".
std::string library_version();

}  // namespace nt::trt
