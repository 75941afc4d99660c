#include "error.h"

namespace nt {
namespace {
// One message per thread: a failing call on one goroutine's OS thread never overwrites the
// message another thread is about to read.
thread_local std::string g_last_error;
}  // namespace

void set_last_error(const std::string& message) noexcept {
  try {
    g_last_error = message;
  } catch (...) {
    // Out of memory while copying the message. Never keep the previous call's message:
    // this assignment fits the string's inline buffer, so it cannot allocate.
    g_last_error.assign("out of memory");
  }
}

const char* last_error() noexcept { return g_last_error.c_str(); }

}  // namespace nt
