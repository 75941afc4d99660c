// TensorRT backend through the C ABI. Skips, saying why, where the backend is unavailable
// (not built, no GPU, no libnvinfer); auto must then fall back to ONNX Runtime.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures.h"

using namespace nttest;

namespace {

std::string unavailable_reason() {
  if (nt_backend_probe(NT_BACKEND_TENSORRT, nullptr) == NT_OK) return "";
  return nt_last_error();
}

}  // namespace

TEST(TensorRT, UnavailableSaysWhyAndAutoFallsBack) {
  std::string why = unavailable_reason();
  if (why.empty()) GTEST_SKIP() << "TensorRT is available here; the fallback path is not exercised";
  EXPECT_TRUE(why.find("not built") != std::string::npos || why.find("no GPU") != std::string::npos ||
              why.find("no library") != std::string::npos)
      << why;
  nt_engine_options o;
  nt_engine_options_init(&o);
  o.backend = NT_BACKEND_TENSORRT;
  nt_engine* e = nullptr;
  EXPECT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), &o, &e), NT_UNAVAILABLE);
  EXPECT_NE(std::string(nt_last_error()).find("tensorrt unavailable"), std::string::npos) << nt_last_error();

  nt_backend resolved = NT_BACKEND_AUTO;
  ASSERT_EQ(nt_backend_probe(NT_BACKEND_AUTO, &resolved), NT_OK) << nt_last_error();
  EXPECT_EQ(resolved, NT_BACKEND_ONNXRUNTIME);
  o.backend = NT_BACKEND_AUTO;
  ASSERT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), &o, &e), NT_OK) << nt_last_error();
  Engine owner(e);
  nt_backend b;
  ASSERT_EQ(nt_engine_backend(e, &b), NT_OK);
  EXPECT_EQ(b, NT_BACKEND_ONNXRUNTIME);
}

TEST(TensorRT, AffineDynamicBatchOnGpu) {
  std::string why = unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "TensorRT unavailable: " << why;
  nt_engine_options o;
  nt_engine_options_init(&o);
  o.backend = NT_BACKEND_TENSORRT;
  o.fp16 = 0;
  o.max_batch = 16;
  std::string cache = ::testing::TempDir() + "/nailtrt-plan-cache";
  o.cache_dir = cache.c_str();
  nt_engine* e = nullptr;
  ASSERT_EQ(nt_engine_load_file(fixture("affine.onnx").c_str(), &o, &e), NT_OK) << nt_last_error();
  Engine engine(e);
  nt_stream* s = nullptr;
  int32_t is_cuda = 0;
  ASSERT_EQ(nt_stream_create(0, &s, &is_cuda), NT_OK) << nt_last_error();
  Stream stream(s);
  ASSERT_EQ(is_cuda, 1);
  nt_context* c = nullptr;
  ASSERT_EQ(nt_context_create(e, s, &c), NT_OK) << nt_last_error();
  Context ctx(c);
  Buffer in = make_buffer(16 * 4 * 4), out = make_buffer(16 * 4 * 4);
  for (int64_t n : {1, 5, 16}) {
    float* x = data_of<float>(in.get());
    for (int i = 0; i < n * 4; ++i) x[i] = float(i) - 3.5f;
    int64_t dims[2] = {n, 4};
    ASSERT_EQ(nt_context_set_input_shape(c, 0, 2, dims), NT_OK) << nt_last_error();
    ASSERT_EQ(nt_context_bind(c, 0, in.get(), 0, size_t(n) * 16), NT_OK) << nt_last_error();
    ASSERT_EQ(nt_context_bind(c, 1, out.get(), 0, 16 * 16), NT_OK) << nt_last_error();
    ASSERT_EQ(nt_context_enqueue(c), NT_OK) << nt_last_error();
    ASSERT_EQ(nt_stream_synchronize(s), NT_OK) << nt_last_error();
    float* y = data_of<float>(out.get());
    for (int i = 0; i < n * 4; ++i) ASSERT_FLOAT_EQ(y[i], 2 * x[i] + 1) << "n=" << n << " i=" << i;
  }
  int64_t too_big[2] = {17, 4};
  EXPECT_EQ(nt_context_set_input_shape(c, 0, 2, too_big), NT_SHAPE) << nt_last_error();
}
