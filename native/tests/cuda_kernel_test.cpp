// The CUDA kernels against their CPU references, on the goldens and at real sizes (VGA,
// 1280x960 and 12 MP photos into the bundled model's 512x512 input; 512x512 logit maps):
// the same floats and the same mask bytes, bit for bit. Skipped, saying why, in a build
// without CUDA or on a machine without a usable GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/postprocess.h"
#include "cuda/preprocess.h"
#include "cuda_test_cases.h"
#include "golden.h"

#if defined(NT_WITH_CUDA)
#include "cuda/gpu.h"
#endif

using namespace nttest;
namespace pix = nt::pix;

namespace {

#if defined(NT_WITH_CUDA)

namespace gpu = nt::gpu;

// A photo-like RGB(A) image: gradients, texture and noise, so every footprint differs.
std::vector<uint8_t> synthetic_photo(int w, int h, int step, int stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-12, 12);
  std::vector<uint8_t> img(static_cast<size_t>(stride) * h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img[static_cast<size_t>(y) * stride + static_cast<size_t>(x) * step];
      int v[3] = {x * 255 / w, y * 255 / h, (x * 7 + y * 13) % 256};
      for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(pix::clamp(v[c] + noise(rng), 0, 255));
      if (step == 4) p[3] = 255;
    }
  return img;
}

// Logit maps with blobs (some touching), a faint one and noise; the second is the first
// mirrored with its own noise, as a TTA pair is.
std::vector<float> synthetic_logits(int w, int h, bool pair, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0, 0.8f);
  std::uniform_real_distribution<float> u(0, 1);
  struct Blob {
    float cx, cy, rx, ry, peak;
  };
  std::vector<Blob> blobs;
  for (int i = 0; i < 24; ++i)
    blobs.push_back({u(rng) * w, u(rng) * h, 4 + u(rng) * w / 24, 4 + u(rng) * h / 16, i % 6 == 5 ? 0.9f : 7.0f});
  std::vector<float> base(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float v = -6;
      for (const Blob& b : blobs) {
        float dx = (x + 0.5f - b.cx) / b.rx, dy = (y + 0.5f - b.cy) / b.ry, d = dx * dx + dy * dy;
        v = std::max(v, b.peak * (1 - d) - 3 * d);
      }
      base[static_cast<size_t>(y) * w + x] = v;
    }
  const int n = pair ? 2 : 1;
  std::vector<float> out(static_cast<size_t>(n) * w * h);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        out[(static_cast<size_t>(i) * h + y) * w + x] =
            base[static_cast<size_t>(y) * w + (i ? w - 1 - x : x)] + noise(rng);
  return out;
}

// A non-blocking stream, as the runner's; never the default stream.
class Stream {
 public:
  Stream() { gpu::check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() { cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

std::string skip_reason() {
  std::string why;
  return gpu::device_usable(&why) ? "" : why;
}

// The kernel's input and mirror image for photo bytes img, copied back to the host.
void preprocess_on_gpu(const pix::PreParams& p, const std::vector<uint8_t>& img, std::vector<float>* out,
                       std::vector<float>* mirror) {
  Stream s;
  gpu::PinnedBuffer host;
  auto* pixels = static_cast<uint8_t*>(host.reserve(img.size()));
  std::memcpy(pixels, img.data(), img.size());
  const size_t n = 3 * static_cast<size_t>(p.in_w) * p.in_h;
  gpu::DeviceBuffer dst;
  auto* d = static_cast<float*>(dst.reserve(2 * n * sizeof(float)));
  gpu::Preprocessor pre;
  pre.enqueue(p, pixels, d, mirror ? d + n : nullptr, s.get());
  gpu::PinnedBuffer back;
  auto* b = static_cast<float*>(back.reserve(2 * n * sizeof(float)));
  gpu::check(cudaMemcpyAsync(b, d, 2 * n * sizeof(float), cudaMemcpyDeviceToHost, s.get()), "copy back");
  gpu::check(cudaStreamSynchronize(s.get()), "synchronize");
  out->assign(b, b + n);
  if (mirror) mirror->assign(b + n, b + 2 * n);
}

pix::Decoded decode_on_gpu(const pix::Geometry& g, const pix::SemanticSpec& spec, const std::vector<float>& logits,
                           int w, int h) {
  Stream s;
  gpu::PinnedBuffer host;
  auto* l = static_cast<float*>(host.reserve(logits.size() * sizeof(float)));
  std::memcpy(l, logits.data(), logits.size() * sizeof(float));
  gpu::DeviceBuffer dev;
  auto* d = static_cast<float*>(dev.reserve(logits.size() * sizeof(float)));
  gpu::check(cudaMemcpyAsync(d, l, logits.size() * sizeof(float), cudaMemcpyHostToDevice, s.get()), "copy logits");
  gpu::SemanticDecoder dec;
  return dec.decode(g, spec, d, w, h, s.get());
}

void expect_same_nails(const pix::Decoded& got, const pix::Decoded& want) {
  ASSERT_EQ(got.nails.size(), want.nails.size());
  for (size_t k = 0; k < want.nails.size(); ++k) {
    SCOPED_TRACE("nail " + std::to_string(k));
    const pix::DecodedNail &a = got.nails[k], &b = want.nails[k];
    EXPECT_EQ(a.x0, b.x0);
    EXPECT_EQ(a.y0, b.y0);
    EXPECT_EQ(a.x1, b.x1);
    EXPECT_EQ(a.y1, b.y1);
    EXPECT_EQ(a.scale, b.scale);
    EXPECT_EQ(a.offset, b.offset);
    // CUDA's double exp is within 1 ulp of glibc's (pixels.h, sigmoid).
    EXPECT_NEAR(a.score, b.score, 1e-12);
  }
  ASSERT_EQ(got.alpha.size(), want.alpha.size());
  EXPECT_EQ(std::memcmp(got.alpha.data(), want.alpha.data(), want.alpha.size()), 0) << "masks differ";
}

#define SKIP_WITHOUT_GPU()                               \
  do {                                                   \
    std::string why = skip_reason();                     \
    if (!why.empty()) GTEST_SKIP() << "no GPU: " << why; \
  } while (0)

#else

#define SKIP_WITHOUT_GPU() \
  GTEST_SKIP() << "built without CUDA (CMake found no CUDA toolkit): the kernels are not compiled in"

#endif

}  // namespace

class PreprocessKernel : public ::testing::TestWithParam<std::string> {};

TEST_P(PreprocessKernel, EqualsReferenceOnGoldens) {
  SKIP_WITHOUT_GPU();
#if defined(NT_WITH_CUDA)
  Golden g(golden_path(GetParam()));
  std::vector<int64_t> photo = g.ints("photo");
  pix::PreParams p = pix::make_pre_params(static_cast<int>(photo[0]), static_cast<int>(photo[1]),
                                          static_cast<int>(photo[2]), 4, input_spec(g));
  std::vector<uint8_t> rgba = g.bytes("rgba");
  const size_t n = 3 * static_cast<size_t>(p.in_w) * p.in_h;
  std::vector<float> want(n), want_m(n), got, got_m;
  pix::preprocess_reference(p, rgba.data(), want.data(), want_m.data());
  preprocess_on_gpu(p, rgba, &got, &got_m);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(got_m.data(), want_m.data(), n * sizeof(float)), 0);
#endif
}

INSTANTIATE_TEST_SUITE_P(Goldens, PreprocessKernel, ::testing::ValuesIn(pre_goldens()));

struct Size {
  int w, h, step;
};

// The bundled model's input (engines/nailseg.json).
pix::InputSpec bundled_input() {
  pix::InputSpec in;
  in.width = in.height = 512;
  in.scale = 1.0 / 255;
  const double mean[3] = {0.485, 0.456, 0.406}, std_[3] = {0.229, 0.224, 0.225}, pad[3] = {124, 116, 104};
  for (int c = 0; c < 3; ++c) {
    in.mean[c] = mean[c];
    in.std[c] = std_[c];
    in.pad[c] = pad[c];
  }
  return in;
}

class PreprocessKernelSizes : public ::testing::TestWithParam<Size> {};

TEST_P(PreprocessKernelSizes, EqualsReference) {
  SKIP_WITHOUT_GPU();
#if defined(NT_WITH_CUDA)
  const Size sz = GetParam();
  const pix::InputSpec in = bundled_input();
  const int stride = sz.w * sz.step + 8;
  std::vector<uint8_t> img = synthetic_photo(sz.w, sz.h, sz.step, stride, 1);
  pix::PreParams p = pix::make_pre_params(sz.w, sz.h, stride, sz.step, in);
  const size_t n = 3 * 512 * 512;
  std::vector<float> want(n), want_m(n), got, got_m;
  pix::preprocess_reference(p, img.data(), want.data(), want_m.data());
  preprocess_on_gpu(p, img, &got, &got_m);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(got_m.data(), want_m.data(), n * sizeof(float)), 0);
#endif
}

INSTANTIATE_TEST_SUITE_P(Photos, PreprocessKernelSizes,
                         ::testing::Values(Size{640, 480, 3}, Size{1280, 960, 4}, Size{4000, 3000, 3},
                                           Size{300, 200, 3}, Size{480, 640, 4}),
                         [](const ::testing::TestParamInfo<Size>& i) {
                           return std::to_string(i.param.w) + "x" + std::to_string(i.param.h) +
                                  (i.param.step == 3 ? "_rgb" : "_rgba");
                         });

// A JPEG's planes (luma, then Cb, then Cr, packed) through the planes kernel and its
// reference, at real sizes and every JPEG subsampling.
struct PlaneSize {
  int w, h, hd, vd;
};

class PreprocessPlanesKernel : public ::testing::TestWithParam<PlaneSize> {};

TEST_P(PreprocessPlanesKernel, EqualsReference) {
  SKIP_WITHOUT_GPU();
#if defined(NT_WITH_CUDA)
  const PlaneSize sz = GetParam();
  const pix::InputSpec in = bundled_input();
  const int cw = (sz.w + sz.hd - 1) / sz.hd, ch = (sz.h + sz.vd - 1) / sz.vd;
  // Luma and chroma planes: the red channel of a photo-like image each, packed.
  auto plane = [](int w, int h, uint32_t seed) {
    std::vector<uint8_t> rgb = synthetic_photo(w, h, 3, 3 * w, seed), out(static_cast<size_t>(w) * h);
    for (size_t i = 0; i < out.size(); ++i) out[i] = rgb[3 * i];
    return out;
  };
  std::vector<uint8_t> luma = plane(sz.w, sz.h, 2), chroma = plane(cw, ch, 3);
  std::vector<uint8_t> block(static_cast<size_t>(sz.w) * sz.h + 2 * static_cast<size_t>(cw) * ch);
  std::memcpy(block.data(), luma.data(), luma.size());
  std::memcpy(block.data() + luma.size(), chroma.data(), chroma.size());
  for (size_t i = 0; i < chroma.size(); ++i)
    block[luma.size() + chroma.size() + i] = static_cast<uint8_t>(255 - chroma[i]);
  const pix::PreParams p = pix::make_plane_params(sz.w, sz.h, sz.hd, sz.vd, in);
  const size_t n = 3 * 512 * 512;
  std::vector<float> want(n), want_m(n);
  const pix::Planes host{
      block.data(), block.data() + luma.size(), block.data() + luma.size() + chroma.size(), sz.w, cw, sz.hd, sz.vd};
  pix::preprocess_planes_reference(p, host, want.data(), want_m.data());

  Stream s;
  gpu::PinnedBuffer pinned;
  auto* b = static_cast<uint8_t*>(pinned.reserve(block.size()));
  std::memcpy(b, block.data(), block.size());
  const pix::Planes q{b, b + luma.size(), b + luma.size() + chroma.size(), sz.w, cw, sz.hd, sz.vd};
  pix::Source src;
  src.block = b;
  src.bytes = block.size();
  src.planes = &q;
  gpu::DeviceBuffer dst;
  auto* d = static_cast<float*>(dst.reserve(2 * n * sizeof(float)));
  gpu::Preprocessor pre;
  pre.enqueue_planes(p, src, d, d + n, s.get());
  gpu::PinnedBuffer back;
  auto* got = static_cast<float*>(back.reserve(2 * n * sizeof(float)));
  gpu::check(cudaMemcpyAsync(got, d, 2 * n * sizeof(float), cudaMemcpyDeviceToHost, s.get()), "copy back");
  gpu::check(cudaStreamSynchronize(s.get()), "synchronize");
  EXPECT_EQ(std::memcmp(got, want.data(), n * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(got + n, want_m.data(), n * sizeof(float)), 0);
#endif
}

INSTANTIATE_TEST_SUITE_P(Jpegs, PreprocessPlanesKernel,
                         ::testing::Values(PlaneSize{1280, 960, 2, 2}, PlaneSize{1008, 756, 2, 1},
                                           PlaneSize{641, 481, 1, 2}, PlaneSize{4032, 3024, 2, 2},
                                           PlaneSize{999, 777, 4, 1}, PlaneSize{800, 600, 1, 1}),
                         [](const ::testing::TestParamInfo<PlaneSize>& i) {
                           return std::to_string(i.param.w) + "x" + std::to_string(i.param.h) + "_" +
                                  std::to_string(i.param.hd) + "x" + std::to_string(i.param.vd);
                         });

class SemanticKernel : public ::testing::TestWithParam<std::string> {};

TEST_P(SemanticKernel, EqualsReferenceOnGoldens) {
  SKIP_WITHOUT_GPU();
#if defined(NT_WITH_CUDA)
  Golden g(golden_path(GetParam()));
  PostCase c = post_case(g);
  pix::Decoded want = pix::decode_semantic_reference(c.geometry, c.spec, c.logits.data(), c.map_w, c.map_h);
  ASSERT_FALSE(want.nails.empty());
  expect_same_nails(decode_on_gpu(c.geometry, c.spec, c.logits, c.map_w, c.map_h), want);
#endif
}

INSTANTIATE_TEST_SUITE_P(Goldens, SemanticKernel, ::testing::ValuesIn(post_goldens()));

TEST(SemanticKernel, EqualsReferenceAtModelSize) {
  SKIP_WITHOUT_GPU();
#if defined(NT_WITH_CUDA)
  pix::InputSpec in;
  in.width = in.height = 512;
  pix::SemanticSpec spec;  // the bundled model's settings
  spec.threshold = pix::logit(0.6);
  spec.mask_at = pix::logit(0.4);
  spec.min_area = 250;
  spec.min_score = 0.85;
  spec.hflip = true;
  for (Size photo : {Size{4000, 3000, 0}, Size{640, 480, 0}, Size{300, 400, 0}}) {
    SCOPED_TRACE(std::to_string(photo.w) + "x" + std::to_string(photo.h));
    pix::Geometry g = pix::make_geometry(photo.w, photo.h, in);
    std::vector<float> logits = synthetic_logits(512, 512, true, 7);
    pix::Decoded want = pix::decode_semantic_reference(g, spec, logits.data(), 512, 512);
    ASSERT_FALSE(want.nails.empty());
    expect_same_nails(decode_on_gpu(g, spec, logits, 512, 512), want);
  }
#endif
}
