// The per-pixel arithmetic of the GPU pre- and post-processing, written once for the CUDA
// kernels (nvcc) and their plain C++ references (g++): a kernel and its reference differ
// only in how they index and launch, so a reference that matches the Go pipeline (the
// goldens in native/tests/testdata/cuda) vouches for the kernel's arithmetic too.
//
// Every function here reproduces one step of nails/preprocess.go, nails/output_semantic.go
// or nails/mask.go operation for operation, in the same precision (double where Go uses
// float64, float where it uses float32). Bit-for-bit agreement needs each operation rounded
// alone: g++ in ISO C++ mode does not contract a*b+c into a fused multiply-add, and nvcc
// must be told not to (-fmad=false, set for every .cu in native/CMakeLists.txt and in
// `make check-cuda`).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define NT_HD __host__ __device__
#else
#define NT_HD
#endif

namespace nt {
namespace pix {

template <typename T>
NT_HD inline T clamp(T v, T lo, T hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// ------------------------------------------------------------------ preprocessing

// Everything one output pixel of the model input depends on: where the photo lands in
// the input (nails.Geometry), how 0..255 becomes the model's value (nails.normaliser) and
// how the photo's bytes are laid out. Built on the host by make_pre_params (preprocess.h).
struct PreParams {
  int src_w, src_h;      // the photo as stored, in pixels
  int src_stride;        // bytes per photo row
  int src_step;          // bytes per photo pixel: 3 (RGB) or 4 (RGBA, as Go's image.RGBA)
  int in_w, in_h;        // the model input
  int dx, dy, nw, nh;    // the photo's place inside the input
  double sx, sy;         // photo pixels per input pixel
  float mul[3], add[3];  // value = rgb[src_ch[c]] * mul[c] + add[c], per output channel
  int src_ch[3];         // output channel c reads photo channel src_ch[c] (BGR swaps 0 and 2)
  float pad[3];          // the normalised letterbox fill, per output channel
};

// The photo pixels [*a, *b) that output pixel i's footprint covers along one axis (Go's
// spans): an area filter averages them when the photo is larger than its place.
NT_HD inline void span(int i, double scale, int limit, int* a, int* b) {
  int lo = static_cast<int>(static_cast<double>(i) * scale);
  int hi = static_cast<int>(std::ceil(static_cast<double>(i + 1) * scale));
  lo = clamp(lo, 0, limit - 1);
  hi = clamp(hi, lo + 1, limit);
  *a = lo;
  *b = hi;
}

// Area filter (Go's boxResample over an rgbaSummer): integer sums of the footprint, then
// one float multiply by 1/count, as Go does.
NT_HD inline void box_rgb(const PreParams& p, const uint8_t* src, int ox, int oy, float rgb[3]) {
  int xa, xb, ya, yb;
  span(ox, p.sx, p.src_w, &xa, &xb);
  span(oy, p.sy, p.src_h, &ya, &yb);
  int s0 = 0, s1 = 0, s2 = 0;
  for (int y = ya; y < yb; ++y) {
    const uint8_t* row = src + static_cast<int64_t>(y) * p.src_stride;
    for (int x = xa; x < xb; ++x) {
      const uint8_t* q = row + static_cast<int64_t>(x) * p.src_step;
      s0 += q[0];
      s1 += q[1];
      s2 += q[2];
    }
  }
  float inv = 1.0f / static_cast<float>((xb - xa) * (yb - ya));
  rgb[0] = static_cast<float>(s0) * inv;
  rgb[1] = static_cast<float>(s1) * inv;
  rgb[2] = static_cast<float>(s2) * inv;
}

// Bilinear upsampling between pixel centres, edges clamped (Go's bilinearResample).
NT_HD inline void bilinear_rgb(const PreParams& p, const uint8_t* src, int ox, int oy, float rgb[3]) {
  double fy = (static_cast<double>(oy) + 0.5) * p.sy - 0.5;
  int y0 = static_cast<int>(std::floor(fy));
  float wy = static_cast<float>(fy - static_cast<double>(y0));
  double fx = (static_cast<double>(ox) + 0.5) * p.sx - 0.5;
  int x0 = static_cast<int>(std::floor(fx));
  float wx = static_cast<float>(fx - static_cast<double>(x0));
  const uint8_t* r0 = src + static_cast<int64_t>(clamp(y0, 0, p.src_h - 1)) * p.src_stride;
  const uint8_t* r1 = src + static_cast<int64_t>(clamp(y0 + 1, 0, p.src_h - 1)) * p.src_stride;
  int64_t c0 = static_cast<int64_t>(clamp(x0, 0, p.src_w - 1)) * p.src_step;
  int64_t c1 = static_cast<int64_t>(clamp(x0 + 1, 0, p.src_w - 1)) * p.src_step;
  for (int c = 0; c < 3; ++c) {
    float p00 = r0[c0 + c], p01 = r0[c1 + c], p10 = r1[c0 + c], p11 = r1[c1 + c];
    float top = p00 + (p01 - p00) * wx;
    float bot = p10 + (p11 - p10) * wx;
    rgb[c] = top + (bot - top) * wy;
  }
}

// Model input pixel (x, y), all three channels: the letterbox fill outside the photo's
// place, else the photo resampled (area filter down, bilinear up, as Go chooses) and
// normalised.
// Whether input pixel (x, y) lies in the photo's place, at (*ox, *oy) of it; if not,
// out is the letterbox fill.
NT_HD inline bool in_place(const PreParams& p, int x, int y, int* ox, int* oy, float out[3]) {
  *ox = x - p.dx;
  *oy = y - p.dy;
  if (*ox >= 0 && *oy >= 0 && *ox < p.nw && *oy < p.nh) return true;
  out[0] = p.pad[0];
  out[1] = p.pad[1];
  out[2] = p.pad[2];
  return false;
}

NT_HD inline void pre_pixel(const PreParams& p, const uint8_t* src, int x, int y, float out[3]) {
  int ox, oy;
  if (!in_place(p, x, y, &ox, &oy, out)) return;
  float rgb[3];
  if (p.sx >= 1 && p.sy >= 1) {
    box_rgb(p, src, ox, oy, rgb);
  } else {
    bilinear_rgb(p, src, ox, oy, rgb);
  }
  for (int c = 0; c < 3; ++c) out[c] = rgb[p.src_ch[c]] * p.mul[c] + p.add[c];
}

// A JPEG's decoded planes, as Go's image.YCbCr holds them: luma at y (y_stride bytes a
// row), chroma at cb and cr (c_stride bytes a row), subsampled hd across and vd down.
struct Planes {
  const uint8_t* y;
  const uint8_t* cb;
  const uint8_t* cr;
  int y_stride, c_stride;
  int hd, vd;
};

// Area filter over YCbCr planes, converted to RGB after averaging (Go's
// ycbcrBoxResample, its path for upright JPEGs at least as large as their place): integer
// sums of the luma and chroma footprints, each averaged with Go's reciprocals (the rows'
// times the columns'), then Go's YCbCr-to-RGB constants, clamped to 0..255. Only for
// p.sx >= 1 and p.sy >= 1 (make_plane_params refuses the rest).
NT_HD inline void box_ycbcr(const PreParams& p, const Planes& q, int ox, int oy, float rgb[3]) {
  int xa, xb, ya, yb;
  span(ox, p.sx, p.src_w, &xa, &xb);
  span(oy, p.sy, p.src_h, &ya, &yb);
  const int cxa = xa / q.hd, cxb = (xb - 1) / q.hd + 1;
  const int ca = ya / q.vd, cb = (yb - 1) / q.vd + 1;
  uint32_t ys = 0, cbs = 0, crs = 0;
  for (int y = ya; y < yb; ++y) {
    const uint8_t* row = q.y + static_cast<int64_t>(y) * q.y_stride;
    for (int x = xa; x < xb; ++x) ys += row[x];
  }
  for (int cy = ca; cy < cb; ++cy) {
    const int64_t off = static_cast<int64_t>(cy) * q.c_stride;
    for (int x = cxa; x < cxb; ++x) {
      cbs += q.cb[off + x];
      crs += q.cr[off + x];
    }
  }
  const float row_y = 1.0f / static_cast<float>(yb - ya), inv_y = 1.0f / static_cast<float>(xb - xa);
  const float row_c = 1.0f / static_cast<float>(cb - ca), inv_c = 1.0f / static_cast<float>(cxb - cxa);
  const float yv = static_cast<float>(ys) * (row_y * inv_y);
  const float cinv = row_c * inv_c;
  const float cbv = static_cast<float>(cbs) * cinv - 128, crv = static_cast<float>(crs) * cinv - 128;
  rgb[0] = clamp(yv + 1.402f * crv, 0.0f, 255.0f);
  rgb[1] = clamp(yv - 0.344136f * cbv - 0.714136f * crv, 0.0f, 255.0f);
  rgb[2] = clamp(yv + 1.772f * cbv, 0.0f, 255.0f);
}

// pre_pixel for YCbCr planes (box_ycbcr inside the photo's place).
NT_HD inline void pre_pixel(const PreParams& p, const Planes& q, int x, int y, float out[3]) {
  int ox, oy;
  if (!in_place(p, x, y, &ox, &oy, out)) return;
  float rgb[3];
  box_ycbcr(p, q, ox, oy, rgb);
  for (int c = 0; c < 3; ++c) out[c] = rgb[p.src_ch[c]] * p.mul[c] + p.add[c];
}

// ------------------------------------------------------------------ postprocessing

// The semantic decoder's per-map-pixel step: with mirror TTA the mean of the logit map
// and the mirror image's map mirrored back (Go's unflipMean), else the map itself.
NT_HD inline float mean_logit(const float* a, const float* b, int w, int x, int y) {
  int64_t row = static_cast<int64_t>(y) * w;
  if (b == nullptr) return a[row + x];
  return (a[row + x] + b[row + (w - 1 - x)]) / 2;
}

// A pixel is nail when its mean logit passes the threshold and it lies where the photo
// is (the letterbox padding cannot hold nails): [x0,x1) x [y0,y1) in map pixels.
struct Roi {
  int x0, y0, x1, y1;
};

NT_HD inline uint8_t is_on(float m, float threshold, Roi roi, int x, int y) {
  return x >= roi.x0 && x < roi.x1 && y >= roi.y0 && y < roi.y1 && m > threshold;
}

// A probability as Go computes it for scores: float64 arithmetic rounded to float32.
// (CUDA's double exp is within 1 ulp of the host's; after rounding to float the two agree
// except in the rare case that ulp straddles a float boundary, so GPU scores are compared
// with a tolerance, masks exactly.)
NT_HD inline float sigmoid(float v) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v)))); }

// 255*sigmoid(v) through a 1537-entry table over [-12, 12] in steps of 1/64 (Go's
// alphaOf and alphaLUT; the table is built by alpha_table in postprocess.h and checked
// against Go's).
constexpr int kAlphaLutSize = 24 * 64 + 1;

NT_HD inline uint8_t alpha_of(float v, const uint8_t* lut) {
  if (v >= 12) return 255;
  if (v <= -12) return 0;
  return lut[static_cast<int>((v + 12.0f) * 64.0f + 0.5f)];
}

// Stands in for map pixels of another component in a nail's mask (Go's rejectLogit), so
// neighbouring nails never bleed into each other's masks.
constexpr float kRejectLogit = -30;

// One nail's mask sampling (Go's Geometry.softMask): a grid of gw x gh cells of scale x
// scale photo pixels from the box's top-left corner, each the logit map sampled
// bilinearly at the cell's centre, minus the mask threshold, through alpha_of. Sample
// positions are clamped to the map patch [x0,x1] x [y0,y1] that the first and last cells
// touch, as Go's patch is.
struct MaskGeom {
  int box_x, box_y;    // the box's top-left photo pixel
  int gw, gh;          // cells
  int x0, x1, y0, y1;  // the map patch, inclusive
  int label;           // the component this nail is; map pixels of others are rejected
  int64_t offset;      // where its gw*gh alpha bytes start in the output
};

// The photo-to-map transform every mask shares (from nails.Geometry and the map's stride).
struct MaskSpace {
  double sx, sy;  // photo pixels per model input pixel
  double dx, dy;  // the photo's place in the input
  double stride;  // model input pixels per map pixel
  double scale;   // photo pixels per mask cell (nails.Geometry.MaskScale)
  float offset;   // the mask threshold, in logit space
};

// Map x coordinate of cell column i's centre (Go's mapX closure); mask_map_y likewise.
NT_HD inline double mask_map_x(const MaskSpace& s, int box_x, int i) {
  double px = static_cast<double>(box_x) + (static_cast<double>(i) + 0.5) * s.scale;
  return (px / s.sx + s.dx) / s.stride - 0.5;
}
NT_HD inline double mask_map_y(const MaskSpace& s, int box_y, int j) {
  double py = static_cast<double>(box_y) + (static_cast<double>(j) + 0.5) * s.scale;
  return (py / s.sy + s.dy) / s.stride - 0.5;
}

// The patch value of map pixel k: its logit less the mask threshold, or the reject logit
// less it when the pixel belongs to another component. owner(k) says which component
// owns map pixel k (0: none); Owner is a pointer or a small functor.
template <typename Owner>
NT_HD inline float patch_value(const float* map, Owner owner, int label, float offset, int64_t k) {
  int o = owner(k);
  float v = (o != 0 && o != label) ? kRejectLogit : map[k];
  return v - offset;
}

// Cell (i, j) of nail m's mask: the alpha byte Go's softMask stores at Alpha[j*gw+i].
template <typename Owner>
NT_HD inline uint8_t mask_cell(const MaskSpace& s, const MaskGeom& m, const float* map, int map_w, Owner owner,
                               const uint8_t* lut, int i, int j) {
  double fx = mask_map_x(s, m.box_x, i);
  double xf = std::floor(fx);
  int xa = clamp(static_cast<int>(xf), m.x0, m.x1);
  int xb = clamp(static_cast<int>(xf) + 1, m.x0, m.x1);
  float wx = static_cast<float>(fx - xf);
  double fy = mask_map_y(s, m.box_y, j);
  double yf = std::floor(fy);
  int64_t ra = static_cast<int64_t>(clamp(static_cast<int>(yf), m.y0, m.y1)) * map_w;
  int64_t rb = static_cast<int64_t>(clamp(static_cast<int>(yf) + 1, m.y0, m.y1)) * map_w;
  float wy = static_cast<float>(fy - yf);
  float a0 = patch_value(map, owner, m.label, s.offset, ra + xa);
  float a1 = patch_value(map, owner, m.label, s.offset, ra + xb);
  float b0 = patch_value(map, owner, m.label, s.offset, rb + xa);
  float b1 = patch_value(map, owner, m.label, s.offset, rb + xb);
  float top = a0 + (a1 - a0) * wx;
  float bot = b0 + (b1 - b0) * wx;
  return alpha_of(top + (bot - top) * wy, lut);
}

}  // namespace pix
}  // namespace nt
