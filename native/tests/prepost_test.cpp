// Pre- and post-processing in the runner through the C ABI (nt_context_preprocess,
// nt_context_keep_output, nt_context_postprocess_semantic) on an ONNX Runtime context, where
// they run the CPU references on the bound host memory: item placement, the mirror
// image, the letterbox, decoding a known logit map, and the errors. That the references
// compute what the Go pipeline does is nailtrt_pixel_tests' job; that the whole path
// gives the Go path's nails is nails/segment's TestRunnerPrePostMatchesGo.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fixtures.h"

using namespace nttest;

namespace {

// conv.onnx: x [N,3,128,128] -> y [N,1,128,128].
constexpr int kIn = 128;
constexpr size_t kPlane = 3 * kIn * kIn;
constexpr int kPhotoW = 200, kPhotoH = 150;  // letterboxed: 128x96 at (0, 16)

struct ConvRunner {
  Engine engine = load_cpu("conv.onnx");
  Stream stream = make_stream();
  Context ctx;
  Buffer in = make_buffer(3 * kPlane * sizeof(float));
  Buffer out = make_buffer(3 * kIn * kIn * sizeof(float));
  Buffer photo = make_buffer(kPhotoW * kPhotoH * 4);

  ConvRunner() {
    nt_context* c = nullptr;
    EXPECT_EQ(nt_context_create(engine.get(), stream.get(), &c), NT_OK) << nt_last_error();
    ctx.reset(c);
    EXPECT_EQ(nt_context_bind(ctx.get(), 0, in.get(), 0, 3 * kPlane * sizeof(float)), NT_OK) << nt_last_error();
    EXPECT_EQ(nt_context_bind(ctx.get(), 1, out.get(), 0, 3 * kIn * kIn * sizeof(float)), NT_OK) << nt_last_error();
    set_batch(3);
    // A photo whose left and right differ, so a mirror that went the wrong way shows.
    auto* px = data_of<uint8_t>(photo.get());
    for (int y = 0; y < kPhotoH; ++y)
      for (int x = 0; x < kPhotoW; ++x) {
        uint8_t* p = px + (y * kPhotoW + x) * 4;
        p[0] = static_cast<uint8_t>(x);
        p[1] = static_cast<uint8_t>(y);
        p[2] = static_cast<uint8_t>((x * y) & 0xff);
        p[3] = 255;
      }
  }

  void set_batch(int64_t n) {
    int64_t dims[4] = {n, 3, kIn, kIn};
    EXPECT_EQ(nt_context_set_input_shape(ctx.get(), 0, 4, dims), NT_OK) << nt_last_error();
  }
};

nt_pixels rgba(int w, int h) { return nt_pixels{w, h, w * 4, 4}; }

nt_input_spec spec01() {
  nt_input_spec s{};
  s.width = s.height = kIn;
  s.scale = 1.0 / 255;
  for (int c = 0; c < 3; ++c) {
    s.std[c] = 1;
    s.pad[c] = 114;
  }
  return s;
}

}  // namespace

TEST(PrePost, PreprocessWritesTheItemAndItsMirror) {
  ConvRunner r;
  nt_pixels px = rgba(kPhotoW, kPhotoH);
  nt_input_spec spec = spec01();
  ASSERT_EQ(nt_context_preprocess(r.ctx.get(), 0, 1, r.photo.get(), 0, &px, &spec, 1), NT_OK) << nt_last_error();
  const float* in = data_of<float>(r.in.get());
  // Item 0 is untouched (buffers start zeroed); items 1 and 2 are the photo and its mirror.
  for (size_t i = 0; i < kPlane; ++i) ASSERT_EQ(in[i], 0.0f) << "item 0 written at " << i;
  const float* a = in + kPlane;
  const float* b = in + 2 * kPlane;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < kIn; ++y)
      for (int x = 0; x < kIn; ++x) {
        size_t i = static_cast<size_t>(c) * kIn * kIn + y * kIn + x;
        size_t m = static_cast<size_t>(c) * kIn * kIn + y * kIn + (kIn - 1 - x);
        ASSERT_EQ(a[i], b[m]) << "c " << c << " y " << y << " x " << x;
      }
  // The letterbox: rows above the photo's 96 (dy 16) hold the pad, 114/255.
  EXPECT_FLOAT_EQ(a[0], 114.0f / 255);
  EXPECT_FLOAT_EQ(a[15 * kIn + 64], 114.0f / 255);
  // Inside, red grows left to right (the photo's R is its x).
  EXPECT_LT(a[64 * kIn + 10], a[64 * kIn + 100]);
  // The run that follows takes the items as written.
  ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
}

TEST(PrePost, PreprocessRefusesWhatDoesNotFit) {
  ConvRunner r;
  nt_pixels px = rgba(kPhotoW, kPhotoH);
  nt_input_spec spec = spec01();
  // Items past the set shape (3 items: 2 and its mirror would be 3).
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, 2, r.photo.get(), 0, &px, &spec, 1), NT_SHAPE);
  EXPECT_NE(std::strstr(nt_last_error(), "has no item 2 (+1)"), nullptr) << nt_last_error();
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, -1, r.photo.get(), 0, &px, &spec, 0), NT_SHAPE);
  // An item whose offset would wrap (it once passed the check and wrote before the binding).
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, INT64_MAX, r.photo.get(), 0, &px, &spec, 0), NT_SHAPE);
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, INT64_MAX - 1, r.photo.get(), 0, &px, &spec, 1), NT_SHAPE);
  // A photo that runs past the end of its buffer.
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, 0, r.photo.get(), 8, &px, &spec, 0), NT_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(nt_last_error(), "past the end"), nullptr) << nt_last_error();
  nt_pixels bad = px;
  bad.channels = 2;
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, 0, r.photo.get(), 0, &bad, &spec, 0), NT_INVALID_ARGUMENT);
  // A spec whose size is not the input's.
  nt_input_spec other = spec;
  other.width = 64;
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, 0, r.photo.get(), 0, &px, &other, 0), NT_SHAPE);
  other = spec;
  other.std[1] = 0;
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 0, 0, r.photo.get(), 0, &px, &other, 0), NT_INVALID_ARGUMENT);
  // The output is not an input.
  EXPECT_EQ(nt_context_preprocess(r.ctx.get(), 1, 0, r.photo.get(), 0, &px, &spec, 0), NT_INVALID_ARGUMENT);
  EXPECT_EQ(nt_context_keep_output(r.ctx.get(), 0, 1), NT_INVALID_ARGUMENT);
}

TEST(PrePost, PreprocessReadsYCbCrPlanes) {
  ConvRunner r;
  // 4:2:0 planes of a 400x300 photo (larger than its 128x96 place: area-filtered), grey
  // luma ramp left to right, neutral chroma, packed: Y, then Cb, then Cr.
  constexpr int w = 400, h = 300, cw = 200, ch = 150;
  Buffer planes = make_buffer(w * h + 2 * cw * ch);
  auto* b = data_of<uint8_t>(planes.get());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) b[y * w + x] = static_cast<uint8_t>(x * 255 / (w - 1));
  std::memset(b + w * h, 128, 2 * cw * ch);
  nt_ycbcr q{};
  q.width = w;
  q.height = h;
  q.y_stride = w;
  q.c_stride = cw;
  q.h_sub = q.v_sub = 2;
  q.cb_offset = w * h;
  q.cr_offset = w * h + cw * ch;
  nt_input_spec spec = spec01();
  ASSERT_EQ(nt_context_preprocess_ycbcr(r.ctx.get(), 0, 0, planes.get(), 0, &q, &spec, 1), NT_OK) << nt_last_error();
  const float* in = data_of<float>(r.in.get());
  // Letterboxed at (0, 16), 128x96; neutral chroma: R = G = B = luma.
  EXPECT_FLOAT_EQ(in[0], 114.0f / 255);
  const size_t row = 50 * kIn, plane = kIn * kIn;
  EXPECT_NEAR(in[row + 0], 0.0f, 0.02f);
  EXPECT_NEAR(in[row + 127], 1.0f, 0.02f);
  EXPECT_EQ(in[row + 64], in[plane + row + 64]);
  EXPECT_EQ(in[row + 64], in[2 * plane + row + 64]);
  EXPECT_EQ(in[row + 10], in[3 * plane + row + kIn - 1 - 10]) << "item 1 is item 0 mirrored";

  // Refused: subsampling JPEG has not, planes past the buffer, a stride under the width,
  // planes smaller than their place (the Go pipeline reads those as RGB).
  nt_ycbcr bad = q;
  bad.h_sub = 3;
  EXPECT_EQ(nt_context_preprocess_ycbcr(r.ctx.get(), 0, 0, planes.get(), 0, &bad, &spec, 0), NT_INVALID_ARGUMENT);
  bad = q;
  bad.cr_offset = q.cr_offset + 1;
  EXPECT_EQ(nt_context_preprocess_ycbcr(r.ctx.get(), 0, 0, planes.get(), 0, &bad, &spec, 0), NT_INVALID_ARGUMENT);
  bad = q;
  bad.cb_offset = UINT64_MAX;
  EXPECT_EQ(nt_context_preprocess_ycbcr(r.ctx.get(), 0, 0, planes.get(), 0, &bad, &spec, 0), NT_INVALID_ARGUMENT);
  bad = q;
  bad.y_stride = w - 1;
  EXPECT_EQ(nt_context_preprocess_ycbcr(r.ctx.get(), 0, 0, planes.get(), 0, &bad, &spec, 0), NT_INVALID_ARGUMENT);
  bad = q;
  bad.width = 100;
  bad.height = 80;
  bad.y_stride = 100;
  bad.c_stride = 50;
  EXPECT_EQ(nt_context_preprocess_ycbcr(r.ctx.get(), 0, 0, planes.get(), 0, &bad, &spec, 0), NT_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(nt_last_error(), "send RGB"), nullptr) << nt_last_error();
}

TEST(PrePost, PostprocessFindsTheNailOfAKnownMap) {
  ConvRunner r;
  r.set_batch(2);
  ASSERT_EQ(nt_context_keep_output(r.ctx.get(), 1, 1), NT_OK) << nt_last_error();  // no effect on the CPU
  ASSERT_EQ(nt_context_enqueue(r.ctx.get()), NT_OK) << nt_last_error();
  // Replace the run's logits with a known pair: one block, and its mirror image.
  float* y = data_of<float>(r.out.get());
  for (int i = 0; i < 2 * kIn * kIn; ++i) y[i] = -8;
  for (int row = 50; row < 60; ++row)
    for (int x = 40; x < 60; ++x) {
      y[row * kIn + x] = 8;
      y[kIn * kIn + row * kIn + (kIn - 1 - x)] = 8;
    }
  nt_input_spec in = spec01();
  nt_semantic_spec s{};
  s.threshold = 0.5;
  s.min_area = 4;
  s.hflip = 1;
  nt_nails* found = nullptr;
  ASSERT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 1, 0, kPhotoW, kPhotoH, &in, &s, &found), NT_OK)
      << nt_last_error();
  size_t n = 0;
  ASSERT_EQ(nt_nails_count(found, &n), NT_OK);
  ASSERT_EQ(n, 1u);
  nt_nail nail{};
  ASSERT_EQ(nt_nails_get(found, 0, &nail), NT_OK);
  // The block's map pixels [40, 60) x [50, 60), at 0.64 model pixels a photo pixel and
  // the photo 16 model rows down: photo x [62.5, 93.75), y [53.1, 68.75).
  EXPECT_NEAR(nail.x0, 62, 2);
  EXPECT_NEAR(nail.x1, 94, 2);
  EXPECT_NEAR(nail.y0, 53, 2);
  EXPECT_NEAR(nail.y1, 69, 2);
  EXPECT_NEAR(nail.score, 1 / (1 + std::exp(-8.0)), 1e-6);
  ASSERT_GT(nail.cells_w, 0);
  ASSERT_GT(nail.cells_h, 0);
  ASSERT_NE(nail.alpha, nullptr);
  // The mask is opaque in the middle of the block.
  EXPECT_EQ(nail.alpha[(nail.cells_h / 2) * nail.cells_w + nail.cells_w / 2], 255);
  EXPECT_EQ(nt_nails_get(found, 1, &nail), NT_INVALID_ARGUMENT);
  nt_nails_destroy(found);

  // Errors: an item past the run's batch, the input tensor, probabilities out of range.
  EXPECT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 1, 1, kPhotoW, kPhotoH, &in, &s, &found), NT_SHAPE);
  EXPECT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 1, INT64_MAX, kPhotoW, kPhotoH, &in, &s, &found), NT_SHAPE);
  // A photo whose masks could not be held.
  EXPECT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 1, 0, 1 << 30, 2, &in, &s, &found), NT_INVALID_ARGUMENT);
  EXPECT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 0, 0, kPhotoW, kPhotoH, &in, &s, &found), NT_INVALID_ARGUMENT);
  s.threshold = 1.5;
  EXPECT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 1, 0, kPhotoW, kPhotoH, &in, &s, &found), NT_INVALID_ARGUMENT);
  s.threshold = 0.5;
  EXPECT_EQ(nt_context_postprocess_semantic(r.ctx.get(), 1, 0, 0, kPhotoH, &in, &s, &found), NT_INVALID_ARGUMENT);
  nt_nails_destroy(nullptr);
}
