#include "error.h"

namespace nt {
namespace {
// One message per thread: a failing call on one goroutine's OS thread never overwrites the
// message another thread is about to read.
thread_local std::string g_last_error;
}  // namespace

void set_last_error(const std::string& message) {
  try {
    g_last_error = message;
  } catch (...) {
    // Out of memory while copying the message: keep whatever was there, never throw.
  }
}

void clear_last_error() { g_last_error.clear(); }

const char* last_error() { return g_last_error.c_str(); }

}  // namespace nt
