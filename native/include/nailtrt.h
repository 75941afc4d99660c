/*
 * nailtrt.h - the C ABI of the nailtrt native runner.
 *
 * This is the only header cgo (or any other FFI) sees. It is C99, has no dependency on
 * TensorRT, CUDA or ONNX Runtime headers, and exports nothing else: the shared library's
 * linker version script keeps every other symbol local.
 *
 * Conventions, for every function below unless its comment says otherwise:
 *  - Returns an nt_status. NT_OK means success; anything else means the call did nothing
 *    observable (no handle was created, no out-parameter was written) and left its message
 *    in nt_last_error() on the calling thread (see there for how long it stays).
 *  - Results come back through out-parameters, which must not be NULL.
 *  - Handles are opaque. Every *_create / *_load has a *_destroy; destroy functions accept
 *    NULL and return nothing. A handle must outlive the handles created from it: destroy
 *    contexts before their engine and their stream, and buffers after every context that
 *    binds them has been destroyed or rebound.
 *  - No function calls exit() or abort(), and no C++ exception crosses this boundary.
 *  - The library never keeps a pointer handed in by the caller past the call, except where
 *    a comment says so. Memory that both sides share (nt_buffer) is allocated by the
 *    library, so a garbage-collected caller never has to pin its own memory.
 *  - Threading: engines are safe to use from many threads at once (creating contexts,
 *    reading descriptors). A context, and the stream it runs on, must be used by one thread
 *    at a time; concurrency comes from one context per stream.
 */
#ifndef NAILTRT_H
#define NAILTRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported symbols. The library is built with hidden visibility; only these are public. */
#if defined(__GNUC__)
#define NT_API __attribute__((visibility("default")))
#else
#define NT_API
#endif

/** The ABI version this header describes. Bumped on any incompatible change. */
#define NT_ABI_VERSION 1

/** Maximum tensor rank the ABI carries. */
#define NT_MAX_DIMS 8

/** Status codes. Stable: new codes are only ever appended. */
typedef enum nt_status {
  NT_OK = 0,
  NT_INVALID_ARGUMENT = 1, /**< a NULL handle, a bad option, an unknown tensor name */
  NT_NOT_FOUND = 2,        /**< a file that does not exist or cannot be read */
  NT_UNAVAILABLE = 3,      /**< the backend is not built, has no GPU, or its library is missing */
  NT_INVALID_MODEL = 4,    /**< the bytes are not a model (or plan) this backend can load */
  NT_SHAPE = 5,            /**< a shape that is incompatible with the model or the buffer */
  NT_DTYPE = 6,            /**< an element type the model does not accept */
  NT_OUT_OF_MEMORY = 7,    /**< host or device allocation failed */
  NT_RUNTIME = 8,          /**< the backend failed while running */
  NT_CANCELLED = 9,        /**< the run was cancelled through nt_context_cancel */
  NT_INTERNAL = 10         /**< a bug in nailtrt; the message says where */
} nt_status;

/** Element types of tensors. */
typedef enum nt_dtype {
  NT_DTYPE_UNKNOWN = 0,
  NT_FLOAT32 = 1,
  NT_FLOAT16 = 2,
  NT_BFLOAT16 = 3,
  NT_INT8 = 4,
  NT_UINT8 = 5,
  NT_INT32 = 6,
  NT_INT64 = 7,
  NT_BOOL = 8
} nt_dtype;

/** Inference backends. */
typedef enum nt_backend {
  NT_BACKEND_AUTO = 0,        /**< TensorRT when usable, else ONNX Runtime */
  NT_BACKEND_ONNXRUNTIME = 1, /**< ONNX Runtime on the CPU; always built */
  NT_BACKEND_TENSORRT = 2     /**< TensorRT on an NVIDIA GPU; built when CMake found it */
} nt_backend;

/** Direction of an engine tensor. */
typedef enum nt_io_mode {
  NT_INPUT = 1,
  NT_OUTPUT = 2
} nt_io_mode;

/** Log levels passed to the log callback. */
typedef enum nt_log_level {
  NT_LOG_ERROR = 0,
  NT_LOG_WARNING = 1,
  NT_LOG_INFO = 2,
  NT_LOG_VERBOSE = 3
} nt_log_level;

/** Opaque handles. */
typedef struct nt_engine nt_engine;   /**< a loaded model: ONNX session or TensorRT engine */
typedef struct nt_context nt_context; /**< per-stream execution state over one engine */
typedef struct nt_stream nt_stream;   /**< a CUDA stream, or a synchronous host stream */
typedef struct nt_buffer nt_buffer;   /**< host memory the library owns, pinned when CUDA exists */

/** One engine input or output. */
typedef struct nt_tensor_desc {
  const char* name; /**< owned by the engine; valid until nt_engine_destroy */
  nt_io_mode mode;
  nt_dtype dtype;
  int32_t rank;
  int64_t dims[NT_MAX_DIMS]; /**< -1 for a dynamic dimension */
} nt_tensor_desc;

/**
 * Options for loading an engine. Initialise with nt_engine_options_init and then change
 * fields. New fields are only ever appended, and struct_size (set by the init call) tells
 * the library which fields the caller knows.
 */
typedef struct nt_engine_options {
  uint32_t struct_size;       /**< sizeof(nt_engine_options), set by nt_engine_options_init */
  nt_backend backend;         /**< default NT_BACKEND_AUTO */
  int32_t intra_op_threads;   /**< ONNX Runtime intra-op threads; 0 = one per core */
  int32_t graph_optimization; /**< ONNX Runtime: 0 none, 1 basic, 2 extended, 99 all (default) */
  int32_t device_id;          /**< CUDA device ordinal; default 0 */
  int32_t fp16;               /**< TensorRT: 1 builds FP16 where the GPU supports it (default), 0 FP32 */
  int32_t max_batch;          /**< TensorRT: largest batch of the optimisation profile; default 8 */
  int32_t opt_batch;          /**< TensorRT: batch the profile is tuned for; default 1 */
  const char* cache_dir;      /**< TensorRT plan and timing cache folder; NULL = no cache.
                                   Copied during the call. */
  int32_t spin_wait;          /**< ONNX Runtime: 1 lets idle intra-op threads spin between
                                   runs (lowest latency on dedicated cores); 0 (default)
                                   lets them sleep, which keeps multi-threaded runs steady
                                   when cores are shared with other contexts or processes */
} nt_engine_options;

/** Receives native log lines (ONNX Runtime, TensorRT, engine-build progress). */
typedef void (*nt_log_fn)(void* user, nt_log_level level, const char* message);

/* ------------------------------------------------------------------------------------ */
/* Library                                                                               */

/** The ABI version the library was built with; callers compare it with NT_ABI_VERSION. */
NT_API uint32_t nt_abi_version(void);

/**
 * The message of the most recent failing call on the calling thread, or "" if no call has
 * failed on it. Only a failing call changes it: successful calls leave it as it is. The
 * string is owned by the library and stays valid and unchanged until the next failing
 * nailtrt call on the same thread (or that thread's exit); copy it to keep it longer.
 * Every backend's reason, TensorRT's included, arrives this way: a failure on one thread
 * never shows another thread's message. Callers that may be moved between OS threads (Go)
 * must lock the thread around the failing call and this read.
 */
NT_API const char* nt_last_error(void);

/** A static, human-readable name for a status ("invalid argument", ...). Never NULL. */
NT_API const char* nt_status_string(nt_status status);

/** Static name of a dtype ("float32", ...), and its size in bytes (0 for unknown). */
NT_API const char* nt_dtype_name(nt_dtype dtype);
NT_API size_t nt_dtype_size(nt_dtype dtype);

/**
 * Installs the process-wide log sink, or removes it when fn is NULL. fn may be called from
 * any thread (including backend worker threads) and must not call back into nailtrt.
 * messages below min_level are dropped before formatting. Thread-safe.
 */
NT_API nt_status nt_set_logger(nt_log_fn fn, void* user, nt_log_level min_level);

/**
 * Whether a backend can be used on this machine. NT_OK if it can; NT_UNAVAILABLE with the
 * reason in nt_last_error() if not ("not built: ...", "no CUDA device: ...",
 * "cannot load libnvinfer: ..."). NT_BACKEND_AUTO reports the backend auto would choose
 * through *resolved (which may be NULL).
 */
NT_API nt_status nt_backend_probe(nt_backend backend, nt_backend* resolved);

/**
 * Versions of the libraries behind each backend, e.g. "onnxruntime 1.30.0; tensorrt 11.1.0;
 * cuda 13.0". Written NUL-terminated into buf (truncated to len); never fails for len > 0.
 */
NT_API nt_status nt_versions(char* buf, size_t len);

/* ------------------------------------------------------------------------------------ */
/* Engines                                                                               */

/**
 * Fills the first `size` bytes of *options with defaults and sets struct_size = size.
 * Call it through the nt_engine_options_init macro, which passes the size of the
 * struct the caller was compiled with: a caller built against an older header (fewer
 * fields) never has more written than it allocated, and the library reads only the
 * fields that caller knows, defaulting the rest.
 */
NT_API void nt_engine_options_init_sized(nt_engine_options* options, size_t size);
#define nt_engine_options_init(options) nt_engine_options_init_sized((options), sizeof(nt_engine_options))

/**
 * Loads a model from a file: an ONNX model, or (TensorRT) a serialized plan. For TensorRT
 * an ONNX file is built into a plan, which is cached under options->cache_dir keyed by the
 * ONNX sha256, TensorRT version, GPU compute capability and precision. options may be NULL
 * (defaults). The caller owns *out and frees it with nt_engine_destroy.
 * Errors: NT_NOT_FOUND (missing file), NT_INVALID_MODEL (not loadable, e.g. a plan given
 * to ONNX Runtime), NT_UNAVAILABLE (backend), NT_OUT_OF_MEMORY.
 */
NT_API nt_status nt_engine_load_file(const char* path, const nt_engine_options* options, nt_engine** out);

/**
 * Same as nt_engine_load_file for a model held in memory. data is copied or consumed
 * during the call; the caller may free it on return.
 */
NT_API nt_status nt_engine_load_memory(const void* data, size_t len, const nt_engine_options* options, nt_engine** out);

/** Frees an engine. Every context made from it must be destroyed first. NULL is a no-op. */
NT_API void nt_engine_destroy(nt_engine* engine);

/** The backend that actually runs this engine (never NT_BACKEND_AUTO). */
NT_API nt_status nt_engine_backend(const nt_engine* engine, nt_backend* out);

/** Number of input plus output tensors. */
NT_API nt_status nt_engine_tensor_count(const nt_engine* engine, size_t* out);

/** Descriptor of tensor index (inputs first, then outputs, in model order). */
NT_API nt_status nt_engine_tensor(const nt_engine* engine, size_t index, nt_tensor_desc* out);

/* ------------------------------------------------------------------------------------ */
/* Streams and buffers                                                                   */

/**
 * Creates a stream on device_id. When CUDA is built in and the device is usable, a
 * non-blocking CUDA stream; otherwise a host stream on which work runs synchronously in
 * the calling thread (nt_stream_synchronize then returns at once). *is_cuda (may be NULL)
 * says which. The caller owns *out.
 */
NT_API nt_status nt_stream_create(int32_t device_id, nt_stream** out, int32_t* is_cuda);

/** Waits for all work queued on the stream. Errors of asynchronous work surface here. */
NT_API nt_status nt_stream_synchronize(nt_stream* stream);

/** Frees a stream after waiting for its work. NULL is a no-op. */
NT_API void nt_stream_destroy(nt_stream* stream);

/**
 * Allocates size bytes of host memory, zeroed, 64-byte aligned at least: page-locked
 * (cudaHostAlloc) when CUDA is built in and a device is usable, so copies to and from the
 * GPU are truly asynchronous; ordinary aligned memory otherwise. *pinned (may be NULL)
 * says which. The caller owns *out; the memory lives until nt_buffer_destroy.
 */
NT_API nt_status nt_buffer_create(size_t size, nt_buffer** out, int32_t* pinned);

/** The buffer's memory and size. The pointer is valid until nt_buffer_destroy. */
NT_API nt_status nt_buffer_data(const nt_buffer* buffer, void** data, size_t* size);

/** Frees a buffer. It must not be bound to a live context. NULL is a no-op. */
NT_API void nt_buffer_destroy(nt_buffer* buffer);

/* ------------------------------------------------------------------------------------ */
/* Execution contexts                                                                    */

/**
 * Creates an execution context over engine that runs on stream. The context keeps both
 * pointers: engine and stream must outlive it. TensorRT requires a CUDA stream
 * (NT_INVALID_ARGUMENT otherwise); ONNX Runtime accepts any. The caller owns *out.
 */
NT_API nt_status nt_context_create(nt_engine* engine, nt_stream* stream, nt_context** out);

/** Frees a context after its stream's pending work. NULL is a no-op. */
NT_API void nt_context_destroy(nt_context* context);

/**
 * Sets the shape of input tensor `index` for the next runs. Every input with a dynamic
 * dimension must have a shape set before the first run. Errors: NT_SHAPE when the rank or
 * a fixed dimension disagrees with the model or is outside the optimisation profile.
 */
NT_API nt_status nt_context_set_input_shape(nt_context* context, size_t index, int32_t rank, const int64_t* dims);

/**
 * The current shape of tensor `index`: for inputs the shape set, for outputs the shape the
 * last run produced (or, for TensorRT, the shape implied by the input shapes).
 */
NT_API nt_status nt_context_tensor_shape(const nt_context* context, size_t index, int32_t* rank,
                                         int64_t* dims /* [NT_MAX_DIMS] */);

/**
 * Binds tensor `index` to `size` bytes of buffer starting at `offset`. The context keeps
 * the binding until it is rebound or destroyed; the buffer must outlive it. Inputs are
 * read from, outputs written to, this memory: no copy on the ONNX Runtime CPU path, one
 * asynchronous copy each way on the TensorRT path. Errors: NT_INVALID_ARGUMENT when the
 * range is outside the buffer or misaligned for the element type.
 */
NT_API nt_status nt_context_bind(nt_context* context, size_t index, nt_buffer* buffer, size_t offset, size_t size);

/**
 * Runs the engine on the context's stream with the bound buffers and set shapes. On a
 * CUDA stream this only enqueues: results are ready after nt_stream_synchronize. On a
 * host stream (ONNX Runtime) it runs to completion. Errors: NT_SHAPE when an output does
 * not fit its bound range (the shapes of all outputs are then readable through
 * nt_context_tensor_shape, so one run with small bindings reveals them), NT_CANCELLED,
 * NT_RUNTIME.
 */
NT_API nt_status nt_context_enqueue(nt_context* context);

/**
 * Asks a run in progress on this context to stop as soon as it can. ONNX Runtime stops
 * between kernels (its terminate flag); TensorRT can only skip the enqueue if the cancel
 * arrives before it: work already queued on the GPU runs to the end. The only context
 * function that may be called from another thread while the context runs. The flag
 * clears when the next nt_context_enqueue starts, so a late cancel never fails a later run.
 */
NT_API nt_status nt_context_cancel(nt_context* context);

/* ------------------------------------------------------------------------------------ */
/* Pre- and post-processing inside the runner                                           */
/*                                                                                       */
/* A request can hand the runner a photo's 8-bit pixels instead of a float tensor, and    */
/* read nails instead of a logit map. On a TensorRT context both happen on the GPU, on    */
/* the context's stream: the pixels are copied to the device once, a kernel writes the   */
/* model's input there, and the postprocessing kernels bring back a byte map, per-nail    */
/* scores and mask bytes (docs/gpu.md). On any other context the same arithmetic runs on  */
/* the CPU, on the context's bound host buffers, so callers need not branch on the        */
/* backend. Both compute what nailtrt's Go pipeline computes for RGB pixels.              */

/** 8-bit pixels: R, G, B (and a fourth byte that is ignored when channels is 4). */
typedef struct nt_pixels {
  int32_t width, height;
  int32_t stride;   /**< bytes from one row to the next, at least width * channels */
  int32_t channels; /**< 3 (RGB) or 4 (RGBA) */
  /** The photo these pixels show, when they are a reduced decode of it (a JPEG decoded at
      1/2, 1/4 or 1/8): its place in the input is the full-size photo's. 0 x 0: the
      pixels are the photo. */
  int32_t photo_width, photo_height;
} nt_pixels;

/** How a photo becomes the model's input (a manifest's "input" section). */
typedef struct nt_input_spec {
  int32_t width, height; /**< the model input */
  int32_t bgr;           /**< 1: the model wants BGR; mean, std and pad are in its order */
  int32_t stretch;       /**< 1: fill the input; 0: letterbox, keeping the aspect ratio */
  double scale;          /**< multiplies each 0..255 value first, e.g. 1/255 */
  double mean[3], std[3];
  double pad[3]; /**< the letterbox's fill, 0..255 RGB */
} nt_input_spec;

/** A semantic (one logit map per image) model's decoding (a manifest's "output"). */
typedef struct nt_semantic_spec {
  double threshold;      /**< probability above which a map pixel is nail */
  double mask_threshold; /**< probability at which masks are drawn (0: threshold) */
  int32_t min_area;      /**< fewest model input pixels a nail covers */
  double min_score;      /**< lowest mean probability of a nail */
  int32_t hflip;         /**< 1: images item and item+1 are the photo and its mirror image */
} nt_semantic_spec;

/** One nail from nt_context_postprocess_semantic. Its mask has cells_w x cells_h cells of
    scale x scale photo pixels from (x0, y0), alpha 0..255 row by row; the pointer is owned
    by its nt_nails. */
typedef struct nt_nail {
  int32_t x0, y0, x1, y1; /**< the box in photo pixels, [x0, x1) x [y0, y1) */
  int32_t scale, cells_w, cells_h;
  double score;
  const uint8_t* alpha;
} nt_nail;

typedef struct nt_nails nt_nails; /**< the nails of one photo, from nt_context_postprocess_semantic */

/**
 * Writes batch item `item` of input `index` (a float [N,3,H,W] tensor whose H and W are
 * spec's) from the photo in buffer at offset, and with mirror also item + 1, the photo
 * mirrored left to right. The set shape must hold the items. On a TensorRT context the
 * input is written on the GPU and the next nt_context_enqueue copies nothing for it (its
 * host binding is not read); the buffer must stay unchanged until the stream is
 * synchronized. Elsewhere it is written into the input's bound memory, which must hold
 * the items. Errors: NT_INVALID_ARGUMENT (sizes, a photo past the buffer's end), NT_SHAPE.
 */
NT_API nt_status nt_context_preprocess(nt_context* context, size_t index, int64_t item, const nt_buffer* buffer,
                                       size_t offset, const nt_pixels* pixels, const nt_input_spec* spec,
                                       int32_t mirror);

/** A JPEG's decoded planes in one buffer: luma (width x height samples, y_stride bytes a
    row) from the offset given, Cb and Cr (ceil(width / h_sub) x ceil(height / v_sub),
    c_stride bytes a row) from cb_offset and cr_offset past it. */
typedef struct nt_ycbcr {
  int32_t width, height;
  int32_t y_stride, c_stride;
  int32_t h_sub, v_sub; /**< chroma subsampling: 1, 2 or 4 across, 1 or 2 down */
  uint64_t cb_offset, cr_offset;
  int32_t photo_width, photo_height; /**< as nt_pixels' */
} nt_ycbcr;

/**
 * nt_context_preprocess from a JPEG's YCbCr planes, averaged before they are converted to
 * RGB, as the Go pipeline reads an upright JPEG at least as large as its place in the
 * input. Planes smaller than their place are refused (NT_INVALID_ARGUMENT): send RGB.
 */
NT_API nt_status nt_context_preprocess_ycbcr(nt_context* context, size_t index, int64_t item, const nt_buffer* buffer,
                                             size_t offset, const nt_ycbcr* planes, const nt_input_spec* spec,
                                             int32_t mirror);

/**
 * Whether runs leave output `index` where the model wrote it (keep = 1) instead of copying
 * it into its bound memory, for nt_context_postprocess_semantic. Only a TensorRT context has
 * anywhere else to keep it; elsewhere outputs are computed in their bound memory anyway,
 * and this call changes nothing. Either way the output must stay bound on such contexts.
 */
NT_API nt_status nt_context_keep_output(nt_context* context, size_t index, int32_t keep);

/**
 * Turns batch item `item` (with spec->hflip, items item and item + 1) of output `index`
 * of the last run into nails in photo coordinates, for a photo_width x photo_height photo
 * that `input` turned into the model input. The output must be a float [N,1,h,w] logit
 * map. On a TensorRT context this waits for the stream. The caller owns *out and frees it
 * with nt_nails_destroy.
 */
NT_API nt_status nt_context_postprocess_semantic(nt_context* context, size_t index, int64_t item, int32_t photo_width,
                                                 int32_t photo_height, const nt_input_spec* input,
                                                 const nt_semantic_spec* spec, nt_nails** out);

/** The number of nails, and nail i (0 <= i < count). */
NT_API nt_status nt_nails_count(const nt_nails* nails, size_t* out);
NT_API nt_status nt_nails_get(const nt_nails* nails, size_t i, nt_nail* out);

/** Frees nails (and every alpha pointer read from them). NULL is a no-op. */
NT_API void nt_nails_destroy(nt_nails* nails);

#ifdef __cplusplus
}
#endif

#endif /* NAILTRT_H */
