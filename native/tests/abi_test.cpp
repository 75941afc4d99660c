// The C ABI's contract, independent of any model: versions, NULL handling, error strings.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"

using namespace nttest;

TEST(Abi, Version) { EXPECT_EQ(nt_abi_version(), static_cast<uint32_t>(NT_ABI_VERSION)); }

TEST(Abi, DestroyAcceptsNull) {
  nt_engine_destroy(nullptr);
  nt_context_destroy(nullptr);
  nt_stream_destroy(nullptr);
  nt_buffer_destroy(nullptr);
}

TEST(Abi, NullArgumentsAreErrorsNotCrashes) {
  EXPECT_EQ(nt_engine_load_file(nullptr, nullptr, nullptr), NT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nt_last_error()).find("NULL"), std::string::npos) << nt_last_error();
  size_t n = 0;
  EXPECT_EQ(nt_engine_tensor_count(nullptr, &n), NT_INVALID_ARGUMENT);
  EXPECT_EQ(nt_context_enqueue(nullptr), NT_INVALID_ARGUMENT);
  EXPECT_EQ(nt_stream_synchronize(nullptr), NT_INVALID_ARGUMENT);
  EXPECT_EQ(nt_buffer_data(nullptr, nullptr, nullptr), NT_INVALID_ARGUMENT);
}

TEST(Abi, LastErrorIsPerThread) {
  ASSERT_EQ(nt_engine_load_file("/nonexistent/model.onnx", nullptr, nullptr), NT_INVALID_ARGUMENT);
  std::string mine = nt_last_error();
  std::thread([] {
    EXPECT_STREQ(nt_last_error(), "");
    nt_engine* e = nullptr;
    EXPECT_EQ(nt_engine_load_file("", nullptr, &e), NT_INVALID_ARGUMENT);
  }).join();
  EXPECT_EQ(mine, nt_last_error());
}

// Threads that fail at the same moment each read their own call's message, and the
// message stays until the thread's next failing call (successful calls leave it).
TEST(Abi, ConcurrentFailuresKeepTheirOwnMessages) {
  constexpr int kThreads = 4, kRounds = 100;
  std::atomic<int> ready{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round) {
        std::string path = "/nonexistent/thread-" + std::to_string(t) + "-round-" + std::to_string(round) + ".onnx";
        nt_engine* e = nullptr;
        if (nt_engine_load_file(path.c_str(), nullptr, &e) == NT_OK) {
          wrong.fetch_add(1);
          nt_engine_destroy(e);
          continue;
        }
        const char* msg = nt_last_error();
        std::string copy = msg;
        nt_buffer* b = nullptr;
        if (nt_buffer_create(16, &b, nullptr) != NT_OK) wrong.fetch_add(1);  // a success...
        nt_buffer_destroy(b);
        // ...leaves the message, and its pointer, as they were.
        if (copy.find(path) == std::string::npos || nt_last_error() != msg || copy != msg) wrong.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Abi, StatusAndDtypeNames) {
  EXPECT_STREQ(nt_status_string(NT_SHAPE), "shape mismatch");
  EXPECT_STREQ(nt_status_string(static_cast<nt_status>(1234)), "unknown status");
  EXPECT_STREQ(nt_dtype_name(NT_FLOAT32), "float32");
  EXPECT_EQ(nt_dtype_size(NT_INT64), 8u);
}

TEST(Abi, OptionsValidated) {
  nt_engine_options o;
  nt_engine_options_init(&o);
  o.max_batch = 0;
  nt_engine* e = nullptr;
  EXPECT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), &o, &e), NT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nt_last_error()).find("max_batch"), std::string::npos);
  nt_engine_options_init(&o);
  o.struct_size = 4;
  EXPECT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), &o, &e), NT_INVALID_ARGUMENT);
  nt_engine_options_init(&o);
  o.graph_optimization = 7;
  o.backend = NT_BACKEND_ONNXRUNTIME;
  EXPECT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), &o, &e), NT_INVALID_ARGUMENT);
  EXPECT_EQ(e, nullptr);
}

TEST(Abi, Versions) {
  char buf[256];
  ASSERT_EQ(nt_versions(buf, sizeof buf), NT_OK);
  EXPECT_NE(std::string(buf).find("onnxruntime 1."), std::string::npos) << buf;
  char tiny[4];
  ASSERT_EQ(nt_versions(tiny, sizeof tiny), NT_OK);
  EXPECT_EQ(std::strlen(tiny), 3u);
}

TEST(Abi, BuffersAreAlignedAndZeroed) {
  for (size_t size : {size_t(0), size_t(1), size_t(100), size_t(1) << 20}) {
    nt_buffer* b = nullptr;
    int32_t pinned = -1;
    ASSERT_EQ(nt_buffer_create(size, &b, &pinned), NT_OK) << nt_last_error();
    Buffer owner(b);
    void* p = nullptr;
    size_t n = 1234;
    ASSERT_EQ(nt_buffer_data(b, &p, &n), NT_OK);
    EXPECT_EQ(n, size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    EXPECT_TRUE(pinned == 0 || pinned == 1);
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(static_cast<unsigned char*>(p)[i], 0) << i;
  }
}

TEST(Abi, StreamWithoutGpuIsSynchronousHostStream) {
  nt_stream* s = nullptr;
  int32_t is_cuda = -1;
  ASSERT_EQ(nt_stream_create(0, &s, &is_cuda), NT_OK) << nt_last_error();
  Stream owner(s);
  EXPECT_TRUE(is_cuda == 0 || is_cuda == 1);
  EXPECT_EQ(nt_stream_synchronize(s), NT_OK);
}

TEST(Abi, LoggerInstallsAndRemoves) {
  EXPECT_EQ(nt_set_logger([](void*, nt_log_level, const char*) {}, nullptr, NT_LOG_WARNING), NT_OK);
  EXPECT_EQ(nt_set_logger(nullptr, nullptr, NT_LOG_ERROR), NT_OK);
  EXPECT_EQ(nt_set_logger(nullptr, nullptr, static_cast<nt_log_level>(9)), NT_INVALID_ARGUMENT);
}

// A caller compiled against an older header (a shorter nt_engine_options) gets only its
// own bytes written, and its options load with the newer fields defaulted.
TEST(Abi, OlderOptionsStructStillWorks) {
  constexpr size_t kOld = offsetof(nt_engine_options, spin_wait);
  unsigned char mem[sizeof(nt_engine_options) + 16];
  std::memset(mem, 0xAB, sizeof mem);
  auto* o = reinterpret_cast<nt_engine_options*>(mem);
  nt_engine_options_init_sized(o, kOld);
  for (size_t i = kOld; i < sizeof mem; ++i)
    ASSERT_EQ(mem[i], 0xAB) << "byte " << i << " written past the caller's struct";
  EXPECT_EQ(o->struct_size, kOld);
  o->backend = NT_BACKEND_ONNXRUNTIME;
  nt_engine* e = nullptr;
  ASSERT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), o, &e), NT_OK) << nt_last_error();
  nt_engine_destroy(e);
}
