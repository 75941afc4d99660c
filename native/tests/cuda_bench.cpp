// Timings the GPU path needs and no test asserts: host-to-device bandwidth from pinned
// and pageable memory, the preprocess kernel at VGA, 1280x960 and 12 MP into the bundled
// model's 512x512 input (mirror TTA on), and the semantic decode of a 512x512 TTA pair,
// each beside its CPU reference. Prints a Markdown table; exits 0 saying why when there is
// no GPU. Run by tools/gpu/run.sh, which also calls
//   nailtrt_cuda_bench --hold-mib N --seconds S
// to hold N MiB of device memory for S seconds while it reads the server's GPU health, so
// the report shows NVML's numbers move.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cuda/gpu.h"

namespace gpu = nt::gpu;
namespace pix = nt::pix;

namespace {

class TimedEvent {
 public:
  TimedEvent() { gpu::check(cudaEventCreate(&e_), "cudaEventCreate"); }
  ~TimedEvent() { cudaEventDestroy(e_); }
  TimedEvent(const TimedEvent&) = delete;
  TimedEvent& operator=(const TimedEvent&) = delete;
  void record(cudaStream_t s) { gpu::check(cudaEventRecord(e_, s), "cudaEventRecord"); }
  float ms_since(const TimedEvent& start) {
    gpu::check(cudaEventSynchronize(e_), "cudaEventSynchronize");
    float ms = 0;
    gpu::check(cudaEventElapsedTime(&ms, start.e_, e_), "cudaEventElapsedTime");
    return ms;
  }

 private:
  cudaEvent_t e_ = nullptr;
};

template <typename F>
double host_ms(F&& f, int reps) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
}

void bandwidth(cudaStream_t s) {
  const size_t bytes = 64u << 20;
  gpu::PinnedBuffer pinned;
  std::vector<uint8_t> pageable(bytes, 1);
  gpu::DeviceBuffer dev;
  void* d = dev.reserve(bytes);
  void* p = pinned.reserve(bytes);
  std::memset(p, 1, bytes);
  for (int kind = 0; kind < 2; ++kind) {
    const void* src = kind == 0 ? p : pageable.data();
    gpu::check(cudaMemcpyAsync(d, src, bytes, cudaMemcpyHostToDevice, s), "warm-up copy");
    TimedEvent a, b;
    a.record(s);
    const int reps = 10;
    for (int i = 0; i < reps; ++i) gpu::check(cudaMemcpyAsync(d, src, bytes, cudaMemcpyHostToDevice, s), "copy");
    b.record(s);
    double gbs = reps * bytes / (b.ms_since(a) / 1e3) / 1e9;
    std::printf("| H2D 64 MiB from %s memory | %.1f GB/s | |\n", kind == 0 ? "pinned" : "pageable", gbs);
  }
}

void preprocess(cudaStream_t s) {
  pix::InputSpec in;
  in.width = in.height = 512;
  const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225}, pad[3] = {124, 116, 104};
  for (int c = 0; c < 3; ++c) {
    in.mean[c] = mean[c];
    in.std[c] = sd[c];
    in.pad[c] = pad[c];
  }
  const int sizes[3][2] = {{640, 480}, {1280, 960}, {4000, 3000}};
  for (const auto& sz : sizes) {
    const int w = sz[0], h = sz[1], stride = 3 * w;
    pix::PreParams p = pix::make_pre_params(w, h, stride, 3, in);
    gpu::PinnedBuffer host;
    auto* px = static_cast<uint8_t*>(host.reserve(pix::photo_bytes(p)));
    std::mt19937 rng(1);
    for (size_t i = 0; i < pix::photo_bytes(p); ++i) px[i] = static_cast<uint8_t>(rng());
    const size_t n = 3u * 512 * 512;
    gpu::DeviceBuffer out;
    auto* d = static_cast<float*>(out.reserve(2 * n * sizeof(float)));
    gpu::Preprocessor pre;
    pre.enqueue(p, px, d, d + n, s);  // warm-up: allocation, module load
    gpu::check(cudaStreamSynchronize(s), "synchronize");
    const int reps = 20;
    TimedEvent a, b;
    a.record(s);
    for (int i = 0; i < reps; ++i) pre.enqueue(p, px, d, d + n, s);
    b.record(s);
    double gpu_ms = b.ms_since(a) / reps;
    std::vector<float> ref(2 * n);
    double cpu_ms = host_ms([&] { pix::preprocess_reference(p, px, ref.data(), ref.data() + n); }, 3);
    std::printf("| preprocess %dx%d RGB -> 512x512 + mirror (copy + kernel) | %.3f ms | CPU reference %.1f ms |\n", w,
                h, gpu_ms, cpu_ms);
  }
}

void decode(cudaStream_t s) {
  const int w = 512, h = 512;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 0.8f);
  std::vector<float> logits(2u * w * h);
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        int xx = i ? w - 1 - x : x;
        float v = -6;
        for (int k = 0; k < 10; ++k) {  // ten nails in a row
          float dx = (xx + 0.5f - (40 + 45 * k)) / 14, dy = (y + 0.5f - 256) / 22, d = dx * dx + dy * dy;
          v = std::max(v, 7 * (1 - d) - 3 * d);
        }
        logits[(static_cast<size_t>(i) * h + y) * w + x] = v + noise(rng);
      }
  gpu::PinnedBuffer host;
  auto* l = static_cast<float*>(host.reserve(logits.size() * sizeof(float)));
  std::memcpy(l, logits.data(), logits.size() * sizeof(float));
  gpu::DeviceBuffer dev;
  auto* d = static_cast<float*>(dev.reserve(logits.size() * sizeof(float)));
  gpu::check(cudaMemcpyAsync(d, l, logits.size() * sizeof(float), cudaMemcpyHostToDevice, s), "copy logits");
  pix::InputSpec in;
  in.width = in.height = 512;
  pix::SemanticSpec spec;
  spec.threshold = pix::logit(0.6);
  spec.mask_at = pix::logit(0.4);
  spec.min_area = 250;
  spec.min_score = 0.85;
  spec.hflip = true;
  gpu::SemanticDecoder dec;
  for (const auto& photo : {std::pair<int, int>{640, 480}, {4000, 3000}}) {
    pix::Geometry g = pix::make_geometry(photo.first, photo.second, in);
    size_t nails = dec.decode(g, spec, d, w, h, s).nails.size();  // warm-up
    double gpu_ms = host_ms([&] { dec.decode(g, spec, d, w, h, s); }, 20);
    double cpu_ms = host_ms([&] { pix::decode_semantic_reference(g, spec, logits.data(), w, h); }, 3);
    std::printf(
        "| semantic decode 512x512 TTA pair, %zu nails, %dx%d photo (wall, host stages included) | %.3f ms | "
        "CPU reference %.1f ms |\n",
        nails, photo.first, photo.second, gpu_ms, cpu_ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string why;
  if (!gpu::device_usable(&why)) {
    std::printf("skipped: %s\n", why.c_str());
    return 0;
  }
  try {
    if (argc == 5 && std::strcmp(argv[1], "--hold-mib") == 0 && std::strcmp(argv[3], "--seconds") == 0) {
      const size_t mib = std::strtoull(argv[2], nullptr, 10);
      gpu::DeviceBuffer hold;
      // Touch it, so the memory is really committed.
      gpu::check(cudaMemset(hold.reserve(mib << 20), 0, mib << 20), "cudaMemset");
      gpu::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      std::printf("holding %zu MiB\n", mib);
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::seconds(std::atoi(argv[4])));
      return 0;
    }
    cudaDeviceProp prop{};
    gpu::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    std::printf("device: %s (sm_%d%d), driver %d, runtime %d\n\n", prop.name, prop.major, prop.minor, driver, runtime);
    std::printf("| what | GPU | beside it |\n|---|---|---|\n");
    cudaStream_t s = nullptr;
    gpu::check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    bandwidth(s);
    preprocess(s);
    decode(s);
    cudaStreamDestroy(s);
  } catch (const std::exception& e) {
    std::printf("failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
