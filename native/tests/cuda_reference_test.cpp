// The CPU references of the CUDA kernels against the Go pipeline (goldens from
// nails/cuda_golden_test.go): the same photo gives the same model input within 1e-5 and
// the same logits the same nails, masks bit for bit. Runs everywhere: no GPU involved.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cuda/postprocess.h"
#include "cuda/preprocess.h"
#include "cuda_test_cases.h"
#include "error.h"
#include "golden.h"

using namespace nttest;
namespace pix = nt::pix;

namespace {

// Go's image.RGBA pixels repacked as 3 bytes a pixel, rows padded to a 4-byte stride.
std::vector<uint8_t> to_rgb(const std::vector<uint8_t>& rgba, int w, int h, int stride, int* rgb_stride) {
  *rgb_stride = (3 * w + 3) / 4 * 4;
  std::vector<uint8_t> out(static_cast<size_t>(*rgb_stride) * h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) out[y * *rgb_stride + 3 * x + c] = rgba[y * stride + 4 * x + c];
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// How many floats differ in any bit: the test allows 1e-5, the report says how close.
size_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

}  // namespace

class PreprocessReference : public ::testing::TestWithParam<std::string> {};

TEST_P(PreprocessReference, MatchesGoPipeline) {
  Golden g(golden_path(GetParam()));
  std::vector<int64_t> photo = g.ints("photo");
  const int w = static_cast<int>(photo[0]), h = static_cast<int>(photo[1]), stride = static_cast<int>(photo[2]);
  pix::InputSpec in = input_spec(g);

  // The placement is Go's exactly (NewGeometry).
  pix::Geometry geo = pix::make_geometry(w, h, in);
  std::vector<int64_t> want_geo = g.ints("geometry");
  std::vector<double> want_fp = g.f64("footprint");
  EXPECT_EQ(geo.dx, want_geo[0]);
  EXPECT_EQ(geo.dy, want_geo[1]);
  EXPECT_EQ(geo.nw, want_geo[2]);
  EXPECT_EQ(geo.nh, want_geo[3]);
  EXPECT_EQ(geo.mask_scale, want_geo[4]);
  EXPECT_EQ(geo.sx, want_fp[0]);
  EXPECT_EQ(geo.sy, want_fp[1]);

  std::vector<uint8_t> rgba = g.bytes("rgba");
  std::vector<float> want = g.f32("tensor");
  const bool mirrored = g.has("mirror");
  const size_t n = 3 * static_cast<size_t>(in.width) * in.height;
  ASSERT_EQ(want.size(), n);

  // As Go holds the photo (RGBA, 4 bytes a pixel).
  pix::PreParams p = pix::make_pre_params(w, h, stride, 4, in);
  std::vector<float> got(n), got_mirror(n);
  pix::preprocess_reference(p, rgba.data(), got.data(), mirrored ? got_mirror.data() : nullptr);
  float diff = max_abs_diff(got, want);
  EXPECT_LE(diff, 1e-5f) << "reference vs Go, RGBA input";
  RecordProperty("floats_not_bit_identical_to_go", std::to_string(differing(got, want)) + " of " + std::to_string(n));
  if (mirrored) {
    EXPECT_LE(max_abs_diff(got_mirror, g.f32("mirror")), 1e-5f) << "mirror image vs Go";
  }

  // Packed RGB with padded rows gives the same floats bit for bit.
  int rgb_stride = 0;
  std::vector<uint8_t> rgb = to_rgb(rgba, w, h, stride, &rgb_stride);
  pix::PreParams p3 = pix::make_pre_params(w, h, rgb_stride, 3, in);
  std::vector<float> got3(n);
  pix::preprocess_reference(p3, rgb.data(), got3.data(), nullptr);
  EXPECT_EQ(std::memcmp(got3.data(), got.data(), n * sizeof(float)), 0) << "RGB and RGBA inputs differ";
}

INSTANTIATE_TEST_SUITE_P(Goldens, PreprocessReference, ::testing::ValuesIn(pre_goldens()));

TEST(PreprocessReference, RefusesBadLayouts) {
  pix::InputSpec in;
  in.width = in.height = 8;
  EXPECT_THROW(pix::make_pre_params(0, 4, 12, 3, in), nt::Error);
  EXPECT_THROW(pix::make_pre_params(4, 4, 12, 2, in), nt::Error);
  EXPECT_THROW(pix::make_pre_params(4, 4, 11, 3, in), nt::Error);
  EXPECT_NO_THROW(pix::make_pre_params(4, 4, 12, 3, in));
}

TEST(AlphaTable, MatchesGo) {
  Golden g(golden_path("alpha_lut"));
  std::vector<uint8_t> want = g.bytes("lut");
  ASSERT_EQ(want.size(), static_cast<size_t>(pix::kAlphaLutSize));
  uint8_t lut[pix::kAlphaLutSize];
  pix::alpha_table(lut);
  EXPECT_EQ(std::memcmp(lut, want.data(), want.size()), 0);
}

class SemanticReference : public ::testing::TestWithParam<std::string> {};

TEST_P(SemanticReference, MatchesGoPipeline) {
  Golden g(golden_path(GetParam()));
  PostCase c = post_case(g);
  std::vector<int64_t> want_geo = g.ints("geometry");
  EXPECT_EQ(c.geometry.dx, want_geo[0]);
  EXPECT_EQ(c.geometry.dy, want_geo[1]);
  EXPECT_EQ(c.geometry.mask_scale, want_geo[4]);

  pix::Decoded got = pix::decode_semantic_reference(c.geometry, c.spec, c.logits.data(), c.map_w, c.map_h);
  const int64_t n = g.ints("nails")[0];
  ASSERT_EQ(static_cast<int64_t>(got.nails.size()), n);
  for (int64_t k = 0; k < n; ++k) {
    SCOPED_TRACE("nail " + std::to_string(k));
    const std::string id = std::to_string(k);
    std::vector<int64_t> box = g.ints("nail" + id);
    const pix::DecodedNail& nl = got.nails[k];
    EXPECT_EQ(nl.x0, box[0]);
    EXPECT_EQ(nl.y0, box[1]);
    EXPECT_EQ(nl.x1, box[2]);
    EXPECT_EQ(nl.y1, box[3]);
    EXPECT_EQ(nl.scale, box[4]);
    // Sums of the same floats in the same order; only exp may differ (glibc vs Go) in the
    // last bit of a double, which float rounding almost always absorbs.
    EXPECT_NEAR(nl.score, g.f64("score" + id)[0], 1e-12);
    std::vector<uint8_t> want = g.bytes("alpha" + id);
    ASSERT_EQ(static_cast<size_t>(nl.gw) * nl.gh, want.size());
    EXPECT_EQ(std::memcmp(got.alpha.data() + nl.offset, want.data(), want.size()), 0) << "mask differs from Go's";
  }
}

INSTANTIATE_TEST_SUITE_P(Goldens, SemanticReference, ::testing::ValuesIn(post_goldens()));

// Go's components: 8-connected, labels in the raster order of each component's first
// pixel, a U whose arms meet only at the bottom is one component, and the ROI bounds it.
TEST(Components, EightConnectedRasterOrder) {
  const int w = 8, h = 5;
  const char* rows[h] = {
      "#...#.#.",  //
      "#...#..#",  //
      "#...#...",  //
      "#####..#",  //
      "........",
  };
  std::vector<uint8_t> on(w * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) on[y * w + x] = rows[y][x] == '#';
  pix::Components c;
  pix::find_components(on.data(), w, h, {0, 0, w, h}, &c);
  EXPECT_EQ(c.count, 3);
  EXPECT_EQ(c.labels[0], 1);          // the U
  EXPECT_EQ(c.labels[4], 1);          // its right arm, joined at the bottom
  EXPECT_EQ(c.labels[6], 2);          // a diagonal pair
  EXPECT_EQ(c.labels[1 * w + 7], 2);  // 8-connected to (6, 0)
  EXPECT_EQ(c.labels[3 * w + 7], 3);
  pix::RunsByComponent byc = pix::group_runs(c);
  ASSERT_EQ(byc.first.size(), 4u);
  for (int l = 1; l <= 3; ++l)
    for (int32_t k = byc.first[l - 1]; k < byc.first[l]; ++k) EXPECT_EQ(byc.runs[k].label, l);
  // Outside the ROI nothing is labelled.
  pix::find_components(on.data(), w, h, {0, 0, 4, h}, &c);
  EXPECT_EQ(c.count, 1);
  EXPECT_EQ(c.labels[4], 0);
}
