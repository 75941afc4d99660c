// Streams and host buffers. With CUDA built in and a usable device they are CUDA streams
// and page-locked memory; otherwise a synchronous host stream and aligned host memory, so
// callers (and the Go package) never branch on the build.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace nt {

class Stream {
 public:
  virtual ~Stream() = default;
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  virtual bool is_cuda() const = 0;
  virtual int device() const = 0;
  // cudaStream_t for CUDA streams, nullptr for host streams.
  virtual void* native() const = 0;
  virtual void synchronize() = 0;
};

class Buffer {
 public:
  Buffer(void* data, size_t size, bool pinned) : data_(data), size_(size), pinned_(pinned) {}
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  bool pinned() const { return pinned_; }

 private:
  void* data_;
  size_t size_;
  bool pinned_;
};

// Alignment of every buffer: a cache line, and enough for AVX-512 loads.
constexpr size_t kBufferAlignment = 64;

std::unique_ptr<Stream> make_stream(int device);
std::unique_ptr<Buffer> make_buffer(size_t size);

// CUDA, as far as the core library is concerned (cuda_runtime.cpp or cuda_none.cpp).
bool cuda_built();
// True when device can be used; otherwise *why says why ("not built with CUDA", ...).
bool cuda_usable(int device, std::string* why);
std::string cuda_version();

// Host-side pieces used by both implementations.
void* aligned_host_alloc(size_t size);
void aligned_host_free(void* p);
std::unique_ptr<Stream> make_host_stream();

}  // namespace nt
