// Errors per call, not per process: the mechanism the TensorRT plugin files TensorRT's
// reasons with (ThreadErrors, behind its IErrorRecorder and ILogger) and the core's
// thread-local last error, exercised by threads that fail at the same moment. Needs no
// TensorRT. Also the one binding-size check every backend shares.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "error.h"
#include "tensorrt/thread_errors.h"

namespace nt {
namespace {

// Holds every thread at the line until all have reached it, so their reports and failures
// interleave instead of running one after the other.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    int gen = gen_.load();
    if (waiting_.fetch_add(1) + 1 == n_) {
      waiting_.store(0);
      gen_.fetch_add(1);
      return;
    }
    while (gen_.load() == gen) std::this_thread::yield();
  }

 private:
  const int n_;
  std::atomic<int> waiting_{0};
  std::atomic<int> gen_{0};
};

constexpr int kThreads = 4;
constexpr int kRounds = 200;

// What the plugin's check_trt does with the reasons: the failing call throws nt::Error
// with them, and the C ABI's guard stores the message as the thread's last error.
void fail_call(const std::string& what, trt::ThreadErrors& reasons) {
  try {
    fail(NT_RUNTIME, what + ": " + reasons.take());
  } catch (const Error& e) {
    set_last_error(e.what());
  }
}

TEST(ThreadErrors, ThreadsFailingTogetherEachGetTheirOwnReason) {
  trt::ThreadErrors shared;  // one recorder, as an engine's is, shared by every thread
  Barrier barrier(kThreads);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::string mine = "reason of thread " + std::to_string(t) + " round " + std::to_string(round);
        barrier.wait();
        shared.report(7, mine.c_str());
        barrier.wait();  // every thread has reported before any takes
        fail_call("call " + std::to_string(t), shared);
        barrier.wait();  // every thread has failed before any reads
        if (std::string(last_error()) != "call " + std::to_string(t) + ": " + mine) wrong.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(shared.take_all(), "");  // every thread took what it reported, nothing is left
}

TEST(ThreadErrors, TakeReturnsThisThreadsMessagesOnceInOrder) {
  trt::ThreadErrors e;
  EXPECT_EQ(e.take(), "");
  e.report(1, "first");
  e.report(2, nullptr);  // no text: kept for the getters, skipped when joined
  e.report(3, "second");
  EXPECT_EQ(e.count(), 3);
  EXPECT_EQ(e.code(2, -1), 3);
  EXPECT_EQ(e.code(3, -1), -1);
  EXPECT_STREQ(e.message(0), "first");
  EXPECT_STREQ(e.message(9), "");
  std::thread([&] {
    EXPECT_EQ(e.count(), 0);  // another thread sees none of them
    EXPECT_EQ(e.take(), "");
    e.report(4, "other thread");
  }).join();
  EXPECT_EQ(e.take(), "first; second");
  EXPECT_EQ(e.take(), "");
  EXPECT_EQ(e.take_all(), "other thread");  // a recorder serving one call takes its workers' too
  EXPECT_EQ(e.take_all(), "");
}

TEST(ThreadErrors, MessagesStayPutWhileMoreArriveAndClearForgets) {
  trt::ThreadErrors e(3);
  e.report(1, "a");
  const char* first = e.message(0);
  for (int i = 0; i < 10; ++i) e.report(1, "more");
  EXPECT_STREQ(first, "a");  // IErrorRecorder::getErrorDesc's pointer stays valid
  EXPECT_EQ(e.count(), 3);
  EXPECT_TRUE(e.overflowed());
  e.clear();
  EXPECT_EQ(e.count(), 0);
  EXPECT_FALSE(e.overflowed());
  e.report(1, "x");
  e.report(1, "y");
  e.report(1, "z");
  e.report(1, "dropped");
  EXPECT_EQ(e.take(), "x; y; z; (more messages were dropped)");
}

TEST(ThreadErrors, BoundedNumberOfThreads) {
  trt::ThreadErrors e(4, 1);
  e.report(1, "kept");
  std::thread([&] { e.report(1, "dropped: no room for a second thread"); }).join();
  EXPECT_EQ(e.take_all(), "kept");
}

// The core's rule (nailtrt.h, nt_last_error): only a failing call changes the message.
TEST(LastError, PerThreadAndKeptUntilTheNextFailure) {
  set_last_error("mine");
  const char* p = last_error();
  std::thread([] {
    EXPECT_STREQ(last_error(), "");
    set_last_error("theirs");
  }).join();
  EXPECT_EQ(p, last_error());
  EXPECT_STREQ(last_error(), "mine");
}

TensorDesc desc(const char* name, nt_io_mode mode) {
  TensorDesc t;
  t.name = name;
  t.mode = mode;
  t.dtype = NT_FLOAT32;
  t.dims = {-1, 4};
  return t;
}

TEST(BindingSize, OneCheckOneMessage) {
  std::vector<float> mem(8);
  Binding b{mem.data(), 16};
  TensorDesc out = desc("y", NT_OUTPUT), in = desc("x", NT_INPUT);
  EXPECT_EQ(tensor_bytes(out, {2, 4}), 32u);
  EXPECT_TRUE(check_binding_size(out, {1, 4}, b));
  try {
    check_binding_size(in, {2, 4}, b);
    FAIL() << "a binding too small for the input was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), NT_SHAPE);
    EXPECT_STREQ(e.what(), "input x of shape [2,4] needs 32 bytes, its binding holds 16");
  }
  // Collecting: the first message is kept, later ones do not replace it.
  std::string first;
  EXPECT_FALSE(check_binding_size(out, {2, 4}, b, &first));
  EXPECT_FALSE(check_binding_size(out, {3, 4}, b, &first));
  EXPECT_EQ(first, "output y of shape [2,4] needs 32 bytes, its binding holds 16");
}

}  // namespace
}  // namespace nt
