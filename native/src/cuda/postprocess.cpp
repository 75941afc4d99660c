#include "cuda/postprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nt {
namespace pix {

float logit(double p) { return static_cast<float>(std::log(p / (1 - p))); }

void alpha_table(uint8_t lut[kAlphaLutSize]) {
  for (int i = 0; i < kAlphaLutSize; ++i) {
    double v = static_cast<double>(i) / 64 - 12;
    lut[i] = static_cast<uint8_t>(255 / (1 + std::exp(-v)) + 0.5);
  }
}

SemanticSpec semantic_spec(double threshold, double mask_threshold, int min_area, double min_score, bool hflip) {
  SemanticSpec s;
  s.threshold = logit(threshold);
  s.mask_at = logit(mask_threshold > 0 ? mask_threshold : threshold);
  s.min_area = std::max(1, min_area);
  s.min_score = min_score;
  s.hflip = hflip;
  return s;
}

namespace {

// image.Rectangle's Intersect: the overlap, or the zero rectangle when there is none.
struct Rect {
  int x0, y0, x1, y1;
  bool empty() const { return x0 >= x1 || y0 >= y1; }
};
Rect intersect(Rect r, Rect s) {
  r = {std::max(r.x0, s.x0), std::max(r.y0, s.y0), std::min(r.x1, s.x1), std::min(r.y1, s.y1)};
  if (r.empty()) return {0, 0, 0, 0};
  return r;
}
// image.Rect: the corners in either order.
Rect canon(int x0, int y0, int x1, int y1) {
  return {std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)};
}

int floor_int(double v) { return static_cast<int>(std::floor(v)); }
int ceil_int(double v) { return static_cast<int>(std::ceil(v)); }

}  // namespace

Roi semantic_roi(const Geometry& g, int map_w, int map_h, double* stride) {
  double s = static_cast<double>(g.in_w) / map_w;
  *stride = s;
  Rect r = canon(static_cast<int>(g.dx / s), static_cast<int>(g.dy / s), static_cast<int>((g.dx + g.nw) / s + 0.999),
                 static_cast<int>((g.dy + g.nh) / s + 0.999));
  r = intersect(r, {0, 0, map_w, map_h});
  return {r.x0, r.y0, r.x1, r.y1};
}

void find_components(const uint8_t* on, int w, int h, Roi roi, Components* out) {
  out->labels.assign(static_cast<size_t>(w) * h, 0);
  out->runs.clear();
  std::vector<int32_t> parent{0};  // union-find; label 0 is the background
  auto find = [&](int32_t a) {
    while (parent[a] != a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  std::vector<Run>& runs = out->runs;
  size_t prev_lo = 0, prev_hi = 0;  // the previous row's runs
  for (int y = roi.y0; y < roi.y1; ++y) {
    const uint8_t* row = on + static_cast<int64_t>(y) * w;
    size_t cur_lo = runs.size();
    size_t j = prev_lo;
    for (int x = roi.x0; x < roi.x1;) {
      if (!row[x]) {
        ++x;
        continue;
      }
      int a = x;
      while (x < roi.x1 && row[x]) ++x;
      int b = x;
      // The previous row's runs [pa, pb) that touch [a, b) 8-connectedly: pa <= b, pb >= a.
      while (j < prev_hi && runs[j].b < a) ++j;
      int32_t l = 0;
      for (size_t k = j; k < prev_hi && runs[k].a <= b; ++k) {
        int32_t r = find(runs[k].label);
        if (l == 0) {
          l = r;
        } else if (r < l) {
          parent[l] = r;
          l = r;
        } else if (r > l) {
          parent[r] = l;
        }
      }
      if (l == 0) {
        l = static_cast<int32_t>(parent.size());
        parent.push_back(l);
      }
      runs.push_back({y, a, b, l});
    }
    prev_lo = cur_lo;
    prev_hi = runs.size();
  }
  // Roots become 1..n in the order their first run appears.
  std::vector<int32_t> remap(parent.size(), 0);
  int n = 0;
  for (Run& r : runs) {
    int32_t root = find(r.label);
    if (remap[root] == 0) remap[root] = ++n;
    r.label = remap[root];
    std::fill_n(out->labels.begin() + static_cast<int64_t>(r.y) * w + r.a, r.b - r.a, r.label);
  }
  out->count = n;
}

RunsByComponent group_runs(const Components& c) {
  RunsByComponent g;
  g.first.assign(c.count + 1, 0);
  for (const Run& r : c.runs) ++g.first[r.label];
  for (int l = 1; l <= c.count; ++l) g.first[l] += g.first[l - 1];
  // first[l] now ends component l; fill backwards so each component keeps raster order.
  g.runs.resize(c.runs.size());
  std::vector<int32_t> next(g.first.begin(), g.first.end() - 1);
  for (const Run& r : c.runs) g.runs[next[r.label - 1]++] = r;
  return g;
}

MaskPlan plan_masks(const Geometry& g, const SemanticSpec& spec, int map_w, int map_h, const Components& c,
                    const std::vector<double>& prob) {
  MaskPlan plan{};
  double stride = static_cast<double>(g.in_w) / map_w;
  struct Stats {
    int64_t area = 0;
    int x0, y0, x1 = 0, y1 = 0;
  };
  std::vector<Stats> comps(c.count + 1);
  for (Stats& s : comps) {
    s.x0 = map_w;
    s.y0 = map_h;
  }
  for (const Run& r : c.runs) {
    Stats& s = comps[r.label];
    s.area += r.b - r.a;
    s.x0 = std::min(s.x0, static_cast<int>(r.a));
    s.y0 = std::min(s.y0, static_cast<int>(r.y));
    s.x1 = std::max(s.x1, static_cast<int>(r.b));
    s.y1 = std::max(s.y1, static_cast<int>(r.y) + 1);
  }
  const int scale = std::max(1, g.mask_scale);
  plan.space = {
      g.sx,        g.sy, static_cast<double>(g.dx), static_cast<double>(g.dy), stride, static_cast<double>(scale),
      spec.mask_at};
  auto photo_x = [&](double mx) { return (mx - g.dx) * g.sx; };
  auto photo_y = [&](double my) { return (my - g.dy) * g.sy; };
  int64_t bytes = 0;
  for (int l = 1; l <= c.count; ++l) {
    const Stats& s = comps[l];
    double p = prob[l - 1];
    if (s.area * static_cast<int64_t>(stride * stride) < spec.min_area ||
        p < spec.min_score * static_cast<double>(s.area))
      continue;
    // The component's box in the photo, grown by a map pixel for the soft edge (Go's photoBox).
    double bx0 = s.x0 * stride, by0 = s.y0 * stride, bx1 = s.x1 * stride, by1 = s.y1 * stride;
    Rect box = canon(floor_int(photo_x(bx0 - stride)), floor_int(photo_y(by0 - stride)),
                     ceil_int(photo_x(bx1 + stride)), ceil_int(photo_y(by1 + stride)));
    box = intersect(box, {0, 0, g.src_w, g.src_h});
    if (box.empty()) continue;
    DecodedNail n{};
    n.x0 = box.x0;
    n.y0 = box.y0;
    n.x1 = box.x1;
    n.y1 = box.y1;
    n.scale = scale;
    n.gw = (box.x1 - box.x0 + scale - 1) / scale;
    n.gh = (box.y1 - box.y0 + scale - 1) / scale;
    n.score = p / static_cast<double>(s.area);
    n.offset = bytes;
    bytes += static_cast<int64_t>(n.gw) * n.gh;
    MaskGeom m{};
    m.box_x = box.x0;
    m.box_y = box.y0;
    m.gw = n.gw;
    m.gh = n.gh;
    m.x0 = clamp(floor_int(mask_map_x(plan.space, m.box_x, 0)), 0, map_w - 1);
    m.x1 = clamp(floor_int(mask_map_x(plan.space, m.box_x, m.gw - 1)) + 1, 0, map_w - 1);
    m.y0 = clamp(floor_int(mask_map_y(plan.space, m.box_y, 0)), 0, map_h - 1);
    m.y1 = clamp(floor_int(mask_map_y(plan.space, m.box_y, m.gh - 1)) + 1, 0, map_h - 1);
    m.label = l;
    m.offset = n.offset;
    plan.geoms.push_back(m);
    plan.out.nails.push_back(n);
  }
  plan.out.alpha.assign(static_cast<size_t>(bytes), 0);
  return plan;
}

Decoded decode_semantic_reference(const Geometry& g, const SemanticSpec& spec, const float* logits, int map_w,
                                  int map_h) {
  const int64_t size = static_cast<int64_t>(map_w) * map_h;
  double stride = 0;
  Roi roi = semantic_roi(g, map_w, map_h, &stride);
  const float* mirror = spec.hflip ? logits + size : nullptr;
  std::vector<float> mean(size);
  std::vector<uint8_t> on(size);
  for (int y = 0; y < map_h; ++y) {
    for (int x = 0; x < map_w; ++x) {
      int64_t i = static_cast<int64_t>(y) * map_w + x;
      mean[i] = mean_logit(logits, mirror, map_w, x, y);
      on[i] = is_on(mean[i], spec.threshold, roi, x, y);
    }
  }
  Components c;
  find_components(on.data(), map_w, map_h, roi, &c);
  RunsByComponent byc = group_runs(c);
  std::vector<double> prob(c.count, 0.0);
  for (int l = 1; l <= c.count; ++l) {
    double sum = 0;
    for (int32_t k = byc.first[l - 1]; k < byc.first[l]; ++k) {
      const Run& r = byc.runs[k];
      for (int x = r.a; x < r.b; ++x) sum += static_cast<double>(sigmoid(mean[static_cast<int64_t>(r.y) * map_w + x]));
    }
    prob[l - 1] = sum;
  }
  MaskPlan plan = plan_masks(g, spec, map_w, map_h, c, prob);
  uint8_t lut[kAlphaLutSize];
  alpha_table(lut);
  const int32_t* labels = c.labels.data();
  auto owner = [labels](int64_t k) { return labels[k]; };
  for (const MaskGeom& m : plan.geoms) {
    uint8_t* alpha = plan.out.alpha.data() + m.offset;
    for (int j = 0; j < m.gh; ++j)
      for (int i = 0; i < m.gw; ++i)
        alpha[static_cast<int64_t>(j) * m.gw + i] = mask_cell(plan.space, m, mean.data(), map_w, owner, lut, i, j);
  }
  return std::move(plan.out);
}

}  // namespace pix
}  // namespace nt
