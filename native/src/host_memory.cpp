// Host streams and aligned host memory: the CPU side of memory.h, always built.
#include <cstdlib>
#include <cstring>

#include "error.h"
#include "memory.h"

namespace nt {
namespace {

// A stream on which everything has already happened: ONNX Runtime runs synchronously in
// the calling thread, so there is nothing to wait for.
class HostStream final : public Stream {
 public:
  bool is_cuda() const override { return false; }
  int device() const override { return -1; }
  void* native() const override { return nullptr; }
  void synchronize() override {}
};

}  // namespace

void* aligned_host_alloc(size_t size) {
  // aligned_alloc needs a size that is a multiple of the alignment; a zero-byte buffer
  // still gets one line so data() is never NULL.
  size_t rounded = (size + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  if (rounded == 0) rounded = kBufferAlignment;
  if (rounded < size) fail(NT_OUT_OF_MEMORY, "buffer size overflows");
  void* p = std::aligned_alloc(kBufferAlignment, rounded);
  if (p == nullptr) fail(NT_OUT_OF_MEMORY, "cannot allocate " + std::to_string(size) + " bytes of host memory");
  std::memset(p, 0, rounded);
  return p;
}

void aligned_host_free(void* p) { std::free(p); }

std::unique_ptr<Stream> make_host_stream() { return std::make_unique<HostStream>(); }

}  // namespace nt
