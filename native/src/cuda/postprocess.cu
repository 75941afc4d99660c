// The semantic decoder on the GPU: the per-pixel and per-cell stages as kernels over
// pixels.h's arithmetic, the host stages of postprocess.h in between.
#include <algorithm>
#include <cstring>
#include <string>

#include "cuda/gpu.h"
#include "error.h"

namespace nt {
namespace gpu {
namespace {

// Mean of the TTA pair (or the map) and the thresholded byte map, one thread a map pixel.
__global__ void threshold_kernel(const float* __restrict__ a, const float* __restrict__ b, int w, int h,
                                 float threshold, pix::Roi roi, float* __restrict__ mean, uint8_t* __restrict__ on) {
  int x = blockIdx.x * blockDim.x + threadIdx.x;
  int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  const int64_t i = static_cast<int64_t>(y) * w + x;
  float m = pix::mean_logit(a, b, w, x, y);
  mean[i] = m;
  on[i] = pix::is_on(m, threshold, roi, x, y);
}

// Each component's summed probability, one thread a component, over its runs in raster
// order: the order (and so the rounding) of the reference's and Go's sums.
__global__ void score_kernel(const float* __restrict__ mean, int w, const pix::Run* __restrict__ runs,
                             const int32_t* __restrict__ first, int count, double* __restrict__ prob) {
  int l = blockIdx.x * blockDim.x + threadIdx.x;
  if (l >= count) return;
  double sum = 0;
  for (int32_t k = first[l]; k < first[l + 1]; ++k) {
    const pix::Run r = runs[k];
    const float* row = mean + static_cast<int64_t>(r.y) * w;
    for (int x = r.a; x < r.b; ++x) sum += static_cast<double>(pix::sigmoid(row[x]));
  }
  prob[l] = sum;
}

struct LabelOwner {
  const int32_t* labels;
  __device__ int operator()(int64_t k) const { return labels[k]; }
};

// Every nail's mask: blockIdx.y picks the nail, the x threads stride over its cells.
__global__ void mask_kernel(pix::MaskSpace space, const pix::MaskGeom* __restrict__ geoms,
                            const float* __restrict__ mean, int w, const int32_t* __restrict__ labels,
                            const uint8_t* __restrict__ lut, uint8_t* __restrict__ alpha) {
  const pix::MaskGeom m = geoms[blockIdx.y];
  const int64_t cells = static_cast<int64_t>(m.gw) * m.gh;
  const LabelOwner owner{labels};
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < cells;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int i = static_cast<int>(c % m.gw), j = static_cast<int>(c / m.gw);
    alpha[m.offset + c] = pix::mask_cell(space, m, mean, w, owner, lut, i, j);
  }
}

template <typename T>
T* device(DeviceBuffer& b, size_t n) {
  return static_cast<T*>(b.reserve(n * sizeof(T)));
}
template <typename T>
T* pinned(PinnedBuffer& b, size_t n) {
  return static_cast<T*>(b.reserve(n * sizeof(T)));
}

}  // namespace

pix::Decoded SemanticDecoder::decode(const pix::Geometry& g, const pix::SemanticSpec& spec, const float* logits,
                                     int map_w, int map_h, cudaStream_t s) {
  if (map_w <= 0 || map_h <= 0)
    fail(NT_SHAPE, "semantic decode: logit map " + std::to_string(map_w) + "x" + std::to_string(map_h));
  const size_t size = static_cast<size_t>(map_w) * map_h;
  double stride = 0;
  const pix::Roi roi = pix::semantic_roi(g, map_w, map_h, &stride);

  if (!lut_ready_) {
    // alpha_of's table, once per decoder, on the stream like everything else; the first
    // wait below covers the copy before h_lut_ could be touched again.
    auto* h_lut = pinned<uint8_t>(h_lut_, pix::kAlphaLutSize);
    pix::alpha_table(h_lut);
    check(cudaMemcpyAsync(device<uint8_t>(lut_, pix::kAlphaLutSize), h_lut, pix::kAlphaLutSize, cudaMemcpyHostToDevice,
                          s),
          "semantic decode: copy alpha table");
    lut_ready_ = true;
  }

  // 1. The mean map stays on the device; the byte map comes back.
  float* mean = device<float>(mean_, size);
  uint8_t* on = device<uint8_t>(on_, size);
  const dim3 block(32, 8);
  const dim3 grid((map_w + block.x - 1) / block.x, (map_h + block.y - 1) / block.y);
  threshold_kernel<<<grid, block, 0, s>>>(logits, spec.hflip ? logits + size : nullptr, map_w, map_h, spec.threshold,
                                          roi, mean, on);
  check(cudaGetLastError(), "semantic decode: threshold kernel launch");
  uint8_t* h_on = pinned<uint8_t>(h_on_, size);
  check(cudaMemcpyAsync(h_on, on, size, cudaMemcpyDeviceToHost, s), "semantic decode: copy byte map");
  done_.record(s);
  done_.wait();

  // 2. Components on the host; their probability sums on the device.
  pix::Components comps;
  pix::find_components(h_on, map_w, map_h, roi, &comps);
  if (comps.count == 0) return {};
  const pix::RunsByComponent byc = pix::group_runs(comps);
  auto* h_runs = pinned<pix::Run>(h_runs_, byc.runs.size());
  auto* h_first = pinned<int32_t>(h_first_, byc.first.size());
  auto* h_labels = pinned<int32_t>(h_labels_, size);
  std::memcpy(h_runs, byc.runs.data(), byc.runs.size() * sizeof(pix::Run));
  std::memcpy(h_first, byc.first.data(), byc.first.size() * sizeof(int32_t));
  std::memcpy(h_labels, comps.labels.data(), size * sizeof(int32_t));
  auto* runs = device<pix::Run>(runs_, byc.runs.size());
  auto* first = device<int32_t>(first_, byc.first.size());
  auto* prob = device<double>(prob_, comps.count);
  check(cudaMemcpyAsync(runs, h_runs, byc.runs.size() * sizeof(pix::Run), cudaMemcpyHostToDevice, s),
        "semantic decode: copy runs");
  check(cudaMemcpyAsync(first, h_first, byc.first.size() * sizeof(int32_t), cudaMemcpyHostToDevice, s),
        "semantic decode: copy run offsets");
  score_kernel<<<(comps.count + 127) / 128, 128, 0, s>>>(mean, map_w, runs, first, comps.count, prob);
  check(cudaGetLastError(), "semantic decode: score kernel launch");
  auto* h_prob = pinned<double>(h_prob_, comps.count);
  check(cudaMemcpyAsync(h_prob, prob, comps.count * sizeof(double), cudaMemcpyDeviceToHost, s),
        "semantic decode: copy scores");
  // The labels go up while the scores are computed: the masks need them next.
  auto* labels = device<int32_t>(labels_, size);
  check(cudaMemcpyAsync(labels, h_labels, size * sizeof(int32_t), cudaMemcpyHostToDevice, s),
        "semantic decode: copy labels");
  done_.record(s);
  done_.wait();

  // 3. The nails and their mask geometry on the host; the masks on the device.
  pix::MaskPlan plan = pix::plan_masks(g, spec, map_w, map_h, comps, std::vector<double>(h_prob, h_prob + comps.count));
  if (plan.geoms.empty()) return std::move(plan.out);
  const size_t n = plan.geoms.size();
  if (n > 65535) fail(NT_SHAPE, "semantic decode: " + std::to_string(n) + " nails (a launch takes 65535 at most)");
  auto* h_geoms = pinned<pix::MaskGeom>(h_geoms_, n);
  std::memcpy(h_geoms, plan.geoms.data(), n * sizeof(pix::MaskGeom));
  auto* geoms = device<pix::MaskGeom>(geoms_, n);
  auto* alpha = device<uint8_t>(alpha_, plan.out.alpha.size());
  check(cudaMemcpyAsync(geoms, h_geoms, n * sizeof(pix::MaskGeom), cudaMemcpyHostToDevice, s),
        "semantic decode: copy mask geometry");
  int64_t most = 0;
  for (const pix::MaskGeom& m : plan.geoms) most = std::max<int64_t>(most, static_cast<int64_t>(m.gw) * m.gh);
  const dim3 mgrid(static_cast<unsigned>(std::min<int64_t>((most + 255) / 256, 64)), static_cast<unsigned>(n));
  mask_kernel<<<mgrid, 256, 0, s>>>(plan.space, geoms, mean, map_w, labels, static_cast<const uint8_t*>(lut_.get()),
                                    alpha);
  check(cudaGetLastError(), "semantic decode: mask kernel launch");
  auto* h_alpha = pinned<uint8_t>(h_alpha_, plan.out.alpha.size());
  check(cudaMemcpyAsync(h_alpha, alpha, plan.out.alpha.size(), cudaMemcpyDeviceToHost, s),
        "semantic decode: copy masks");
  done_.record(s);
  done_.wait();
  std::memcpy(plan.out.alpha.data(), h_alpha, plan.out.alpha.size());
  return std::move(plan.out);
}

}  // namespace gpu
}  // namespace nt
