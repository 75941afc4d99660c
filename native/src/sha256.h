// SHA-256, for the TensorRT plan cache key (the ONNX file's digest). Small and dependency
// free so the core library does not pull in OpenSSL for one hash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace nt {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::array<uint8_t, 32> digest();  // finishes; the object must not be updated after
  static std::string hex(const void* data, size_t len);

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

}  // namespace nt
