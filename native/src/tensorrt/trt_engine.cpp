// The TensorRT engine and execution context, named-tensor API only (TensorRT 10/11):
// getNbIOTensors/getIOTensorName, setInputShape, setTensorAddress, enqueueV3.
//
// Data path of one run: the caller's pinned host buffers --cudaMemcpyAsync--> device
// buffers owned by the context --enqueueV3--> device outputs --cudaMemcpyAsync--> pinned
// host outputs, all on the context's non-blocking stream; the caller synchronizes.
//
// With pre- and post-processing in the runner (nt_context_preprocess, keep_output,
// postprocess_semantic) a request's float tensors never cross the bus: the photo's 8-bit
// pixels are copied once from pinned memory and the preprocess kernel writes the input
// binding's device memory (the run then skips that input's copy); a kept output stays on
// the device, where the semantic decoder's kernels read it and send back bytes only
// (src/cuda/gpu.h). Same stream, so the kernels order with the runs without a sync.
#include <NvInfer.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "../backend.h"
#include "../cuda/gpu.h"
#include "trt_build.h"
#include "trt_common.h"

namespace nt::trt {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ONNX files are protobufs whose first field is ir_version (tag 0x08); plans are not.
bool looks_like_onnx(const std::string& origin, const std::string& bytes) {
  if (ends_with(origin, ".onnx")) return true;
  if (ends_with(origin, ".plan") || ends_with(origin, ".engine") || ends_with(origin, ".trt")) return false;
  return !bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x08;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(NT_NOT_FOUND, "tensorrt: load " + path + ": " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct DeviceFree {
  void operator()(void* p) const {
    if (p) cudaFree(p);
  }
};
using DevicePtr = std::unique_ptr<void, DeviceFree>;

class TrtEngine final : public Engine {
 public:
  TrtEngine(const std::string& plan, const std::string& origin, int device) : device_(device) {
    begin_call(&recorder_);
    check_cuda(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
    runtime_.reset(nvinfer1::createInferRuntime(logger()));
    check_trt(runtime_ != nullptr, NT_UNAVAILABLE, "unable to create TensorRT runtime", nullptr);
    // The engine inherits the runtime's recorder.
    runtime_->setErrorRecorder(&recorder_);
    engine_.reset(runtime_->deserializeCudaEngine(plan.data(), plan.size()));
    // A plan from another TensorRT version or GPU fails here: an error, never a null
    // dereference later (NVIDIA/TensorRT#2176).
    check_trt(engine_ != nullptr, NT_INVALID_MODEL,
              "unable to deserialize TensorRT plan " + origin +
                  " (plans only load on the TensorRT version and GPU architecture that built them)",
              &recorder_);
    int32_t n = engine_->getNbIOTensors();
    // Inputs first, then outputs, as the ABI promises.
    for (nvinfer1::TensorIOMode want : {nvinfer1::TensorIOMode::kINPUT, nvinfer1::TensorIOMode::kOUTPUT}) {
      for (int32_t i = 0; i < n; ++i) {
        const char* name = engine_->getIOTensorName(i);
        if (engine_->getTensorIOMode(name) != want) continue;
        TensorDesc d;
        d.name = name;
        d.mode = want == nvinfer1::TensorIOMode::kINPUT ? NT_INPUT : NT_OUTPUT;
        d.dtype = from_trt(engine_->getTensorDataType(name));
        d.dims = from_trt(engine_->getTensorShape(name));
        if (d.dims.size() > NT_MAX_DIMS) fail(NT_INVALID_MODEL, "tensorrt: " + d.name + " has too many dimensions");
        tensors_.push_back(std::move(d));
      }
    }
  }

  nt_backend backend() const override { return NT_BACKEND_TENSORRT; }
  std::unique_ptr<Context> create_context(Stream& stream) override;

  nvinfer1::ICudaEngine& engine() const { return *engine_; }
  int device() const { return device_; }
  // Errors of the runtime and engine (context creation), filed per thread: many threads
  // may create contexts at once.
  ErrorRecorder& recorder() const { return recorder_; }

 private:
  int device_;
  mutable ErrorRecorder recorder_;   // outlives the TensorRT objects that report to it
  Ptr<nvinfer1::IRuntime> runtime_;  // must outlive engine_: declared first, destroyed last
  Ptr<nvinfer1::ICudaEngine> engine_;
};

class TrtContext final : public Context {
 public:
  TrtContext(const TrtEngine& e, Stream& stream) : Context(e), trt_engine_(e), stream_(stream) {
    if (!stream.is_cuda()) fail(NT_INVALID_ARGUMENT, "tensorrt needs a CUDA stream; this one is a host stream");
    if (stream.device() != e.device())
      fail(NT_INVALID_ARGUMENT,
           "stream is on device " + std::to_string(stream.device()) + ", the engine on " + std::to_string(e.device()));
    check_cuda(cudaSetDevice(e.device()), "cudaSetDevice");
    begin_call(&e.recorder());
    ctx_.reset(e.engine().createExecutionContext());
    check_trt(ctx_ != nullptr, NT_OUT_OF_MEMORY, "unable to create TensorRT execution context", &e.recorder());
    // From here on the context reports to its own recorder.
    ctx_->setErrorRecorder(&recorder_);
    cudaStream_t s = static_cast<cudaStream_t>(stream.native());
    if (e.engine().getNbOptimizationProfiles() > 0)
      check_trt(ctx_->setOptimizationProfileAsync(0, s), NT_RUNTIME, "setOptimizationProfileAsync", &recorder_);
    allocate_device_buffers();
  }

  ~TrtContext() override {
    // Queued copies may still read our device buffers; the kernels' objects free device
    // memory and events, which belong to the engine's device.
    cudaSetDevice(trt_engine_.device());
    cudaStreamSynchronize(static_cast<cudaStream_t>(stream_.native()));
  }

 protected:
  void on_input_shape(size_t index) override {
    const TensorDesc& t = trt_engine_.tensors()[index];
    begin_call(&recorder_);
    check_trt(
        ctx_->setInputShape(t.name.c_str(), to_trt(shapes_[index])), NT_SHAPE,
        "tensorrt: input " + t.name + " shape " + to_string(shapes_[index]) + " is outside the optimisation profile",
        &recorder_);
  }

  void run() override {
    const auto& ts = trt_engine_.tensors();
    cudaStream_t s = static_cast<cudaStream_t>(stream_.native());
    begin_call(&recorder_);
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].mode != NT_INPUT || on_device_[i]) continue;  // on_device_: written by the preprocess kernel
      size_t bytes = tensor_bytes(ts[i], shapes_[i]);
      check_cuda(cudaMemcpyAsync(device_[i].get(), bindings_[i].data, bytes, cudaMemcpyHostToDevice, s),
                 "copy input " + ts[i].name + " to the GPU");
    }
    // Output shapes follow from the input shapes: check every bound output fits before
    // anything runs.
    std::string too_small;  // every shape is recorded before failing (see the ORT backend)
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].mode != NT_OUTPUT) continue;
      shapes_[i] = from_trt(ctx_->getTensorShape(ts[i].name.c_str()));
      if (bindings_[i].data == nullptr || kept_[i]) continue;
      check_binding_size(ts[i], shapes_[i], bindings_[i], &too_small);
    }
    if (!too_small.empty()) fail(NT_SHAPE, too_small);
    if (cancelled_.load()) fail(NT_CANCELLED, "tensorrt: run cancelled");
    check_trt(ctx_->enqueueV3(s), NT_RUNTIME, "tensorrt: enqueueV3 failed", &recorder_);
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].mode != NT_OUTPUT || bindings_[i].data == nullptr || kept_[i]) continue;
      size_t bytes = tensor_bytes(ts[i], shapes_[i]);
      check_cuda(cudaMemcpyAsync(bindings_[i].data, device_[i].get(), bytes, cudaMemcpyDeviceToHost, s),
                 "copy output " + ts[i].name + " from the GPU");
    }
  }

  // The preprocess kernel writes the item into the input's device memory, which holds the
  // profile's largest shape (the base class checked the item is inside the set one).
  bool write_input(size_t index, size_t offset, const pix::PreParams& p, const pix::Source& src, bool mirror) override {
    check_cuda(cudaSetDevice(trt_engine_.device()), "cudaSetDevice");
    // Made here, after cudaSetDevice, not with the context: its events belong to the
    // device current when they are created.
    if (!pre_) pre_ = std::make_unique<gpu::Preprocessor>();
    float* dst = static_cast<float*>(device_[index].get()) + offset;
    const size_t plane = static_cast<size_t>(3) * p.in_w * p.in_h;
    if (src.planes != nullptr) {
      pre_->enqueue_planes(p, src, dst, mirror ? dst + plane : nullptr, cuda_stream());
    } else {
      pre_->enqueue(p, src.block, dst, mirror ? dst + plane : nullptr, cuda_stream());
    }
    return true;
  }

  // A kept output is decoded where the model wrote it; one copied back is decoded on the
  // CPU once the copy has landed.
  pix::Decoded read_output(size_t index, size_t offset, const pix::Geometry& g, const pix::SemanticSpec& spec,
                           int map_w, int map_h) override {
    check_cuda(cudaSetDevice(trt_engine_.device()), "cudaSetDevice");
    if (!kept_[index]) {
      check_cuda(cudaStreamSynchronize(cuda_stream()), "wait for the run before decoding its copied output");
      return Context::read_output(index, offset, g, spec, map_w, map_h);
    }
    if (!decoder_) decoder_ = std::make_unique<gpu::SemanticDecoder>();  // after cudaSetDevice, as pre_
    const float* logits = static_cast<const float*>(device_[index].get()) + offset;
    return decoder_->decode(g, spec, logits, map_w, map_h, cuda_stream());
  }

 private:
  cudaStream_t cuda_stream() const { return static_cast<cudaStream_t>(stream_.native()); }

  // One device buffer per tensor, sized for the largest shape the profile allows.
  // cudaMalloc returns 256-byte aligned memory, what TensorRT expects of I/O addresses.
  void allocate_device_buffers() {
    const auto& ts = trt_engine_.tensors();
    nvinfer1::ICudaEngine& eng = trt_engine_.engine();
    bool profiles = eng.getNbOptimizationProfiles() > 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].mode != NT_INPUT) continue;
      Dims mx = ts[i].dims;
      if (!is_resolved(mx)) {
        if (!profiles)
          fail(NT_INVALID_MODEL,
               "tensorrt: input " + ts[i].name + " is dynamic but the plan has no optimisation profile");
        mx = from_trt(eng.getProfileShape(ts[i].name.c_str(), 0, nvinfer1::OptProfileSelector::kMAX));
      }
      check_trt(ctx_->setInputShape(ts[i].name.c_str(), to_trt(mx)), NT_SHAPE, "tensorrt: max shape of " + ts[i].name,
                &recorder_);
      max_[i] = mx;
    }
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].mode == NT_OUTPUT) {
        max_[i] = from_trt(ctx_->getTensorShape(ts[i].name.c_str()));
        if (!is_resolved(max_[i]))
          fail(NT_INVALID_MODEL, "tensorrt: output " + ts[i].name + " has a data-dependent shape " +
                                     to_string(max_[i]) + ", which nailtrt does not support");
      }
      size_t bytes = std::max<size_t>(1, tensor_bytes(ts[i], max_[i]));
      void* p = nullptr;
      check_cuda(cudaMalloc(&p, bytes), "cudaMalloc " + std::to_string(bytes) + " bytes for " + ts[i].name);
      device_[i].reset(p);
      check_trt(ctx_->setTensorAddress(ts[i].name.c_str(), p), NT_RUNTIME, "setTensorAddress " + ts[i].name,
                &recorder_);
    }
    // The context now holds the max shapes, but shape_set_ stays false for dynamic
    // inputs: a run without set_input_shape is still refused by the base class rather
    // than silently running the largest batch.
  }

  const TrtEngine& trt_engine_;  // the engine as TensorRT's (Context::engine_ is the generic view)
  Stream& stream_;
  ErrorRecorder recorder_;  // this context's errors; outlives ctx_, which reports to it
  Ptr<nvinfer1::IExecutionContext> ctx_;
  std::vector<DevicePtr> device_ = std::vector<DevicePtr>(trt_engine_.tensors().size());
  std::vector<Dims> max_ = std::vector<Dims>(trt_engine_.tensors().size());
  // One each per stream, as gpu.h asks; made on first use, on the engine's device.
  std::unique_ptr<gpu::Preprocessor> pre_;
  std::unique_ptr<gpu::SemanticDecoder> decoder_;
};

std::unique_ptr<Context> TrtEngine::create_context(Stream& stream) {
  return std::make_unique<TrtContext>(*this, stream);
}

}  // namespace

std::unique_ptr<Engine> load(const void* data, size_t len, const std::string& origin, const EngineOptions& options) {
  std::string bytes = data ? std::string(static_cast<const char*>(data), len) : read_file(origin);
  if (bytes.empty()) fail(NT_INVALID_MODEL, "tensorrt: " + origin + " is empty");
  check_cuda(cudaSetDevice(options.device_id), "cudaSetDevice(" + std::to_string(options.device_id) + ")");
  if (looks_like_onnx(origin, bytes)) {
    std::string plan = plan_for_onnx(bytes.data(), bytes.size(), origin, options);
    return std::make_unique<TrtEngine>(plan, origin, options.device_id);
  }
  return std::make_unique<TrtEngine>(bytes, origin, options.device_id);
}

}  // namespace nt::trt
