// The goldens as the tests use them: a photo with its input spec and Go's tensors, or a
// logit map with its decoder settings and Go's nails (nails/cuda_golden_test.go writes
// them). Shared by the reference tests and the kernel tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/postprocess.h"
#include "cuda/preprocess.h"
#include "golden.h"

namespace nttest {

inline const std::vector<std::string>& pre_goldens() {
  static const std::vector<std::string> names{"pre_down_letterbox", "pre_up_letterbox", "pre_stretch_bgr",
                                              "pre_stretch_mixed"};
  return names;
}

inline const std::vector<std::string>& post_goldens() {
  static const std::vector<std::string> names{"post_tta_stride1", "post_stride2", "post_small_photo"};
  return names;
}

inline nt::pix::InputSpec input_spec(const Golden& g) {
  std::vector<int64_t> in = g.ints("input");
  std::vector<double> norm = g.f64("norm");
  nt::pix::InputSpec s;
  s.width = static_cast<int>(in[0]);
  s.height = static_cast<int>(in[1]);
  s.bgr = in[2] != 0;
  s.stretch = in[3] != 0;
  s.scale = norm[0];
  for (int c = 0; c < 3; ++c) {
    s.mean[c] = norm[1 + c];
    s.std[c] = norm[4 + c];
    s.pad[c] = norm[7 + c];
  }
  return s;
}

struct PostCase {
  nt::pix::Geometry geometry;
  nt::pix::SemanticSpec spec;
  int map_w, map_h;
  std::vector<float> logits;
};

inline PostCase post_case(const Golden& g) {
  std::vector<int64_t> map = g.ints("map");
  std::vector<double> spec = g.f64("spec");
  PostCase c;
  c.map_w = static_cast<int>(map[0]);
  c.map_h = static_cast<int>(map[1]);
  std::vector<int64_t> photo = g.ints("photo");
  c.geometry = nt::pix::make_geometry(static_cast<int>(photo[0]), static_cast<int>(photo[1]), input_spec(g));
  c.spec = nt::pix::semantic_spec(spec[0], spec[1], static_cast<int>(spec[2]), spec[3], map[2] == 2);
  c.logits = g.f32("logits");
  return c;
}

}  // namespace nttest
