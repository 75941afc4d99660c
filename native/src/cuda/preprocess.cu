// The preprocess kernel: one thread per model input pixel, the arithmetic in
// pix::pre_pixel (shared with preprocess_reference).
#include "cuda/gpu.h"

namespace nt {
namespace gpu {
namespace {

// Src: the photo's bytes (interleaved pixels) or its Planes, both on the device;
// pix::pre_pixel is overloaded for each.
template <typename Src>
__global__ void preprocess_kernel(pix::PreParams p, Src src, float* __restrict__ dst, float* __restrict__ mirror) {
  int x = blockIdx.x * blockDim.x + threadIdx.x;
  int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= p.in_w || y >= p.in_h) return;
  float v[3];
  pix::pre_pixel(p, src, x, y, v);
  const int64_t plane = static_cast<int64_t>(p.in_w) * p.in_h;
  const int64_t i = static_cast<int64_t>(y) * p.in_w + x;
  for (int c = 0; c < 3; ++c) dst[c * plane + i] = v[c];
  if (mirror != nullptr) {
    const int64_t m = static_cast<int64_t>(y) * p.in_w + (p.in_w - 1 - x);
    for (int c = 0; c < 3; ++c) mirror[c * plane + m] = v[c];
  }
}

dim3 grid_for(const pix::PreParams& p, dim3 block) {
  return dim3((p.in_w + block.x - 1) / block.x, (p.in_h + block.y - 1) / block.y);
}

}  // namespace

void Preprocessor::enqueue_planes(const pix::PreParams& p, const pix::Source& src, float* dst, float* mirror,
                                  cudaStream_t s) {
  const uint8_t* block = upload(src.block, src.bytes, s);
  // The planes, rebased from the pinned block onto its copy on the device.
  pix::Planes q = *src.planes;
  q.y = block + (src.planes->y - src.block);
  q.cb = block + (src.planes->cb - src.block);
  q.cr = block + (src.planes->cr - src.block);
  const dim3 b(32, 8);
  preprocess_kernel<pix::Planes><<<grid_for(p, b), b, 0, s>>>(p, q, dst, mirror);
  check(cudaGetLastError(), "preprocess: planes kernel launch");
  kernel_done_.record(s);
}

const uint8_t* Preprocessor::upload(const uint8_t* host, size_t bytes, cudaStream_t s) {
  // Growing frees the old device buffer, which the last kernel may still be reading.
  // (Reusing it needs no wait: the copy below queues behind that kernel on the stream.)
  if (bytes > pixels_.size()) kernel_done_.wait();
  auto* pixels = static_cast<uint8_t*>(pixels_.reserve(bytes));
  check(cudaMemcpyAsync(pixels, host, bytes, cudaMemcpyHostToDevice, s), "preprocess: copy photo");
  consumed_.record(s);
  return pixels;
}

void Preprocessor::enqueue(const pix::PreParams& p, const uint8_t* host_pixels, float* dst, float* mirror,
                           cudaStream_t s) {
  const uint8_t* pixels = upload(host_pixels, pix::photo_bytes(p), s);
  const dim3 b(32, 8);
  preprocess_kernel<const uint8_t*><<<grid_for(p, b), b, 0, s>>>(p, pixels, dst, mirror);
  check(cudaGetLastError(), "preprocess: kernel launch");
  kernel_done_.record(s);
}

}  // namespace gpu
}  // namespace nt
