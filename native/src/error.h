// Errors inside the runner: C++ code throws nt::Error; the C ABI layer (abi.cpp) catches
// it, stores the message as the thread's last error and returns the status.
#pragma once

#include <stdexcept>
#include <string>

#include "nailtrt.h"

namespace nt {

class Error : public std::runtime_error {
 public:
  Error(nt_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  nt_status status() const noexcept { return status_; }

 private:
  nt_status status_;
};

[[noreturn]] inline void fail(nt_status status, const std::string& message) { throw Error(status, message); }

// Throws NT_INVALID_ARGUMENT naming the argument when p is NULL.
template <typename T>
T* require(T* p, const char* what) {
  if (p == nullptr) fail(NT_INVALID_ARGUMENT, std::string(what) + " is NULL");
  return p;
}

// The calling thread's last error, as nt_last_error() promises (nailtrt.h): set by every
// failing call and by nothing else, so the string last_error() returns stays valid and
// unchanged until the next failing call on the same thread. The TensorRT plugin follows
// the same path: TensorRT's reasons for a failure become the nt::Error of the failing call
// on the thread that made it (tensorrt/thread_errors.h).
void set_last_error(const std::string& message) noexcept;
const char* last_error() noexcept;

}  // namespace nt
