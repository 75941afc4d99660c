// RAII owners and error handling for the GPU stages (gpu.h).
#include <string>

#include "cuda/gpu.h"
#include "error.h"

namespace nt {
namespace gpu {

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  // Clear the sticky-free error state so the next call does not report this one again.
  cudaGetLastError();
  std::string msg = std::string(what) + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
  fail(err == cudaErrorMemoryAllocation ? NT_OUT_OF_MEMORY : NT_RUNTIME, msg);
}

DeviceBuffer::~DeviceBuffer() { cudaFree(data_); }

void* DeviceBuffer::reserve(size_t bytes) {
  if (bytes <= size_ && data_ != nullptr) return data_;
  cudaFree(data_);
  data_ = nullptr;
  size_ = 0;
  check(cudaMalloc(&data_, bytes ? bytes : 1), "cudaMalloc");
  size_ = bytes;
  return data_;
}

PinnedBuffer::~PinnedBuffer() { cudaFreeHost(data_); }

void* PinnedBuffer::reserve(size_t bytes) {
  if (bytes <= size_ && data_ != nullptr) return data_;
  cudaFreeHost(data_);
  data_ = nullptr;
  size_ = 0;
  check(cudaHostAlloc(&data_, bytes ? bytes : 1, cudaHostAllocPortable), "cudaHostAlloc");
  size_ = bytes;
  return data_;
}

Event::Event() { check(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreate"); }

Event::~Event() { cudaEventDestroy(event_); }

void Event::record(cudaStream_t s) { check(cudaEventRecord(event_, s), "cudaEventRecord"); }

void Event::wait() { check(cudaEventSynchronize(event_), "cudaEventSynchronize"); }

bool device_usable(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (why)
      *why = std::string("no usable CUDA driver or device: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  return true;
}

}  // namespace gpu
}  // namespace nt
