// Error messages that a library reports through callbacks (TensorRT's IErrorRecorder and
// ILogger), filed under the thread that reported them, so that a failing call takes its
// own reasons and never another thread's: two contexts failing at once on two threads
// each say why they failed. Needs no TensorRT, so it is unit-tested on any machine.
//
// Lifetime, the same rule for every message on its way to nt_last_error(): a message
// belongs to the thread that reported it, until that thread takes it (the failing call
// turns it into its nt::Error, which the C ABI stores as that thread's last error) or a
// new call on that thread clears it (so a reason left by a call that did not fail, or by
// an ended thread whose id a new one reuses, is never blamed on a later failure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace nt::trt {

class ThreadErrors {
 public:
  // Keeps at most per_thread messages for each thread, for at most threads threads at a
  // time; beyond either limit messages are dropped (a take then says so).
  explicit ThreadErrors(size_t per_thread = 16, size_t threads = 256) : per_thread_(per_thread), threads_(threads) {}
  ThreadErrors(const ThreadErrors&) = delete;
  ThreadErrors& operator=(const ThreadErrors&) = delete;

  // Files message (NULL reads as "") with its code under the calling thread. Never throws.
  void report(int32_t code, const char* message) noexcept;

  // The calling thread's messages, oldest first, joined by "; " ("" if none); they are
  // forgotten.
  std::string take();
  // Every thread's messages, the calling thread's first; all are forgotten. Only for an
  // instance that serves a single call (an engine build), where a message from a worker
  // thread of that call is still that call's reason.
  std::string take_all();

  // Forget the calling thread's messages, or everyone's.
  void clear() noexcept;
  void clear_all() noexcept;

  // The calling thread's messages, for IErrorRecorder's getters. message(i) stays valid
  // until the calling thread's next take or clear (or any take_all or clear_all); out of
  // range it is "" and code(i) is `otherwise`.
  int32_t count() const noexcept;
  int32_t code(int32_t i, int32_t otherwise) const noexcept;
  const char* message(int32_t i) const noexcept;
  // Whether a message of the calling thread was dropped since its last take or clear.
  bool overflowed() const noexcept;

 private:
  struct Entry {
    // A deque: appending never moves the strings message() handed out.
    std::deque<std::pair<int32_t, std::string>> errors;
    bool overflowed = false;
  };

  const Entry* find_locked() const;
  static void append(const Entry& e, std::string* out);

  const size_t per_thread_;
  const size_t threads_;
  mutable std::mutex mu_;
  std::unordered_map<std::thread::id, Entry> by_thread_;
};

}  // namespace nt::trt
