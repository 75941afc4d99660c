// memory.h for builds without CUDA: host streams and aligned memory only.
#include "error.h"
#include "memory.h"

namespace nt {

bool cuda_built() { return false; }

bool cuda_usable(int, std::string* why) {
  if (why) *why = "nailtrt was built without CUDA (CMake found no CUDA toolkit)";
  return false;
}

std::string cuda_version() { return "none"; }

std::unique_ptr<Stream> make_stream(int) { return make_host_stream(); }

std::unique_ptr<Buffer> make_buffer(size_t size) {
  return std::make_unique<Buffer>(aligned_host_alloc(size), size, false);
}

Buffer::~Buffer() { aligned_host_free(data_); }

}  // namespace nt
