// ONNX Runtime backend through the C ABI: always runs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"

using namespace nttest;

namespace {

struct Runner {
  Engine engine;
  Stream stream;
  Context ctx;
  explicit Runner(const std::string& model, int threads = 1) : engine(load_cpu(model, threads)), stream(make_stream()) {
    nt_context* c = nullptr;
    EXPECT_EQ(nt_context_create(engine.get(), stream.get(), &c), NT_OK) << nt_last_error();
    ctx.reset(c);
  }
};

std::string write_temp(const std::string& name, const std::string& bytes) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

nt_status load_path(const std::string& path, nt_engine** e) {
  nt_engine_options o;
  nt_engine_options_init(&o);
  o.backend = NT_BACKEND_ONNXRUNTIME;
  return nt_engine_load_file(path.c_str(), &o, e);
}

}  // namespace

TEST(OnnxRuntime, Introspection) {
  Engine e = load_cpu("two_outputs.onnx");
  ASSERT_TRUE(e);
  nt_backend b;
  ASSERT_EQ(nt_engine_backend(e.get(), &b), NT_OK);
  EXPECT_EQ(b, NT_BACKEND_ONNXRUNTIME);
  size_t n = 0;
  ASSERT_EQ(nt_engine_tensor_count(e.get(), &n), NT_OK);
  ASSERT_EQ(n, 3u);
  nt_tensor_desc d;
  ASSERT_EQ(nt_engine_tensor(e.get(), 0, &d), NT_OK);
  EXPECT_STREQ(d.name, "x");
  EXPECT_EQ(d.mode, NT_INPUT);
  EXPECT_EQ(d.dtype, NT_FLOAT32);
  ASSERT_EQ(d.rank, 2);
  EXPECT_EQ(d.dims[0], -1);
  EXPECT_EQ(d.dims[1], 3);
  ASSERT_EQ(nt_engine_tensor(e.get(), 1, &d), NT_OK);
  EXPECT_STREQ(d.name, "doubled");
  EXPECT_EQ(d.mode, NT_OUTPUT);
  ASSERT_EQ(nt_engine_tensor(e.get(), 2, &d), NT_OK);
  EXPECT_STREQ(d.name, "total");
  EXPECT_EQ(d.rank, 1);
  EXPECT_EQ(nt_engine_tensor(e.get(), 3, &d), NT_INVALID_ARGUMENT);
}

TEST(OnnxRuntime, AffineDynamicBatch) {
  Runner r("affine.onnx");
  Buffer in = make_buffer(64 * 16), out = make_buffer(64 * 16);
  float* x = data_of<float>(in.get());
  float* y = data_of<float>(out.get());
  for (int64_t n : {1, 3, 64, 2}) {
    for (int i = 0; i < n * 4; ++i) x[i] = 0.25f * i - 7;
    int64_t dims[2] = {n, 4};
    ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, dims), NT_OK) << nt_last_error();
    ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, size_t(n) * 16), NT_OK);
    ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, out.get(), 0, 64 * 16), NT_OK);
    ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
    ASSERT_EQ(nt_stream_synchronize(r.stream.get()), NT_OK);
    for (int i = 0; i < n * 4; ++i) ASSERT_FLOAT_EQ(y[i], 2 * x[i] + 1) << "n=" << n;
    int32_t rank = 0;
    int64_t shape[NT_MAX_DIMS];
    ASSERT_EQ(nt_context_tensor_shape(r.ctx.get(), 1, &rank, shape), NT_OK);
    ASSERT_EQ(rank, 2);
    EXPECT_EQ(shape[0], n);
    EXPECT_EQ(shape[1], 4);
  }
}

TEST(OnnxRuntime, TwoOutputs) {
  Runner r("two_outputs.onnx");
  Buffer in = make_buffer(2 * 3 * 4), doubled = make_buffer(2 * 3 * 4), total = make_buffer(2 * 4);
  float* x = data_of<float>(in.get());
  for (int i = 0; i < 6; ++i) x[i] = float(i + 1);
  int64_t dims[2] = {2, 3};
  ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, dims), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, 24), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, doubled.get(), 0, 24), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 2, total.get(), 0, 8), NT_OK);
  ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
  float* d = data_of<float>(doubled.get());
  float* t = data_of<float>(total.get());
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(d[i], 2 * x[i]);
  EXPECT_FLOAT_EQ(t[0], 6);
  EXPECT_FLOAT_EQ(t[1], 15);
}

TEST(OnnxRuntime, OnlyBoundOutputsAreComputed) {
  Runner r("two_outputs.onnx");
  Buffer in = make_buffer(12), total = make_buffer(4);
  data_of<float>(in.get())[1] = 5;
  int64_t dims[2] = {1, 3};
  ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, dims), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, 12), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 2, total.get(), 0, 4), NT_OK);
  ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
  EXPECT_FLOAT_EQ(data_of<float>(total.get())[0], 5);
}

TEST(OnnxRuntime, OutputShapeUnknownBeforeRunIsCopied) {
  Runner r("concat_self.onnx");
  Buffer in = make_buffer(3 * 4), out = make_buffer(6 * 4);
  float* x = data_of<float>(in.get());
  x[0] = 1, x[1] = 2, x[2] = 3;
  int64_t dims[1] = {3};
  ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 1, dims), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, 12), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, out.get(), 0, 24), NT_OK);
  ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
  float* y = data_of<float>(out.get());
  EXPECT_FLOAT_EQ(y[0], 1);
  EXPECT_FLOAT_EQ(y[5], 3);
  int32_t rank;
  int64_t shape[NT_MAX_DIMS];
  ASSERT_EQ(nt_context_tensor_shape(r.ctx.get(), 1, &rank, shape), NT_OK);
  EXPECT_EQ(shape[0], 6);

  // Too small a binding: a shape error that reports the needed shape.
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, out.get(), 0, 20), NT_OK);
  EXPECT_EQ(nt_context_enqueue(r.ctx.get()), NT_SHAPE);
  EXPECT_NE(std::string(nt_last_error()).find("[6]"), std::string::npos) << nt_last_error();
}

TEST(OnnxRuntime, StaticShapeNeedsNoSetShape) {
  Runner r("static_shape.onnx");
  Buffer in = make_buffer(16), out = make_buffer(16);
  float* x = data_of<float>(in.get());
  x[0] = -1, x[1] = 2, x[2] = -3, x[3] = 4;
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, 16), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, out.get(), 0, 16), NT_OK);
  ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
  float* y = data_of<float>(out.get());
  EXPECT_FLOAT_EQ(y[0], 0);
  EXPECT_FLOAT_EQ(y[3], 4);
}

TEST(OnnxRuntime, ShapeErrors) {
  Runner r("affine.onnx");
  Buffer in = make_buffer(16), out = make_buffer(16);
  int64_t wrong_inner[2] = {1, 5};
  EXPECT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, wrong_inner), NT_SHAPE);
  EXPECT_NE(std::string(nt_last_error()).find("does not match"), std::string::npos) << nt_last_error();
  int64_t wrong_rank[1] = {4};
  EXPECT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 1, wrong_rank), NT_SHAPE);
  int64_t zero[2] = {0, 4};
  EXPECT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, zero), NT_SHAPE);
  EXPECT_EQ(nt_context_set_input_shape(r.ctx.get(), 1, 2, wrong_inner), NT_INVALID_ARGUMENT);  // an output
  EXPECT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 9, wrong_inner), NT_SHAPE);

  // Dynamic input never shaped.
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, 16), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, out.get(), 0, 16), NT_OK);
  EXPECT_EQ(nt_context_enqueue(r.ctx.get()), NT_SHAPE);
  EXPECT_NE(std::string(nt_last_error()).find("set its shape"), std::string::npos) << nt_last_error();

  // A batch larger than the bound input.
  int64_t big[2] = {2, 4};
  ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, big), NT_OK);
  EXPECT_EQ(nt_context_enqueue(r.ctx.get()), NT_SHAPE);
  EXPECT_NE(std::string(nt_last_error()).find("needs 32 bytes"), std::string::npos) << nt_last_error();
}

TEST(OnnxRuntime, BindingErrors) {
  Runner r("affine.onnx");
  Buffer b = make_buffer(16);
  EXPECT_EQ(nt_context_bind(r.ctx.get(), 0, b.get(), 8, 16), NT_INVALID_ARGUMENT);  // past the end
  EXPECT_EQ(nt_context_bind(r.ctx.get(), 0, b.get(), 2, 4), NT_INVALID_ARGUMENT);   // misaligned floats
  EXPECT_EQ(nt_context_bind(r.ctx.get(), 5, b.get(), 0, 4), NT_INVALID_ARGUMENT);   // no such tensor
  int64_t dims[2] = {1, 4};
  ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, dims), NT_OK);
  EXPECT_EQ(nt_context_enqueue(r.ctx.get()), NT_INVALID_ARGUMENT);  // nothing bound
  EXPECT_NE(std::string(nt_last_error()).find("not bound"), std::string::npos) << nt_last_error();
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, b.get(), 0, 16), NT_OK);
  EXPECT_EQ(nt_context_enqueue(r.ctx.get()), NT_INVALID_ARGUMENT);  // no output bound
}

TEST(OnnxRuntime, LoadErrors) {
  nt_engine* e = nullptr;
  EXPECT_EQ(load_path("/nonexistent/model.onnx", &e), NT_NOT_FOUND);
  EXPECT_NE(std::string(nt_last_error()).find("/nonexistent/model.onnx"), std::string::npos) << nt_last_error();
  EXPECT_EQ(load_path(::testing::TempDir(), &e), NT_NOT_FOUND);

  std::string corrupt = write_temp("corrupt.onnx", "this is not a protobuf \x01\x02\xff\xfe");
  EXPECT_EQ(load_path(corrupt, &e), NT_INVALID_MODEL);
  EXPECT_NE(std::string(nt_last_error()).find("corrupt.onnx"), std::string::npos) << nt_last_error();

  std::ifstream f(fixture("two_outputs.onnx"), std::ios::binary);
  std::string whole((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string truncated = write_temp("truncated.onnx", whole.substr(0, whole.size() / 2));
  EXPECT_EQ(load_path(truncated, &e), NT_INVALID_MODEL);

  // A TensorRT plan handed to the CPU backend: a clear error, not a crash.
  std::string plan = write_temp("model.plan", std::string("ftrt\0\0\0\0", 8) + std::string(4096, '\x5a'));
  EXPECT_EQ(load_path(plan, &e), NT_INVALID_MODEL);
  EXPECT_NE(std::string(nt_last_error()).find("tensorrt backend"), std::string::npos) << nt_last_error();
  EXPECT_EQ(e, nullptr);

  nt_engine_options o;
  nt_engine_options_init(&o);
  o.backend = NT_BACKEND_ONNXRUNTIME;
  EXPECT_EQ(nt_engine_load_memory("x", 0, &o, &e), NT_INVALID_MODEL);
  EXPECT_EQ(nt_engine_load_memory("garbage", 7, &o, &e), NT_INVALID_MODEL);
  ASSERT_EQ(nt_engine_load_memory(whole.data(), whole.size(), &o, &e), NT_OK) << nt_last_error();
  nt_engine_destroy(e);
}

TEST(OnnxRuntime, ConcurrentContextsOnOneEngine) {
  Engine engine = load_cpu("affine.onnx", 1);
  constexpr int kThreads = 8, kRuns = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Stream s = make_stream();
      nt_context* c = nullptr;
      if (nt_context_create(engine.get(), s.get(), &c) != NT_OK) {
        failures[t]++;
        return;
      }
      Context ctx(c);
      Buffer in = make_buffer(8 * 16), out = make_buffer(8 * 16);
      float* x = data_of<float>(in.get());
      float* y = data_of<float>(out.get());
      for (int k = 0; k < kRuns; ++k) {
        int64_t n = 1 + (k + t) % 8;
        for (int i = 0; i < n * 4; ++i) x[i] = float(t * 1000 + k + i);
        int64_t dims[2] = {n, 4};
        if (nt_context_set_input_shape(c, 0, 2, dims) != NT_OK || nt_context_bind(c, 0, in.get(), 0, n * 16) != NT_OK ||
            nt_context_bind(c, 1, out.get(), 0, 8 * 16) != NT_OK || nt_context_enqueue(c) != NT_OK) {
          failures[t]++;
          continue;
        }
        for (int i = 0; i < n * 4; ++i)
          if (y[i] != 2 * x[i] + 1) failures[t]++;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(OnnxRuntime, CancelBeforeRunIsClearedByNextRun) {
  Runner r("affine.onnx");
  Buffer in = make_buffer(16), out = make_buffer(16);
  int64_t dims[2] = {1, 4};
  ASSERT_EQ(nt_context_set_input_shape(r.ctx.get(), 0, 2, dims), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 0, in.get(), 0, 16), NT_OK);
  ASSERT_EQ(nt_context_bind(r.ctx.get(), 1, out.get(), 0, 16), NT_OK);
  ASSERT_EQ(nt_context_cancel(r.ctx.get()), NT_OK);
  // The flag is cleared when a run starts: a stale cancel never fails a later request.
  EXPECT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
}
