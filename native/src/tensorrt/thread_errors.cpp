#include "thread_errors.h"

namespace nt::trt {

void ThreadErrors::report(int32_t code, const char* message) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_thread_.find(std::this_thread::get_id());
    if (it == by_thread_.end()) {
      if (by_thread_.size() >= threads_) return;  // dropped; the log still has it
      it = by_thread_.emplace(std::this_thread::get_id(), Entry{}).first;
    }
    Entry& e = it->second;
    if (e.errors.size() >= per_thread_) {
      e.overflowed = true;
      return;
    }
    e.errors.emplace_back(code, message ? message : "");
  } catch (...) {
    // Out of memory: the message is dropped, never thrown into the library reporting it.
  }
}

void ThreadErrors::append(const Entry& e, std::string* out) {
  for (const auto& m : e.errors) {
    if (m.second.empty()) continue;
    if (!out->empty()) *out += "; ";
    *out += m.second;
  }
  if (e.overflowed) *out += out->empty() ? "(messages were dropped)" : "; (more messages were dropped)";
}

std::string ThreadErrors::take() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto it = by_thread_.find(std::this_thread::get_id());
  if (it == by_thread_.end()) return out;
  append(it->second, &out);
  by_thread_.erase(it);
  return out;
}

std::string ThreadErrors::take_all() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto mine = by_thread_.find(std::this_thread::get_id());
  if (mine != by_thread_.end()) append(mine->second, &out);
  for (auto it = by_thread_.begin(); it != by_thread_.end(); ++it)
    if (it != mine) append(it->second, &out);
  by_thread_.clear();
  return out;
}

void ThreadErrors::clear() noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    by_thread_.erase(std::this_thread::get_id());
  } catch (...) {
  }
}

void ThreadErrors::clear_all() noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    by_thread_.clear();
  } catch (...) {
  }
}

const ThreadErrors::Entry* ThreadErrors::find_locked() const {
  auto it = by_thread_.find(std::this_thread::get_id());
  return it == by_thread_.end() ? nullptr : &it->second;
}

int32_t ThreadErrors::count() const noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* e = find_locked();
    return e ? static_cast<int32_t>(e->errors.size()) : 0;
  } catch (...) {
    return 0;
  }
}

int32_t ThreadErrors::code(int32_t i, int32_t otherwise) const noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* e = find_locked();
    if (e == nullptr || i < 0 || static_cast<size_t>(i) >= e->errors.size()) return otherwise;
    return e->errors[static_cast<size_t>(i)].first;
  } catch (...) {
    return otherwise;
  }
}

const char* ThreadErrors::message(int32_t i) const noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* e = find_locked();
    if (e == nullptr || i < 0 || static_cast<size_t>(i) >= e->errors.size()) return "";
    return e->errors[static_cast<size_t>(i)].second.c_str();
  } catch (...) {
    return "";
  }
}

bool ThreadErrors::overflowed() const noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* e = find_locked();
    return e != nullptr && e->overflowed;
  } catch (...) {
    return false;
  }
}

}  // namespace nt::trt
