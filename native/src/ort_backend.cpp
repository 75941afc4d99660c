// The ONNX Runtime (CPU) backend: always built.
//
// Zero-copy I/O: inputs and outputs are OrtValues created over the caller's bound buffers
// (CreateTensorWithDataAsOrtValue), cached while the binding and shape stay the same, so a
// steady-state run allocates nothing. An output whose shape cannot be known before the run
// (a dynamic dim that matches no input's symbolic dim) is allocated by ONNX Runtime and
// copied into its binding afterwards.
#include <onnxruntime_c_api.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "backend.h"
#include "error.h"
#include "log.h"

namespace nt {
namespace {

const OrtApi* g_api = nullptr;
OrtEnv* g_env = nullptr;  // process lifetime: ONNX Runtime must not be torn down at exit
std::string g_init_error;

void ort_logger(void*, OrtLoggingLevel severity, const char* category, const char*, const char* where,
                const char* message) {
  nt_log_level level = severity >= ORT_LOGGING_LEVEL_ERROR     ? NT_LOG_ERROR
                       : severity == ORT_LOGGING_LEVEL_WARNING ? NT_LOG_WARNING
                       : severity == ORT_LOGGING_LEVEL_INFO    ? NT_LOG_INFO
                                                               : NT_LOG_VERBOSE;
  if (!log_enabled(level)) return;
  try {
    log(level, std::string("onnxruntime [") + (category ? category : "") + "] " + (message ? message : "") +
                   (where && level == NT_LOG_ERROR ? std::string(" (") + where + ")" : ""));
  } catch (...) {
  }
}

// Registers the process-wide CPU arena sessions share (session.use_env_allocators).
// Returns "", or why it failed.
std::string register_cpu_arena() {
  std::string why;
  OrtMemoryInfo* info = nullptr;
  OrtArenaCfg* cfg = nullptr;
  const char* keys[] = {"arena_extend_strategy"};
  const size_t values[] = {1};  // kSameAsRequested
  OrtStatus* st = g_api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &info);
  if (!st) st = g_api->CreateArenaCfgV2(keys, values, 1, &cfg);
  if (!st) st = g_api->CreateAndRegisterAllocator(g_env, info, cfg);
  if (st) {
    why = std::string("cannot register ONNX Runtime's CPU arena: ") + g_api->GetErrorMessage(st);
    g_api->ReleaseStatus(st);
  }
  if (cfg) g_api->ReleaseArenaCfg(cfg);
  if (info) g_api->ReleaseMemoryInfo(info);
  return why;
}

bool init(std::string* why) {
  static std::once_flag once;
  std::call_once(once, [] {
    const OrtApiBase* base = OrtGetApiBase();
    g_api = base ? base->GetApi(ORT_API_VERSION) : nullptr;
    if (g_api == nullptr) {
      g_init_error = std::string("the ONNX Runtime library (") + (base ? base->GetVersionString() : "?") +
                     ") does not serve C API version " + std::to_string(ORT_API_VERSION) +
                     " that nailtrt was compiled against; install ONNX Runtime 1." + std::to_string(ORT_API_VERSION) +
                     " or newer";
      return;
    }
    // Nothing leaves the process (DESIGN.md, trust boundaries). ONNX Runtime's Linux
    // build starts a telemetry system when the environment is created: it resolves
    // mobile.events.data.microsoft.com and keeps a device id and an events database under
    // ~/.cache/Microsoft/DeveloperTools/.onnxruntime/. ORT_DISABLE_TELEMETRY, read while
    // the environment is created, keeps that system from starting (the API call below
    // comes too late for it); DisableTelemetryEvents then turns off the events the API
    // governs. Both, because either alone has changed meaning between releases.
    // cmd/nailtrt's TestServeEndToEnd holds this: serving leaves its HOME empty.
    setenv("ORT_DISABLE_TELEMETRY", "1", 1);
    OrtStatus* st = g_api->CreateEnvWithCustomLogger(ort_logger, nullptr, ORT_LOGGING_LEVEL_WARNING, "nailtrt", &g_env);
    if (st == nullptr) st = g_api->DisableTelemetryEvents(g_env);
    if (st) {
      g_init_error = std::string("cannot create the ONNX Runtime environment: ") + g_api->GetErrorMessage(st);
      g_api->ReleaseStatus(st);
      g_api = nullptr;
      return;
    }
    // The shared CPU arena grows by what is asked for, not to the next power of two (which
    // held ~100 MiB more than the runs used); freed blocks are reused across sessions.
    g_init_error = register_cpu_arena();
    if (!g_init_error.empty()) g_api = nullptr;
  });
  if (g_api == nullptr && why) *why = g_init_error;
  return g_api != nullptr;
}

const OrtApi& api() {
  std::string why;
  if (!init(&why)) fail(NT_UNAVAILABLE, "onnxruntime: " + why);
  return *g_api;
}

// Turns an OrtStatus into an nt::Error: `what` says what nailtrt was doing.
void check(OrtStatus* st, const std::string& what, nt_status code = NT_RUNTIME) {
  if (st == nullptr) return;
  const OrtApi& a = *g_api;
  std::string msg = a.GetErrorMessage(st);
  OrtErrorCode ec = a.GetErrorCode(st);
  a.ReleaseStatus(st);
  if (code == NT_RUNTIME) {
    switch (ec) {
      case ORT_NO_SUCHFILE: code = NT_NOT_FOUND; break;
      case ORT_INVALID_PROTOBUF:
      case ORT_INVALID_GRAPH:
      case ORT_NO_MODEL:
      case ORT_MODEL_LOADED: code = NT_INVALID_MODEL; break;
      case ORT_INVALID_ARGUMENT: code = NT_INVALID_ARGUMENT; break;
      default: break;
    }
  }
  fail(code, what + ": " + msg);
}

template <typename T, void (*Release)(T*)>
struct Releaser {
  void operator()(T* p) const {
    if (p) Release(p);
  }
};
void release_session(OrtSession* p) { g_api->ReleaseSession(p); }
void release_options(OrtSessionOptions* p) { g_api->ReleaseSessionOptions(p); }
void release_type_info(OrtTypeInfo* p) { g_api->ReleaseTypeInfo(p); }
void release_run_options(OrtRunOptions* p) { g_api->ReleaseRunOptions(p); }
void release_memory_info(OrtMemoryInfo* p) { g_api->ReleaseMemoryInfo(p); }
void release_value(OrtValue* p) { g_api->ReleaseValue(p); }

using SessionPtr = std::unique_ptr<OrtSession, Releaser<OrtSession, release_session>>;
using OptionsPtr = std::unique_ptr<OrtSessionOptions, Releaser<OrtSessionOptions, release_options>>;
using TypeInfoPtr = std::unique_ptr<OrtTypeInfo, Releaser<OrtTypeInfo, release_type_info>>;
using RunOptionsPtr = std::unique_ptr<OrtRunOptions, Releaser<OrtRunOptions, release_run_options>>;
using MemoryInfoPtr = std::unique_ptr<OrtMemoryInfo, Releaser<OrtMemoryInfo, release_memory_info>>;
using ValuePtr = std::unique_ptr<OrtValue, Releaser<OrtValue, release_value>>;

nt_dtype from_ort(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return NT_FLOAT32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return NT_FLOAT16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return NT_BFLOAT16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return NT_INT8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return NT_UINT8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return NT_INT32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return NT_INT64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return NT_BOOL;
    default: return NT_DTYPE_UNKNOWN;
  }
}

ONNXTensorElementDataType to_ort(nt_dtype t) {
  switch (t) {
    case NT_FLOAT32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case NT_FLOAT16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case NT_BFLOAT16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    case NT_INT8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case NT_UINT8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case NT_INT32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case NT_INT64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case NT_BOOL: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    default: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  }
}

class OrtEngine final : public Engine {
 public:
  OrtEngine(const void* data, size_t len, const std::string& origin, const EngineOptions& o) {
    const OrtApi& a = api();
    OrtSessionOptions* raw = nullptr;
    check(a.CreateSessionOptions(&raw), "onnxruntime: session options");
    OptionsPtr opts(raw);
    if (o.intra_op_threads < 0) fail(NT_INVALID_ARGUMENT, "intra_op_threads must be >= 0");
    check(a.SetIntraOpNumThreads(opts.get(), o.intra_op_threads), "onnxruntime: intra-op threads");
    check(a.SetInterOpNumThreads(opts.get(), 1), "onnxruntime: inter-op threads");
    check(a.SetSessionExecutionMode(opts.get(), ORT_SEQUENTIAL), "onnxruntime: execution mode");
    // One CPU arena for every session in the process (registered in init): sessions of
    // the same model (the wide and narrow ones of automatic threads) reuse each other's
    // freed blocks instead of each growing an arena to its own peak.
    check(a.AddSessionConfigEntry(opts.get(), "session.use_env_allocators", "1"), "onnxruntime: shared allocator");
    // Spinning workers keep a core busy between runs; with cores shared by several
    // contexts (or a 2-vCPU VM) that turned a steady 9 ms two-thread run into a bimodal
    // 7-or-17 ms one, so sleeping is the default.
    check(a.AddSessionConfigEntry(opts.get(), "session.intra_op.allow_spinning", o.spin_wait ? "1" : "0"),
          "onnxruntime: spin wait");
    GraphOptimizationLevel level;
    switch (o.graph_optimization) {
      case 0: level = ORT_DISABLE_ALL; break;
      case 1: level = ORT_ENABLE_BASIC; break;
      case 2: level = ORT_ENABLE_EXTENDED; break;
      case 99: level = ORT_ENABLE_ALL; break;
      default:
        fail(NT_INVALID_ARGUMENT,
             "graph_optimization must be 0, 1, 2 or 99, not " + std::to_string(o.graph_optimization));
    }
    check(a.SetSessionGraphOptimizationLevel(opts.get(), level), "onnxruntime: optimisation level");

    OrtSession* s = nullptr;
    const std::string what = "onnxruntime: load " + origin;
    if (data == nullptr) {
      check(a.CreateSession(g_env, origin.c_str(), opts.get(), &s), what);
    } else {
      check(a.CreateSessionFromArray(g_env, data, len, opts.get(), &s), what);
    }
    session_.reset(s);
    describe(origin);
  }

  nt_backend backend() const override { return NT_BACKEND_ONNXRUNTIME; }
  std::unique_ptr<Context> create_context(Stream& stream) override;

  OrtSession* session() const { return session_.get(); }
  size_t num_inputs() const { return num_inputs_; }
  const std::vector<const char*>& names() const { return names_; }
  // Symbolic name of each dim of each tensor ("" when fixed or unnamed).
  const std::vector<std::vector<std::string>>& symbols() const { return symbols_; }

 private:
  void describe(const std::string& origin) {
    const OrtApi& a = *g_api;
    size_t nin = 0, nout = 0;
    check(a.SessionGetInputCount(session_.get(), &nin), "onnxruntime: input count");
    check(a.SessionGetOutputCount(session_.get(), &nout), "onnxruntime: output count");
    OrtAllocator* alloc = nullptr;
    check(a.GetAllocatorWithDefaultOptions(&alloc), "onnxruntime: allocator");
    num_inputs_ = nin;
    for (size_t k = 0; k < nin + nout; ++k) {
      bool input = k < nin;
      size_t i = input ? k : k - nin;
      char* name = nullptr;
      OrtTypeInfo* ti_raw = nullptr;
      if (input) {
        check(a.SessionGetInputName(session_.get(), i, alloc, &name), "onnxruntime: input name");
        check(a.SessionGetInputTypeInfo(session_.get(), i, &ti_raw), "onnxruntime: input type");
      } else {
        check(a.SessionGetOutputName(session_.get(), i, alloc, &name), "onnxruntime: output name");
        check(a.SessionGetOutputTypeInfo(session_.get(), i, &ti_raw), "onnxruntime: output type");
      }
      TensorDesc d;
      d.name = name;
      OrtStatus* freed = a.AllocatorFree(alloc, name);
      if (freed) a.ReleaseStatus(freed);
      d.mode = input ? NT_INPUT : NT_OUTPUT;
      TypeInfoPtr ti(ti_raw);
      ONNXType kind;
      check(a.GetOnnxTypeFromTypeInfo(ti.get(), &kind), "onnxruntime: type");
      if (kind != ONNX_TYPE_TENSOR)
        fail(NT_INVALID_MODEL,
             "onnxruntime: " + origin + ": " + d.name + " is not a tensor (sequence or map I/O is not supported)");
      const OrtTensorTypeAndShapeInfo* info = nullptr;
      check(a.CastTypeInfoToTensorInfo(ti.get(), &info), "onnxruntime: tensor info");
      ONNXTensorElementDataType et;
      check(a.GetTensorElementType(info, &et), "onnxruntime: element type");
      d.dtype = from_ort(et);
      size_t rank = 0;
      check(a.GetDimensionsCount(info, &rank), "onnxruntime: rank");
      if (rank > NT_MAX_DIMS)
        fail(NT_INVALID_MODEL, "onnxruntime: " + d.name + " has rank " + std::to_string(rank) +
                                   ", nailtrt carries at most " + std::to_string(NT_MAX_DIMS));
      d.dims.resize(rank);
      check(a.GetDimensions(info, d.dims.data(), rank), "onnxruntime: dims");
      std::vector<const char*> sym(rank, nullptr);
      check(a.GetSymbolicDimensions(info, sym.data(), rank), "onnxruntime: symbolic dims");
      std::vector<std::string> syms(rank);
      for (size_t j = 0; j < rank; ++j) {
        if (d.dims[j] < 0) d.dims[j] = -1;
        if (sym[j] && d.dims[j] < 0) syms[j] = sym[j];
      }
      tensors_.push_back(std::move(d));
      symbols_.push_back(std::move(syms));
    }
    for (const auto& t : tensors_) names_.push_back(t.name.c_str());
  }

  SessionPtr session_;
  size_t num_inputs_ = 0;
  std::vector<const char*> names_;
  std::vector<std::vector<std::string>> symbols_;
};

class OrtContext final : public Context {
 public:
  explicit OrtContext(const OrtEngine& e)
      : Context(e), ort_engine_(e), values_(e.tensors().size()), keys_(e.tensors().size()) {
    const OrtApi& a = *g_api;
    OrtRunOptions* ro = nullptr;
    check(a.CreateRunOptions(&ro), "onnxruntime: run options");
    run_options_.reset(ro);
    OrtMemoryInfo* mi = nullptr;
    check(a.CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &mi), "onnxruntime: memory info");
    memory_info_.reset(mi);
    in_values_.reserve(e.num_inputs());
    out_names_.reserve(e.tensors().size());
    out_values_.reserve(e.tensors().size());
    out_index_.reserve(e.tensors().size());
  }

 protected:
  void on_cancel() override {
    // The only call made from another thread: RunOptionsSetTerminate is documented as
    // safe while Run is in progress.
    OrtStatus* st = g_api->RunOptionsSetTerminate(run_options_.get());
    if (st) g_api->ReleaseStatus(st);
  }

  void run() override {
    const OrtApi& a = *g_api;
    const auto& ts = ort_engine_.tensors();
    check(a.RunOptionsUnsetTerminate(run_options_.get()), "onnxruntime: reset terminate flag");
    if (cancelled_.load()) on_cancel();  // a cancel that raced with the reset above

    in_values_.clear();
    for (size_t i = 0; i < ort_engine_.num_inputs(); ++i) in_values_.push_back(value_for(i, shapes_[i]));

    out_names_.clear();
    out_values_.clear();
    out_index_.clear();
    // Every output's shape is recorded before any size check fails, so a caller can
    // learn all of them from one failed run (trt.Engine.OutputShapes does).
    std::string too_small;
    for (size_t i = ort_engine_.num_inputs(); i < ts.size(); ++i) {
      if (bindings_[i].data == nullptr) continue;  // unbound outputs are not computed
      Dims dims = resolve_output(i);
      OrtValue* v = nullptr;
      if (is_resolved(dims)) {
        shapes_[i] = dims;
        if (!check_binding_size(ts[i], dims, bindings_[i], &too_small)) continue;
        v = value_for(i, dims);
      } else {
        values_[i].reset();  // ONNX Runtime allocates it; copied below
      }
      out_names_.push_back(ort_engine_.names()[i]);
      out_values_.push_back(v);
      out_index_.push_back(i);
    }
    if (!too_small.empty()) fail(NT_SHAPE, too_small);

    OrtStatus* st = a.Run(ort_engine_.session(), run_options_.get(), ort_engine_.names().data(), in_values_.data(),
                          in_values_.size(), out_names_.data(), out_names_.size(), out_values_.data());
    if (st) {
      // Outputs ONNX Runtime allocated before failing are ours to free.
      release_allocated();
      if (cancelled_.load()) {
        a.ReleaseStatus(st);
        fail(NT_CANCELLED, "onnxruntime: run cancelled");
      }
      check(st, "onnxruntime: run");
    }
    collect_allocated();
  }

 private:
  // The OrtValue over tensor i's binding with the given shape, reused while unchanged.
  OrtValue* value_for(size_t i, const Dims& dims) {
    Key k{bindings_[i].data, bindings_[i].size, dims};
    if (values_[i] && keys_[i] == k) return values_[i].get();
    const TensorDesc& t = ort_engine_.tensors()[i];
    OrtValue* v = nullptr;
    check(g_api->CreateTensorWithDataAsOrtValue(memory_info_.get(), bindings_[i].data, tensor_bytes(t, dims),
                                                dims.data(), dims.size(), to_ort(t.dtype), &v),
          "onnxruntime: wrap " + t.name);
    values_[i].reset(v);
    keys_[i] = std::move(k);
    return v;
  }

  // An output's dims with symbolic dims filled from the inputs that share the symbol
  // (e.g. the batch "N"). Dims no input names stay -1.
  Dims resolve_output(size_t i) const {
    Dims dims = ort_engine_.tensors()[i].dims;
    const auto& sym = ort_engine_.symbols();
    for (size_t d = 0; d < dims.size(); ++d) {
      if (dims[d] >= 0 || sym[i][d].empty()) continue;
      for (size_t in = 0; in < ort_engine_.num_inputs() && dims[d] < 0; ++in)
        for (size_t e = 0; e < sym[in].size(); ++e)
          if (sym[in][e] == sym[i][d]) {
            dims[d] = shapes_[in][e];
            break;
          }
    }
    return dims;
  }

  void release_allocated() {
    for (size_t k = 0; k < out_index_.size(); ++k)
      if (!values_[out_index_[k]] && out_values_[k]) {
        g_api->ReleaseValue(out_values_[k]);
        out_values_[k] = nullptr;
      }
  }

  // Copies outputs ONNX Runtime allocated into their bindings and records every output's shape.
  void collect_allocated() {
    const OrtApi& a = *g_api;
    std::string too_small;
    for (size_t k = 0; k < out_index_.size(); ++k) {
      size_t i = out_index_[k];
      if (values_[i]) {
        shapes_[i] = keys_[i].dims;
        continue;
      }
      ValuePtr v(out_values_[k]);
      out_values_[k] = nullptr;
      OrtTensorTypeAndShapeInfo* info = nullptr;
      check(a.GetTensorTypeAndShape(v.get(), &info), "onnxruntime: output shape");
      size_t rank = 0;
      OrtStatus* st = a.GetDimensionsCount(info, &rank);
      Dims dims(rank);
      if (!st) st = a.GetDimensions(info, dims.data(), rank);
      a.ReleaseTensorTypeAndShapeInfo(info);
      check(st, "onnxruntime: output dims");
      shapes_[i] = dims;
      const TensorDesc& t = ort_engine_.tensors()[i];
      if (!check_binding_size(t, dims, bindings_[i], &too_small)) continue;
      void* src = nullptr;
      check(a.GetTensorMutableData(v.get(), &src), "onnxruntime: output data");
      std::memcpy(bindings_[i].data, src, tensor_bytes(t, dims));
    }
    if (!too_small.empty()) fail(NT_SHAPE, too_small);
  }

  struct Key {
    void* data = nullptr;
    size_t size = 0;
    Dims dims;
    bool operator==(const Key& o) const { return data == o.data && size == o.size && dims == o.dims; }
  };

  const OrtEngine& ort_engine_;  // the engine as ONNX Runtime's (Context::engine_ is the generic view)
  RunOptionsPtr run_options_;
  MemoryInfoPtr memory_info_;
  std::vector<ValuePtr> values_;  // cached wrappers over bindings
  std::vector<Key> keys_;
  // Scratch for Run, kept to avoid allocating per call.
  std::vector<const OrtValue*> in_values_;
  std::vector<const char*> out_names_;
  std::vector<OrtValue*> out_values_;
  std::vector<size_t> out_index_;
};

std::unique_ptr<Context> OrtEngine::create_context(Stream&) { return std::make_unique<OrtContext>(*this); }

}  // namespace

bool onnxruntime_usable(std::string* why) { return init(why); }

std::string onnxruntime_version() {
  const OrtApiBase* base = OrtGetApiBase();
  return base ? base->GetVersionString() : "unknown";
}

std::unique_ptr<Engine> load_onnxruntime(const void* data, size_t len, const std::string& origin,
                                         const EngineOptions& options) {
  api();
  if (data == nullptr) {
    struct stat st {};
    if (::stat(origin.c_str(), &st) != 0)
      fail(NT_NOT_FOUND, "onnxruntime: load " + origin + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) fail(NT_NOT_FOUND, "onnxruntime: load " + origin + ": is a directory");
  }
  try {
    return std::make_unique<OrtEngine>(data, len, origin, options);
  } catch (const Error& e) {
    if (e.status() == NT_INVALID_MODEL || e.status() == NT_RUNTIME)
      fail(NT_INVALID_MODEL,
           std::string(e.what()) + " (is it an ONNX model? TensorRT plans need the tensorrt backend)");
    throw;
  }
}

}  // namespace nt
