// Shared pieces of the TensorRT plugin: the logger and error recorder, owning pointers,
// CUDA error checks, type mapping. Only compiled where TensorRT headers exist (see
// native/CMakeLists.txt).
#pragma once

#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <atomic>
#include <memory>
#include <string>

#include "../error.h"
#include "../log.h"
#include "../tensor.h"
#include "thread_errors.h"

namespace nt::trt {

// Forwards TensorRT's messages to the nailtrt log and files its errors under the thread
// that logged them (see thread_errors.h), so a failed call can say why ("unable to
// deserialize plan: <TensorRT's own reason>"), as Triton's TensorRT backend does, and
// never with another thread's reason. One per process: TensorRT wants a single logger.
// Objects with an ErrorRecorder send their errors there instead.
class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override;
  // The kERROR/kINTERNAL_ERROR messages logged on the calling thread since its last take
  // or forget; they are then forgotten.
  std::string take_error() { return errors_.take(); }
  void forget() noexcept { errors_.clear(); }

 private:
  ThreadErrors errors_;
};

Logger& logger();

// TensorRT's error recorder for one runtime/engine, execution context or engine build.
// TensorRT sends the errors of an object with a recorder to that recorder (not to the
// logger); the recorder files them per thread, logs them, and check_trt turns them into
// the failing call's message.
class ErrorRecorder final : public nvinfer1::IErrorRecorder {
 public:
  enum class Scope {
    kThread,  // shared by calls on many threads (an engine): a call takes its thread's errors
    kCall,    // serves one call at a time (a build): the call takes all, worker threads' too
  };
  explicit ErrorRecorder(Scope scope = Scope::kThread) : scope_(scope) {}

  int32_t getNbErrors() const noexcept override { return errors_.count(); }
  nvinfer1::ErrorCode getErrorCode(int32_t i) const noexcept override;
  ErrorDesc getErrorDesc(int32_t i) const noexcept override { return errors_.message(i); }
  bool hasOverflowed() const noexcept override { return errors_.overflowed(); }
  void clear() noexcept override;
  bool reportError(nvinfer1::ErrorCode code, ErrorDesc desc) noexcept override;
  RefCount incRefCount() noexcept override { return ++refs_; }
  RefCount decRefCount() noexcept override { return --refs_; }

  // The errors this call reported (see Scope), then forgotten.
  std::string take();

 private:
  const Scope scope_;
  ThreadErrors errors_;
  std::atomic<RefCount> refs_{0};
};

// Starts a call into TensorRT on this thread: forgets what TensorRT reported on this thread
// before (to the logger and to recorder, which may be NULL), so the reasons a failing
// check_trt gives are this call's own.
void begin_call(ErrorRecorder* recorder);

// TensorRT 10+ objects are released with delete.
template <typename T>
using Ptr = std::unique_ptr<T>;

// Throws nt::Error(code) with "what: <the errors TensorRT reported for this call>" when ok
// is false: those recorder (the failing object's, or NULL) holds for this call (see
// ErrorRecorder::Scope), then those the logger got on the calling thread.
void check_trt(bool ok, nt_status code, const std::string& what, ErrorRecorder* recorder);

// Throws NT_RUNTIME (or NT_OUT_OF_MEMORY) with the CUDA error's name and text.
void check_cuda(cudaError_t err, const std::string& what);

nt_dtype from_trt(nvinfer1::DataType t);
Dims from_trt(const nvinfer1::Dims& d);
nvinfer1::Dims to_trt(const Dims& d);

// TensorRT library version as "11.1.0".
std::string library_version();

}  // namespace nt::trt
