#include "cuda/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "error.h"

namespace nt {
namespace pix {

Geometry make_geometry(int src_w, int src_h, const InputSpec& in) {
  Geometry g{};
  g.src_w = src_w;
  g.src_h = src_h;
  g.in_w = in.width;
  g.in_h = in.height;
  if (in.stretch) {
    g.nw = in.width;
    g.nh = in.height;
  } else {
    double s = std::min(static_cast<double>(in.width) / src_w, static_cast<double>(in.height) / src_h);
    // Half to even, as Go's math.RoundToEven (and Python's round() in training): nearbyint
    // rounds that way in the default rounding mode.
    g.nw = std::max(1, static_cast<int>(std::nearbyint(static_cast<double>(src_w) * s)));
    g.nh = std::max(1, static_cast<int>(std::nearbyint(static_cast<double>(src_h) * s)));
    g.nw = std::min(g.nw, in.width);
    g.nh = std::min(g.nh, in.height);
    g.dx = (in.width - g.nw) / 2;
    g.dy = (in.height - g.nh) / 2;
  }
  g.sx = static_cast<double>(src_w) / g.nw;
  g.sy = static_cast<double>(src_h) / g.nh;
  g.mask_scale = std::max(1, static_cast<int>(std::min(g.sx, g.sy) / 2));
  return g;
}

PreParams make_pre_params(int src_w, int src_h, int src_stride, int src_step, const InputSpec& in, int photo_w,
                          int photo_h) {
  if (src_w <= 0 || src_h <= 0 || in.width <= 0 || in.height <= 0)
    fail(NT_INVALID_ARGUMENT, "preprocess: photo " + std::to_string(src_w) + "x" + std::to_string(src_h) +
                                  " into input " + std::to_string(in.width) + "x" + std::to_string(in.height));
  if (src_step != 3 && src_step != 4)
    fail(NT_INVALID_ARGUMENT, "preprocess: " + std::to_string(src_step) + " bytes a pixel (need 3 or 4)");
  if (static_cast<int64_t>(src_stride) < static_cast<int64_t>(src_w) * src_step)
    fail(NT_INVALID_ARGUMENT, "preprocess: row stride " + std::to_string(src_stride) + " is under " +
                                  std::to_string(src_w * src_step) + " bytes");
  if (photo_w == 0 && photo_h == 0) {
    photo_w = src_w;
    photo_h = src_h;
  }
  if (photo_w < src_w || photo_h < src_h)
    fail(NT_INVALID_ARGUMENT, "preprocess: pixels " + std::to_string(src_w) + "x" + std::to_string(src_h) +
                                  " are larger than the photo they stand for, " + std::to_string(photo_w) + "x" +
                                  std::to_string(photo_h));
  Geometry g = make_geometry(photo_w, photo_h, in);
  // A reduced decode: the full-size photo's place, footprints in the reduced pixels.
  g.sx = static_cast<double>(src_w) / g.nw;
  g.sy = static_cast<double>(src_h) / g.nh;
  PreParams p{};
  p.src_w = src_w;
  p.src_h = src_h;
  p.src_stride = src_stride;
  p.src_step = src_step;
  p.in_w = g.in_w;
  p.in_h = g.in_h;
  p.dx = g.dx;
  p.dy = g.dy;
  p.nw = g.nw;
  p.nh = g.nh;
  p.sx = g.sx;
  p.sy = g.sy;
  for (int c = 0; c < 3; ++c) {
    p.mul[c] = static_cast<float>(in.scale / in.std[c]);
    p.add[c] = static_cast<float>(-in.mean[c] / in.std[c]);
    // mean and std are in the model's channel order, so only the source swaps.
    p.src_ch[c] = in.bgr ? 2 - c : c;
  }
  for (int c = 0; c < 3; ++c) p.pad[c] = static_cast<float>(in.pad[p.src_ch[c]]) * p.mul[c] + p.add[c];
  return p;
}

PreParams make_plane_params(int src_w, int src_h, int hd, int vd, const InputSpec& in, int photo_w, int photo_h) {
  if (!(hd == 1 || hd == 2 || hd == 4) || !(vd == 1 || vd == 2))
    fail(NT_INVALID_ARGUMENT, "preprocess: chroma subsampled " + std::to_string(hd) + "x" + std::to_string(vd) +
                                  " (need 1, 2 or 4 across and 1 or 2 down, as JPEG)");
  if (src_w <= 0 || src_h <= 0 || src_w > (1 << 24) || src_h > (1 << 24))
    fail(NT_INVALID_ARGUMENT, "preprocess: planes of " + std::to_string(src_w) + "x" + std::to_string(src_h));
  // The luma plane's placement and footprints, as for a photo of its size.
  PreParams p = make_pre_params(src_w, src_h, src_w * 3, 3, in, photo_w, photo_h);
  if (p.sx < 1 || p.sy < 1)
    fail(NT_INVALID_ARGUMENT, "preprocess: YCbCr planes of " + std::to_string(src_w) + "x" + std::to_string(src_h) +
                                  " are smaller than their place in the input; planes are only area-filtered, "
                                  "as the Go pipeline reads them: send RGB pixels");
  p.src_stride = 0;  // unused: the planes carry their strides
  p.src_step = 0;
  return p;
}

namespace {

// The reference loop over every model input pixel, for interleaved pixels (Src: a byte
// pointer) or planes (Src: Planes); pre_pixel is overloaded for each.
template <typename Src>
void reference(const PreParams& p, const Src& src, float* dst, float* mirrored) {
  const int64_t plane = static_cast<int64_t>(p.in_w) * p.in_h;
  for (int y = 0; y < p.in_h; ++y) {
    for (int x = 0; x < p.in_w; ++x) {
      float v[3];
      pre_pixel(p, src, x, y, v);
      int64_t i = static_cast<int64_t>(y) * p.in_w + x;
      int64_t m = static_cast<int64_t>(y) * p.in_w + (p.in_w - 1 - x);
      for (int c = 0; c < 3; ++c) {
        dst[c * plane + i] = v[c];
        if (mirrored != nullptr) mirrored[c * plane + m] = v[c];
      }
    }
  }
}

}  // namespace

void preprocess_planes_reference(const PreParams& p, const Planes& q, float* dst, float* mirrored) {
  reference(p, q, dst, mirrored);
}

void preprocess_reference(const PreParams& p, const uint8_t* src, float* dst, float* mirrored) {
  reference(p, src, dst, mirrored);
}

size_t photo_bytes(const PreParams& p) {
  return static_cast<size_t>(p.src_stride) * (p.src_h - 1) + static_cast<size_t>(p.src_w) * p.src_step;
}

}  // namespace pix
}  // namespace nt
