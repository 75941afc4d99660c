#include "trt_build.h"

#include <NvInfer.h>
#include <NvOnnxParser.h>

#include <chrono>
#include <map>
#include <mutex>

#include "../sha256.h"
#include "trt_common.h"

namespace nt::trt {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Logs each build phase with its duration: a first build can take minutes, and a silent
// one looks like a hang (reported in Roboflow Inference, PR #2703).
class ProgressLog final : public nvinfer1::IProgressMonitor {
 public:
  explicit ProgressLog(std::string origin) : origin_(std::move(origin)) {}

  void phaseStart(const char* phase, const char* parent, int32_t steps) noexcept override {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      if (parent == nullptr) start_[phase ? phase : ""] = Clock::now();
      if (parent == nullptr)
        nt::log(NT_LOG_INFO,
                "tensorrt build " + origin_ + ": " + (phase ? phase : "") + " (" + std::to_string(steps) + " steps)");
    } catch (...) {
    }
  }
  bool stepComplete(const char*, int32_t) noexcept override { return true; }
  void phaseFinish(const char* phase) noexcept override {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = start_.find(phase ? phase : "");
      if (it == start_.end()) return;
      nt::log(NT_LOG_INFO, "tensorrt build " + origin_ + ": " + it->first + " done in " +
                               std::to_string(seconds_since(it->second)) + " s");
      start_.erase(it);
    } catch (...) {
    }
  }

 private:
  std::string origin_;
  std::mutex mu_;
  std::map<std::string, Clock::time_point> start_;
};

// Optimisation profile: a dynamic first dimension is the batch (1..max_batch, tuned for
// opt_batch); any other dynamic dimension has no sensible range to guess.
void add_profile(nvinfer1::IBuilder& builder, nvinfer1::INetworkDefinition& net, nvinfer1::IBuilderConfig& config,
                 const EngineOptions& o, const std::string& origin, ErrorRecorder& errors) {
  nvinfer1::IOptimizationProfile* profile = builder.createOptimizationProfile();
  check_trt(profile != nullptr, NT_RUNTIME, "createOptimizationProfile", &errors);
  bool dynamic = false;
  for (int32_t i = 0; i < net.getNbInputs(); ++i) {
    nvinfer1::ITensor* in = net.getInput(i);
    Dims d = from_trt(in->getDimensions());
    bool has_dynamic = false;
    for (size_t k = 0; k < d.size(); ++k) {
      if (d[k] >= 0) continue;
      if (k != 0)
        fail(NT_INVALID_MODEL, "tensorrt: " + origin + ": input " + in->getName() + " " + to_string(d) +
                                   " has a dynamic dimension other than the batch; export it with fixed sizes");
      has_dynamic = true;
    }
    if (!has_dynamic) continue;
    dynamic = true;
    Dims mn = d, opt = d, mx = d;
    mn[0] = 1;
    opt[0] = o.opt_batch;
    mx[0] = o.max_batch;
    check_trt(profile->setDimensions(in->getName(), nvinfer1::OptProfileSelector::kMIN, to_trt(mn)) &&
                  profile->setDimensions(in->getName(), nvinfer1::OptProfileSelector::kOPT, to_trt(opt)) &&
                  profile->setDimensions(in->getName(), nvinfer1::OptProfileSelector::kMAX, to_trt(mx)),
              NT_INVALID_ARGUMENT, std::string("optimisation profile for ") + in->getName(), &errors);
  }
  if (dynamic) check_trt(config.addOptimizationProfile(profile) >= 0, NT_RUNTIME, "addOptimizationProfile", &errors);
}

// FP16 on TensorRT 10 is a builder flag. TensorRT 11 builds strongly typed networks only:
// precision follows the ONNX model's own types, so an FP16 plan needs an FP16 export.
// The flag only permits FP16 kernels; TensorRT still picks FP32 where that is faster.
std::string precision_of(const EngineOptions& o) {
#if NV_TENSORRT_MAJOR < 11
  return o.fp16 ? "fp16" : "fp32";
#else
  (void)o;
  return "typed";
#endif
}

void configure_precision(nvinfer1::IBuilderConfig& config, const EngineOptions& o) {
#if NV_TENSORRT_MAJOR < 11
  // Deprecated in late 10.x in favour of strongly typed networks, but still the way to
  // get FP16 kernels from an FP32 ONNX model there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (o.fp16) config.setFlag(nvinfer1::BuilderFlag::kFP16);
#pragma GCC diagnostic pop
#else
  (void)config;
  if (o.fp16)
    nt::log(NT_LOG_INFO, "tensorrt " + library_version() +
                             " builds strongly typed networks: precision follows the ONNX model's types "
                             "(export an FP16 model for FP16 kernels)");
#endif
}

PlanKey make_key(const void* onnx, size_t len, const EngineOptions& o, const std::string& precision) {
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, o.device_id), "cudaGetDeviceProperties");
  PlanKey k;
  k.onnx_sha256 = Sha256::hex(onnx, len);
  k.trt_version = library_version();
  k.sm_major = prop.major;
  k.sm_minor = prop.minor;
  k.precision = precision;
  k.opt_batch = o.opt_batch;
  k.max_batch = o.max_batch;
  return k;
}

std::string build(const void* onnx, size_t len, const std::string& origin, const EngineOptions& o,
                  const PlanCache& cache, const PlanKey& key) {
  Logger& log = logger();
  // This build's errors, whichever of TensorRT's threads reports them; it outlives every
  // object below (they report to it until destroyed). Objects created from the builder
  // inherit it.
  ErrorRecorder errors(ErrorRecorder::Scope::kCall);
  begin_call(&errors);
  Ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(log));
  check_trt(builder != nullptr, NT_UNAVAILABLE, "unable to create TensorRT builder", &errors);
  builder->setErrorRecorder(&errors);
  Ptr<nvinfer1::INetworkDefinition> net(builder->createNetworkV2(0));
  check_trt(net != nullptr, NT_RUNTIME, "unable to create TensorRT network", &errors);
  Ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*net, log));
  check_trt(parser != nullptr, NT_RUNTIME, "unable to create ONNX parser", &errors);
  if (!parser->parse(onnx, len, origin.c_str())) {
    std::string why;
    for (int32_t i = 0; i < parser->getNbErrors(); ++i) why += std::string(i ? "; " : "") + parser->getError(i)->desc();
    fail(NT_INVALID_MODEL, "tensorrt: cannot parse ONNX " + origin + ": " + why);
  }
  Ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  check_trt(config != nullptr, NT_RUNTIME, "unable to create builder config", &errors);
  ProgressLog progress(origin);
  config->setProgressMonitor(&progress);
  add_profile(*builder, *net, *config, o, origin, errors);
  configure_precision(*config, o);

  std::string timing_path = cache.enabled() ? cache.timing_cache_path(key) : "";
  std::string timing_blob = cache.enabled() ? cache.read(timing_path).value_or("") : "";
  Ptr<nvinfer1::ITimingCache> timing(config->createTimingCache(timing_blob.data(), timing_blob.size()));
  if (timing) config->setTimingCache(*timing, /*ignoreMismatch=*/false);

  nt::log(NT_LOG_INFO, "tensorrt: building a plan for " + origin + " (" + key.precision + ", batch up to " +
                           std::to_string(o.max_batch) + "); the first build of a model can take minutes");
  auto t0 = Clock::now();
  Ptr<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*net, *config));
  check_trt(plan != nullptr && plan->size() > 0, NT_RUNTIME, "unable to build TensorRT engine for " + origin, &errors);
  nt::log(NT_LOG_INFO, "tensorrt: built " + origin + " in " + std::to_string(seconds_since(t0)) + " s (" +
                           std::to_string(plan->size()) + " bytes)");

  if (cache.enabled()) {
    try {
      if (const nvinfer1::ITimingCache* tc = config->getTimingCache()) {
        Ptr<nvinfer1::IHostMemory> blob(tc->serialize());
        if (blob) cache.write(timing_path, blob->data(), blob->size());
      }
    } catch (const Error& e) {
      nt::log(NT_LOG_WARNING, std::string("tensorrt: timing cache not saved: ") + e.what());
    }
  }
  return std::string(static_cast<const char*>(plan->data()), plan->size());
}

}  // namespace

std::string plan_for_onnx(const void* onnx, size_t len, const std::string& origin, const EngineOptions& o) {
  PlanCache cache(o.cache_dir);
  PlanKey key = make_key(onnx, len, o, precision_of(o));
  if (cache.enabled()) {
    if (auto plan = cache.read(cache.plan_path(key))) {
      nt::log(NT_LOG_INFO, "tensorrt: using cached plan " + cache.plan_path(key));
      return *plan;
    }
  }
  std::string plan = build(onnx, len, origin, o, cache, key);
  if (cache.enabled()) {
    try {
      cache.write(cache.plan_path(key), plan.data(), plan.size());
      nt::log(NT_LOG_INFO, "tensorrt: cached plan " + cache.plan_path(key));
    } catch (const Error& e) {
      nt::log(NT_LOG_WARNING, std::string("tensorrt: plan not cached: ") + e.what());
    }
  }
  return plan;
}

}  // namespace nt::trt
