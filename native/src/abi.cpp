// The extern "C" entry points of nailtrt.h. Each body runs inside guard(), which turns
// every exception into a status plus the thread's last-error message: nothing thrown in
// C++ may unwind into the caller (cgo cannot handle it).
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>

#include "backend.h"
#include "error.h"
#include "log.h"
#include "memory.h"
#include "nailtrt.h"

struct nt_engine {
  std::unique_ptr<nt::Engine> impl;
};
struct nt_context {
  std::unique_ptr<nt::Context> impl;
};
struct nt_stream {
  std::unique_ptr<nt::Stream> impl;
};
struct nt_buffer {
  std::unique_ptr<nt::Buffer> impl;
};
struct nt_nails {
  nt::pix::Decoded decoded;
};

namespace {

template <typename F>
nt_status guard(F&& body) noexcept {
  try {
    body();
    return NT_OK;
  } catch (const nt::Error& e) {
    nt::set_last_error(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    nt::set_last_error("out of memory");
    return NT_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    nt::set_last_error(std::string("internal error: ") + e.what());
    return NT_INTERNAL;
  } catch (...) {
    nt::set_last_error("internal error: unknown exception");
    return NT_INTERNAL;
  }
}

nt::EngineOptions convert(const nt_engine_options* o) {
  nt::EngineOptions out;
  if (o == nullptr) return out;
  // ABI 1's first layout ends with cache_dir; anything smaller was never initialised.
  constexpr size_t kMinSize = offsetof(nt_engine_options, cache_dir) + sizeof(const char*);
  if (o->struct_size < kMinSize || o->struct_size > (1u << 16))
    nt::fail(NT_INVALID_ARGUMENT, "nt_engine_options.struct_size is " + std::to_string(o->struct_size) +
                                      "; initialise options with nt_engine_options_init");
  auto has = [&](size_t offset) { return o->struct_size > offset; };
  if (o->backend < NT_BACKEND_AUTO || o->backend > NT_BACKEND_TENSORRT)
    nt::fail(NT_INVALID_ARGUMENT, "unknown backend " + std::to_string(o->backend));
  if (o->max_batch < 1 || o->opt_batch < 1 || o->opt_batch > o->max_batch)
    nt::fail(NT_INVALID_ARGUMENT, "need 1 <= opt_batch <= max_batch, got opt_batch " + std::to_string(o->opt_batch) +
                                      ", max_batch " + std::to_string(o->max_batch));
  out.backend = o->backend;
  out.intra_op_threads = o->intra_op_threads;
  out.graph_optimization = o->graph_optimization;
  out.device_id = o->device_id;
  out.fp16 = o->fp16 != 0;
  out.max_batch = o->max_batch;
  out.opt_batch = o->opt_batch;
  if (o->cache_dir) out.cache_dir = o->cache_dir;
  if (has(offsetof(nt_engine_options, spin_wait))) out.spin_wait = o->spin_wait != 0;
  return out;
}

void init_defaults(nt_engine_options* o);

// The model input a manifest describes, checked.
nt::pix::InputSpec convert(const nt_input_spec* in) {
  nt::require(in, "spec");
  if (in->width <= 0 || in->height <= 0 || in->width > (1 << 14) || in->height > (1 << 14))
    nt::fail(NT_INVALID_ARGUMENT, "input spec " + std::to_string(in->width) + "x" + std::to_string(in->height) +
                                      " is not a model input size");
  nt::pix::InputSpec out;
  out.width = in->width;
  out.height = in->height;
  out.bgr = in->bgr != 0;
  out.stretch = in->stretch != 0;
  out.scale = in->scale;
  for (int c = 0; c < 3; ++c) {
    if (!(in->std[c] != 0)) nt::fail(NT_INVALID_ARGUMENT, "input spec: std[" + std::to_string(c) + "] is 0");
    out.mean[c] = in->mean[c];
    out.std[c] = in->std[c];
    out.pad[c] = in->pad[c];
  }
  return out;
}

bool probability(double p) { return p >= 0 && p <= 1; }

// The bytes [offset, offset+bytes) of buffer, refused when they run past its end.
const uint8_t* block_at(const nt_buffer* buffer, size_t offset, size_t bytes);

// The largest photo nt_context_postprocess_semantic decodes for: 1 G pixels, far past any
// limit a server sets (nails.Limits), and masks that stay under 2 GiB.
constexpr int64_t kMaxPhotoPixels = int64_t{1} << 30;

const uint8_t* block_at(const nt_buffer* buffer, size_t offset, size_t bytes) {
  const size_t cap = buffer->impl->size();
  if (offset > cap || bytes > cap - offset)
    nt::fail(NT_INVALID_ARGUMENT, "photo of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                                      " is past the end of the " + std::to_string(cap) + "-byte buffer");
  return static_cast<const uint8_t*>(buffer->impl->data()) + offset;
}

nt_backend resolve(nt_backend b, int device) {
  if (b != NT_BACKEND_AUTO) return b;
  std::string why;
  if (nt::tensorrt_usable(device, &why)) return NT_BACKEND_TENSORRT;
  return NT_BACKEND_ONNXRUNTIME;
}

std::unique_ptr<nt::Engine> load(const void* data, size_t len, const std::string& origin, const nt_engine_options* o) {
  nt::EngineOptions opts = convert(o);
  nt_backend b = resolve(opts.backend, opts.device_id);
  if (b == NT_BACKEND_TENSORRT) {
    std::string why;
    if (!nt::tensorrt_usable(opts.device_id, &why)) nt::fail(NT_UNAVAILABLE, "tensorrt unavailable: " + why);
    return nt::load_tensorrt(data, len, origin, opts);
  }
  std::string why;
  if (!nt::onnxruntime_usable(&why)) nt::fail(NT_UNAVAILABLE, "onnxruntime unavailable: " + why);
  return nt::load_onnxruntime(data, len, origin, opts);
}

}  // namespace

extern "C" {

uint32_t nt_abi_version(void) { return NT_ABI_VERSION; }

const char* nt_last_error(void) { return nt::last_error(); }

const char* nt_status_string(nt_status status) {
  switch (status) {
    case NT_OK: return "ok";
    case NT_INVALID_ARGUMENT: return "invalid argument";
    case NT_NOT_FOUND: return "not found";
    case NT_UNAVAILABLE: return "unavailable";
    case NT_INVALID_MODEL: return "invalid model";
    case NT_SHAPE: return "shape mismatch";
    case NT_DTYPE: return "dtype mismatch";
    case NT_OUT_OF_MEMORY: return "out of memory";
    case NT_RUNTIME: return "runtime error";
    case NT_CANCELLED: return "cancelled";
    case NT_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char* nt_dtype_name(nt_dtype dtype) { return nt::dtype_name(dtype); }

size_t nt_dtype_size(nt_dtype dtype) { return nt::dtype_size(dtype); }

nt_status nt_set_logger(nt_log_fn fn, void* user, nt_log_level min_level) {
  return guard([&] {
    if (min_level < NT_LOG_ERROR || min_level > NT_LOG_VERBOSE)
      nt::fail(NT_INVALID_ARGUMENT, "unknown log level " + std::to_string(min_level));
    nt::set_logger(fn, user, min_level);
  });
}

nt_status nt_backend_probe(nt_backend backend, nt_backend* resolved) {
  return guard([&] {
    std::string why;
    bool ok = false;
    nt_backend b = resolve(backend, 0);
    switch (b) {
      case NT_BACKEND_ONNXRUNTIME: ok = nt::onnxruntime_usable(&why); break;
      case NT_BACKEND_TENSORRT: ok = nt::tensorrt_usable(0, &why); break;
      default: nt::fail(NT_INVALID_ARGUMENT, "unknown backend " + std::to_string(backend));
    }
    if (!ok) nt::fail(NT_UNAVAILABLE, why);
    if (resolved) *resolved = b;
  });
}

nt_status nt_versions(char* buf, size_t len) {
  return guard([&] {
    nt::require(buf, "buf");
    if (len == 0) nt::fail(NT_INVALID_ARGUMENT, "len is 0");
    std::string v = "nailtrt abi " + std::to_string(NT_ABI_VERSION) + "; onnxruntime " + nt::onnxruntime_version() +
                    "; tensorrt " + nt::tensorrt_version() + "; cuda " + nt::cuda_version();
    std::snprintf(buf, len, "%s", v.c_str());
  });
}

void nt_engine_options_init_sized(nt_engine_options* caller, size_t size) {
  if (caller == nullptr || size < sizeof(uint32_t)) return;
  nt_engine_options o;
  std::memset(&o, 0, sizeof(o));
  init_defaults(&o);
  o.struct_size = static_cast<uint32_t>(std::min(size, sizeof(o)));
  // Never write past what the caller allocated (an older, smaller struct).
  std::memcpy(caller, &o, std::min(size, sizeof(o)));
}

}  // extern "C"

namespace {
void init_defaults(nt_engine_options* o) {
  o->backend = NT_BACKEND_AUTO;
  o->intra_op_threads = 0;
  o->graph_optimization = 99;
  o->device_id = 0;
  o->fp16 = 1;
  o->max_batch = 8;
  o->opt_batch = 1;
  o->cache_dir = nullptr;
  o->spin_wait = 0;
}
}  // namespace

extern "C" {

nt_status nt_engine_load_file(const char* path, const nt_engine_options* options, nt_engine** out) {
  return guard([&] {
    nt::require(path, "path");
    nt::require(out, "out");
    if (*path == '\0') nt::fail(NT_INVALID_ARGUMENT, "path is empty");
    auto e = std::make_unique<nt_engine>();
    e->impl = load(nullptr, 0, path, options);
    *out = e.release();
  });
}

nt_status nt_engine_load_memory(const void* data, size_t len, const nt_engine_options* options, nt_engine** out) {
  return guard([&] {
    nt::require(data, "data");
    nt::require(out, "out");
    if (len == 0) nt::fail(NT_INVALID_MODEL, "model is empty (0 bytes)");
    auto e = std::make_unique<nt_engine>();
    e->impl = load(data, len, "<memory>", options);
    *out = e.release();
  });
}

void nt_engine_destroy(nt_engine* engine) { delete engine; }

nt_status nt_engine_backend(const nt_engine* engine, nt_backend* out) {
  return guard([&] { *nt::require(out, "out") = nt::require(engine, "engine")->impl->backend(); });
}

nt_status nt_engine_tensor_count(const nt_engine* engine, size_t* out) {
  return guard([&] { *nt::require(out, "out") = nt::require(engine, "engine")->impl->tensors().size(); });
}

namespace {
// Every dims array that crosses the ABI has NT_MAX_DIMS slots: a longer shape is an error,
// never a write past the caller's array.
void check_rank(const nt::Dims& d, const std::string& what) {
  if (d.size() > NT_MAX_DIMS)
    nt::fail(NT_SHAPE, what + " has rank " + std::to_string(d.size()) + ", the C ABI carries at most " +
                           std::to_string(NT_MAX_DIMS));
}
}  // namespace

nt_status nt_engine_tensor(const nt_engine* engine, size_t index, nt_tensor_desc* out) {
  return guard([&] {
    nt::require(out, "out");
    const nt::TensorDesc& t = nt::require(engine, "engine")->impl->tensor(index);
    nt_tensor_desc d{};
    d.name = t.name.c_str();
    d.mode = t.mode;
    d.dtype = t.dtype;
    check_rank(t.dims, t.name);
    d.rank = static_cast<int32_t>(t.dims.size());
    for (size_t i = 0; i < t.dims.size(); ++i) d.dims[i] = t.dims[i];
    *out = d;
  });
}

nt_status nt_stream_create(int32_t device_id, nt_stream** out, int32_t* is_cuda) {
  return guard([&] {
    nt::require(out, "out");
    auto s = std::make_unique<nt_stream>();
    s->impl = nt::make_stream(device_id);
    if (is_cuda) *is_cuda = s->impl->is_cuda() ? 1 : 0;
    *out = s.release();
  });
}

nt_status nt_stream_synchronize(nt_stream* stream) {
  return guard([&] { nt::require(stream, "stream")->impl->synchronize(); });
}

void nt_stream_destroy(nt_stream* stream) {
  try {
    delete stream;
  } catch (...) {
  }
}

nt_status nt_buffer_create(size_t size, nt_buffer** out, int32_t* pinned) {
  return guard([&] {
    nt::require(out, "out");
    auto b = std::make_unique<nt_buffer>();
    b->impl = nt::make_buffer(size);
    if (pinned) *pinned = b->impl->pinned() ? 1 : 0;
    *out = b.release();
  });
}

nt_status nt_buffer_data(const nt_buffer* buffer, void** data, size_t* size) {
  return guard([&] {
    nt::require(buffer, "buffer");
    *nt::require(data, "data") = buffer->impl->data();
    *nt::require(size, "size") = buffer->impl->size();
  });
}

void nt_buffer_destroy(nt_buffer* buffer) { delete buffer; }

nt_status nt_context_create(nt_engine* engine, nt_stream* stream, nt_context** out) {
  return guard([&] {
    nt::require(engine, "engine");
    nt::require(stream, "stream");
    nt::require(out, "out");
    auto c = std::make_unique<nt_context>();
    c->impl = engine->impl->create_context(*stream->impl);
    *out = c.release();
  });
}

void nt_context_destroy(nt_context* context) {
  try {
    delete context;
  } catch (...) {
  }
}

nt_status nt_context_set_input_shape(nt_context* context, size_t index, int32_t rank, const int64_t* dims) {
  return guard([&] {
    nt::require(context, "context");
    if (rank < 0 || rank > NT_MAX_DIMS)
      nt::fail(NT_SHAPE, "rank " + std::to_string(rank) + " is outside 0.." + std::to_string(NT_MAX_DIMS));
    if (rank > 0) nt::require(dims, "dims");
    context->impl->set_input_shape(index, nt::Dims(dims, dims + rank));
  });
}

nt_status nt_context_tensor_shape(const nt_context* context, size_t index, int32_t* rank, int64_t* dims) {
  return guard([&] {
    nt::require(context, "context");
    nt::require(rank, "rank");
    nt::require(dims, "dims");
    const nt::Dims& d = context->impl->tensor_shape(index);
    // A backend reports the shape a run produced; the caller's array holds NT_MAX_DIMS.
    check_rank(d, "tensor " + std::to_string(index));
    *rank = static_cast<int32_t>(d.size());
    for (size_t i = 0; i < d.size(); ++i) dims[i] = d[i];
  });
}

nt_status nt_context_bind(nt_context* context, size_t index, nt_buffer* buffer, size_t offset, size_t size) {
  return guard([&] {
    nt::require(context, "context");
    nt::require(buffer, "buffer");
    size_t cap = buffer->impl->size();
    if (offset > cap || size > cap - offset)
      nt::fail(NT_INVALID_ARGUMENT, "binding [" + std::to_string(offset) + ", +" + std::to_string(size) +
                                        ") is outside the " + std::to_string(cap) + "-byte buffer");
    context->impl->bind(index, static_cast<char*>(buffer->impl->data()) + offset, size);
  });
}

nt_status nt_context_enqueue(nt_context* context) {
  return guard([&] { nt::require(context, "context")->impl->enqueue(); });
}

nt_status nt_context_cancel(nt_context* context) {
  return guard([&] { nt::require(context, "context")->impl->cancel(); });
}

nt_status nt_context_preprocess(nt_context* context, size_t index, int64_t item, const nt_buffer* buffer, size_t offset,
                                const nt_pixels* pixels, const nt_input_spec* spec, int32_t mirror) {
  return guard([&] {
    nt::require(context, "context");
    nt::require(buffer, "buffer");
    nt::require(pixels, "pixels");
    const nt::pix::PreParams p =
        nt::pix::make_pre_params(pixels->width, pixels->height, pixels->stride, pixels->channels, convert(spec),
                                 pixels->photo_width, pixels->photo_height);
    nt::pix::Source src;
    src.bytes = nt::pix::photo_bytes(p);
    src.block = block_at(buffer, offset, src.bytes);
    context->impl->preprocess(index, item, p, src, mirror != 0);
  });
}

nt_status nt_context_preprocess_ycbcr(nt_context* context, size_t index, int64_t item, const nt_buffer* buffer,
                                      size_t offset, const nt_ycbcr* planes, const nt_input_spec* spec,
                                      int32_t mirror) {
  return guard([&] {
    nt::require(context, "context");
    nt::require(buffer, "buffer");
    const nt_ycbcr& q = *nt::require(planes, "planes");
    const nt::pix::PreParams p =
        nt::pix::make_plane_params(q.width, q.height, q.h_sub, q.v_sub, convert(spec), q.photo_width, q.photo_height);
    // Each plane's last byte, in 64 bits: sizes are bounded (make_plane_params), offsets
    // are compared with the buffer before they are added to.
    const uint64_t cw = (static_cast<uint64_t>(q.width) + q.h_sub - 1) / q.h_sub;
    const uint64_t ch = (static_cast<uint64_t>(q.height) + q.v_sub - 1) / q.v_sub;
    if (q.y_stride < q.width || q.c_stride < 0 || static_cast<uint64_t>(q.c_stride) < cw)
      nt::fail(NT_INVALID_ARGUMENT, "planes: a row stride is under its plane's width");
    const uint64_t cap = buffer->impl->size();
    const uint64_t y_end = static_cast<uint64_t>(q.y_stride) * (q.height - 1) + q.width;
    const uint64_t c_size = static_cast<uint64_t>(q.c_stride) * (ch - 1) + cw;
    if (q.cb_offset > cap || q.cr_offset > cap)
      nt::fail(NT_INVALID_ARGUMENT, "planes: a chroma plane starts past the end of the buffer");
    const uint64_t need = std::max({y_end, q.cb_offset + c_size, q.cr_offset + c_size});
    nt::pix::Source src;
    src.bytes = static_cast<size_t>(need);
    src.block = block_at(buffer, offset, src.bytes);
    const nt::pix::Planes pl{
        src.block, src.block + q.cb_offset, src.block + q.cr_offset, q.y_stride, q.c_stride, q.h_sub, q.v_sub};
    src.planes = &pl;
    context->impl->preprocess(index, item, p, src, mirror != 0);
  });
}

nt_status nt_context_keep_output(nt_context* context, size_t index, int32_t keep) {
  return guard([&] { nt::require(context, "context")->impl->keep_output(index, keep != 0); });
}

nt_status nt_context_postprocess_semantic(nt_context* context, size_t index, int64_t item, int32_t photo_width,
                                          int32_t photo_height, const nt_input_spec* input,
                                          const nt_semantic_spec* spec, nt_nails** out) {
  return guard([&] {
    nt::require(context, "context");
    nt::require(spec, "spec");
    nt::require(out, "out");
    // Masks are sampled at up to a cell a photo pixel: bound what one can ask for.
    if (photo_width <= 0 || photo_height <= 0 || static_cast<int64_t>(photo_width) * photo_height > kMaxPhotoPixels)
      nt::fail(NT_INVALID_ARGUMENT, "photo " + std::to_string(photo_width) + "x" + std::to_string(photo_height) +
                                        " has no pixels or more than " + std::to_string(kMaxPhotoPixels));
    if (!probability(spec->threshold) || !probability(spec->mask_threshold) || !probability(spec->min_score))
      nt::fail(NT_INVALID_ARGUMENT, "semantic spec: threshold, mask_threshold and min_score are probabilities");
    const nt::pix::Geometry g = nt::pix::make_geometry(photo_width, photo_height, convert(input));
    const nt::pix::SemanticSpec s = nt::pix::semantic_spec(spec->threshold, spec->mask_threshold, spec->min_area,
                                                           spec->min_score, spec->hflip != 0);
    auto n = std::make_unique<nt_nails>();
    n->decoded = context->impl->postprocess_semantic(index, item, g, s);
    *out = n.release();
  });
}

nt_status nt_nails_count(const nt_nails* nails, size_t* out) {
  return guard([&] { *nt::require(out, "out") = nt::require(nails, "nails")->decoded.nails.size(); });
}

nt_status nt_nails_get(const nt_nails* nails, size_t i, nt_nail* out) {
  return guard([&] {
    nt::require(nails, "nails");
    nt::require(out, "out");
    const auto& all = nails->decoded.nails;
    if (i >= all.size())
      nt::fail(NT_INVALID_ARGUMENT, "nail " + std::to_string(i) + " of " + std::to_string(all.size()));
    const nt::pix::DecodedNail& d = all[i];
    *out = nt_nail{d.x0, d.y0, d.x1, d.y1, d.scale, d.gw, d.gh, d.score, nails->decoded.alpha.data() + d.offset};
  });
}

void nt_nails_destroy(nt_nails* nails) { delete nails; }

}  // extern "C"
