// The backend interface: what the C ABI (abi.cpp) needs from ONNX Runtime and TensorRT.
// Each backend implements Engine and Context; the shared bookkeeping (descriptors,
// bindings, shapes, validation) lives here so the backends only do their own work.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cuda/postprocess.h"
#include "cuda/preprocess.h"
#include "memory.h"
#include "nailtrt.h"
#include "tensor.h"

namespace nt {

struct EngineOptions {
  nt_backend backend = NT_BACKEND_AUTO;
  int intra_op_threads = 0;
  int graph_optimization = 99;
  int device_id = 0;
  bool fp16 = true;
  int max_batch = 8;
  int opt_batch = 1;
  std::string cache_dir;
  bool spin_wait = false;
};

class Context;

class Engine {
 public:
  virtual ~Engine() = default;
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  virtual nt_backend backend() const = 0;
  virtual std::unique_ptr<Context> create_context(Stream& stream) = 0;

  const std::vector<TensorDesc>& tensors() const { return tensors_; }
  const TensorDesc& tensor(size_t index) const;

 protected:
  std::vector<TensorDesc> tensors_;  // inputs first, then outputs
};

// A binding: where a tensor's data lives in a caller's buffer.
struct Binding {
  void* data = nullptr;
  size_t size = 0;
};

// The bytes tensor t occupies at `shape` (resolved; NT_SHAPE otherwise).
size_t tensor_bytes(const TensorDesc& t, const Dims& shape);

// The one size check of a binding against a shape, for inputs and outputs of every
// backend: whether b holds tensor t at `shape`. When it does not, throws NT_SHAPE
// ("output y of shape [2,4] needs 32 bytes, its binding holds 16"); or, given
// first_error, keeps that message there unless it already holds one and returns false,
// so a backend can record every output's shape before failing the run with the first.
bool check_binding_size(const TensorDesc& t, const Dims& shape, const Binding& b, std::string* first_error = nullptr);

class Context {
 public:
  explicit Context(const Engine& engine);
  virtual ~Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  void set_input_shape(size_t index, const Dims& dims);
  const Dims& tensor_shape(size_t index) const;
  void bind(size_t index, void* data, size_t size);
  void enqueue();
  void cancel() {
    cancelled_.store(true);
    on_cancel();
  }

  // Pre- and post-processing in the runner (nt_context_preprocess, nt_context_keep_output
  // and nt_context_postprocess_semantic in nailtrt.h). These check the tensors, shapes and
  // items; where the work runs is the backend's (write_input, read_output below).
  void preprocess(size_t index, int64_t item, const pix::PreParams& p, const pix::Source& src, bool mirror);
  void keep_output(size_t index, bool keep);
  pix::Decoded postprocess_semantic(size_t index, int64_t item, const pix::Geometry& g, const pix::SemanticSpec& spec);

 protected:
  // Writes the model input of photo p, from src's pixels or planes (and its mirror image
  // into the next item), at `offset` floats into input index. Returns true when it was written where the model
  // reads it on a device, so the next run must not copy the host binding over it. The
  // default runs the CPU reference into the bound host memory and returns false.
  virtual bool write_input(size_t index, size_t offset, const pix::PreParams& p, const pix::Source& src, bool mirror);
  // Decodes map_w x map_h logit maps starting `offset` floats into output index of the
  // last run (two maps with spec.hflip). The default runs the CPU reference on the bound
  // host memory.
  virtual pix::Decoded read_output(size_t index, size_t offset, const pix::Geometry& g, const pix::SemanticSpec& spec,
                                   int map_w, int map_h);

  // Called after validation: every input bound with a resolved shape, the inputs' bound
  // ranges large enough for their shapes.
  virtual void run() = 0;
  // Backends may react at once (ONNX Runtime's terminate flag); the flag is always set.
  virtual void on_cancel() {}
  // Called when an input shape changes, so a backend can re-resolve outputs.
  virtual void on_input_shape(size_t) {}

  const Engine& engine_;
  std::vector<Dims> shapes_;  // current shape per tensor (outputs: last produced)
  std::vector<Binding> bindings_;
  std::vector<bool> shape_set_;  // inputs: set or fully static
  std::vector<bool> on_device_;  // inputs written on the device for the next run (write_input)
  std::vector<bool> kept_;       // outputs left on the device by runs (keep_output)
  std::atomic<bool> cancelled_{false};

 private:
  // The float [N,C,H,W] tensor index's item `item` (and `items` - 1 more) at its current
  // shape: the offset of the item in floats, and H and W.
  size_t item_offset(size_t index, int64_t item, int64_t items, int64_t channels, int64_t* h, int64_t* w) const;
  const void* host_data(size_t index, size_t offset_floats, size_t floats) const;
};

// Factories. Each throws nt::Error with NT_UNAVAILABLE when its backend cannot be used.
std::unique_ptr<Engine> load_onnxruntime(const void* data, size_t len, const std::string& origin,
                                         const EngineOptions& options);
std::unique_ptr<Engine> load_tensorrt(const void* data, size_t len, const std::string& origin,
                                      const EngineOptions& options);
// NT_OK when usable; otherwise why.
bool onnxruntime_usable(std::string* why);
bool tensorrt_usable(int device, std::string* why);
std::string onnxruntime_version();
std::string tensorrt_version();

}  // namespace nt
