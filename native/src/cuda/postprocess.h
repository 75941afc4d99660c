// The semantic decoder (nails/output_semantic.go and the mask sampling of nails/mask.go)
// split into the stages the GPU path runs: per-pixel work (pixels.h; kernels in
// postprocess.cu) and the host stages between them, which stay on the CPU because they
// are small and sequential: 8-connected components over the thresholded byte map (a few
// thousand runs), each component's area and box, and which components are nails. The
// CPU reference (decode_semantic_reference) runs every stage on the host.
#pragma once

#include <cstdint>
#include <vector>

#include "cuda/pixels.h"
#include "cuda/preprocess.h"

namespace nt {
namespace pix {

// The decoder's settings (nails.semantic), thresholds already in logit space.
struct SemanticSpec {
  float threshold = 0;   // a map pixel is nail above it
  float mask_at = 0;     // masks are drawn at this logit
  int min_area = 1;      // fewest model input pixels a nail covers
  double min_score = 0;  // lowest mean probability of a nail
  bool hflip = false;    // the maps are the photo's and its mirror image's: average them
};

// The logit of probability p, rounded to float as Go's logit does.
float logit(double p);

// The decoder's settings from a manifest's probabilities, as nails.newSemantic makes
// them: thresholds to logits, mask_threshold 0 meaning threshold, min_area at least 1.
SemanticSpec semantic_spec(double threshold, double mask_threshold, int min_area, double min_score, bool hflip);

// alpha_of's table (Go's alphaLUT): 255*sigmoid(i/64 - 12), rounded.
void alpha_table(uint8_t lut[kAlphaLutSize]);

// Where nails can be in a map_w x map_h logit map of geometry g (the photo's part of the
// letterboxed input), and the map's stride in model input pixels.
Roi semantic_roi(const Geometry& g, int map_w, int map_h, double* stride);

// A horizontal stretch [a, b) of nail pixels in row y, with its component's label.
struct Run {
  int32_t y, a, b, label;
};

// The 8-connected components of a byte map (Go's components): labels from 1 in the raster
// order of each component's first pixel, 0 for background.
struct Components {
  std::vector<int32_t> labels;  // map_w * map_h
  std::vector<Run> runs;        // raster order
  int count = 0;
};
void find_components(const uint8_t* on, int w, int h, Roi roi, Components* out);

// The runs of each component, components in label order and each one's runs in raster
// order (the order Go sums probabilities in): component l's runs are
// runs[first[l-1] .. first[l]).
struct RunsByComponent {
  std::vector<int32_t> first;  // count + 1 offsets
  std::vector<Run> runs;
};
RunsByComponent group_runs(const Components& c);

// One decoded nail: its photo box, its score and its mask (Go's Mask: cells of scale x
// scale photo pixels from the box's corner, gw x gh of them, alpha 0..255).
struct DecodedNail {
  int x0, y0, x1, y1;
  int scale, gw, gh;
  double score;
  int64_t offset;  // its alpha bytes in Decoded::alpha
};
struct Decoded {
  std::vector<DecodedNail> nails;
  std::vector<uint8_t> alpha;
};

// The nails among the components, given each one's summed probability (prob[l-1] for
// label l, summed in group_runs' order): the filter, the photo boxes and each mask's
// sampling geometry. geoms[i].label is the component's label; space is shared by all.
struct MaskPlan {
  MaskSpace space;
  std::vector<MaskGeom> geoms;
  Decoded out;  // boxes and scores filled, alpha sized, not yet sampled
};
MaskPlan plan_masks(const Geometry& g, const SemanticSpec& spec, int map_w, int map_h, const Components& c,
                    const std::vector<double>& prob);

// The CPU reference of the whole decode of one photo's logit maps: logits holds one
// map_w x map_h map, or two with spec.hflip (the photo's, then its mirror image's).
Decoded decode_semantic_reference(const Geometry& g, const SemanticSpec& spec, const float* logits, int map_w,
                                  int map_h);

}  // namespace pix
}  // namespace nt
