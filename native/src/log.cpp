#include "log.h"

#include <atomic>
#include <mutex>

namespace nt {
namespace {
std::mutex g_mu;  // guards the sink while it is swapped or called
nt_log_fn g_fn = nullptr;
void* g_user = nullptr;
std::atomic<int> g_min{-1};  // -1: no sink; checked without the lock on the fast path
}  // namespace

void set_logger(nt_log_fn fn, void* user, nt_log_level min_level) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_fn = fn;
  g_user = user;
  g_min.store(fn ? static_cast<int>(min_level) : -1);
}

bool log_enabled(nt_log_level level) { return static_cast<int>(level) <= g_min.load(); }

void log(nt_log_level level, const std::string& message) {
  if (!log_enabled(level)) return;
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_fn) g_fn(g_user, level, message.c_str());
}

}  // namespace nt
