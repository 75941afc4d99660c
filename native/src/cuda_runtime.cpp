// memory.h for builds with CUDA: non-blocking CUDA streams and page-locked host memory
// when a device is usable at run time, host fallbacks when it is not (a GPU build must
// still run on a machine without a driver).
#include <cuda_runtime_api.h>

#include <cstring>
#include <mutex>

#include "error.h"
#include "log.h"
#include "memory.h"

namespace nt {
namespace {

std::string cuda_message(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

class CudaStream final : public Stream {
 public:
  explicit CudaStream(int device) : device_(device) {
    cudaError_t err = cudaSetDevice(device);
    if (err == cudaSuccess) err = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
    if (err != cudaSuccess) fail(NT_RUNTIME, "cannot create CUDA stream: " + cuda_message(err));
  }
  ~CudaStream() override {
    // Destroying a stream with queued work is legal, but its buffers may be freed right
    // after: wait first.
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
  bool is_cuda() const override { return true; }
  int device() const override { return device_; }
  void* native() const override { return stream_; }
  void synchronize() override {
    cudaError_t err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) fail(NT_RUNTIME, "CUDA stream failed: " + cuda_message(err));
  }

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
};

// Whether any device works, decided once: cudaGetDeviceCount loads the driver, which is
// slow and, without a driver, fails the same way every time.
struct Probe {
  int count = 0;
  std::string why;
};

const Probe& probe() {
  static Probe p;
  static std::once_flag once;
  std::call_once(once, [] {
    cudaError_t err = cudaGetDeviceCount(&p.count);
    if (err != cudaSuccess) {
      p.count = 0;
      p.why = "no usable CUDA driver or device: " + cuda_message(err);
    } else if (p.count == 0) {
      p.why = "no CUDA device found";
    }
  });
  return p;
}

}  // namespace

bool cuda_built() { return true; }

bool cuda_usable(int device, std::string* why) {
  const Probe& p = probe();
  if (p.count == 0) {
    if (why) *why = p.why;
    return false;
  }
  if (device < 0 || device >= p.count) {
    if (why) *why = "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(p.count) + " found)";
    return false;
  }
  return true;
}

std::string cuda_version() {
  int runtime = 0, driver = 0;
  // Without a usable driver the statically linked runtime may answer nothing; it is still
  // the one this library was built with.
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess || runtime == 0) runtime = CUDART_VERSION;
  cudaDriverGetVersion(&driver);
  auto fmt = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
  return "runtime " + fmt(runtime) + ", driver " + (driver ? fmt(driver) : std::string("none"));
}

std::unique_ptr<Stream> make_stream(int device) {
  if (!cuda_usable(device, nullptr)) return make_host_stream();
  return std::make_unique<CudaStream>(device);
}

std::unique_ptr<Buffer> make_buffer(size_t size) {
  if (cuda_usable(0, nullptr)) {
    void* p = nullptr;
    // cudaHostAlloc returns page-aligned memory, which satisfies kBufferAlignment.
    cudaError_t err = cudaHostAlloc(&p, size ? size : 1, cudaHostAllocPortable);
    if (err == cudaSuccess) {
      memset(p, 0, size);
      return std::make_unique<Buffer>(p, size, true);
    }
    log(NT_LOG_WARNING,
        "cudaHostAlloc(" + std::to_string(size) + ") failed, using pageable memory: " + cuda_message(err));
  }
  return std::make_unique<Buffer>(aligned_host_alloc(size), size, false);
}

Buffer::~Buffer() {
  if (pinned_) {
    cudaFreeHost(data_);
  } else {
    aligned_host_free(data_);
  }
}

}  // namespace nt
