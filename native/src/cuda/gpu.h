// The GPU side of pre- and post-processing: RAII owners for device memory, pinned host
// memory and events, and the two stages a GPU request runs around TensorRT. Everything
// runs on the caller's stream, which must be a non-blocking one (nt::Stream makes them so);
// nothing here touches the default stream, and every host<->device copy is to or from
// pinned memory, so the copies are truly asynchronous.
//
// Built only when CMake finds CUDA (NT_WITH_CUDA). The TensorRT context runs a request
// through them (tensorrt/trt_engine.cpp: write_input, read_output; docs/gpu.md).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuda/postprocess.h"
#include "cuda/preprocess.h"

namespace nt {
namespace gpu {

// Throws nt::Error (NT_OUT_OF_MEMORY for allocation failures, else NT_RUNTIME) saying
// what failed and CUDA's reason, when err is not cudaSuccess.
void check(cudaError_t err, const char* what);

// Device memory of at least the size last asked for; grows, never shrinks. cudaMalloc's
// addresses are 256-byte aligned, as TensorRT wants its bindings.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Makes room for bytes; the old contents are lost when it grows. Must not be called
  // while queued work still uses the buffer.
  void* reserve(size_t bytes);
  void* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Page-locked host memory (cudaHostAlloc), the only kind a copy can overlap compute from.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* reserve(size_t bytes);
  void* get() const { return data_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// A CUDA event without timing (the cheap kind), for ordering and host waits.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t s);
  // Blocks the calling thread until the work before the last record() has finished.
  void wait();

 private:
  cudaEvent_t event_ = nullptr;
};

// Photo bytes in pinned host memory -> the model's NCHW float input on the device.
// enqueue copies the photo's bytes to the device once, then one kernel letterboxes,
// resamples and normalises every input pixel (and writes the mirror image too, for mirror
// TTA). One Preprocessor per stream (successive calls rely on the stream's order); not
// thread-safe.
class Preprocessor {
 public:
  // host_pixels: pinned memory holding photo_bytes(p) bytes, which must stay unchanged
  // until pixels_consumed() has completed. dst: 3*in_w*in_h floats on the device;
  // mirror: NULL or another 3*in_w*in_h (typically dst's batch item 1).
  void enqueue(const pix::PreParams& p, const uint8_t* host_pixels, float* dst, float* mirror, cudaStream_t s);
  // The same from a JPEG's YCbCr planes (make_plane_params' p): src.block, in pinned
  // memory, holds src.bytes with the planes inside it; copied to the device once.
  void enqueue_planes(const pix::PreParams& p, const pix::Source& src, float* dst, float* mirror, cudaStream_t s);
  // Completes once the photo's bytes are on the device: the pinned buffer may be reused.
  Event& pixels_consumed() { return consumed_; }

 private:
  // Copies bytes of pinned host memory to the device buffer (grown as needed); returns
  // the device copy.
  const uint8_t* upload(const uint8_t* host, size_t bytes, cudaStream_t s);

  DeviceBuffer pixels_;
  Event consumed_, kernel_done_;
};

// The semantic decoder on the GPU (postprocess.h's stages). decode waits on the stream
// twice for host stages (components on the thresholded byte map, then the nail filter),
// and brings back bytes only: the byte map, one probability sum per component, and the
// masks. One per stream; not thread-safe.
class SemanticDecoder {
 public:
  // logits: map_w*map_h floats on the device (two maps with spec.hflip), left unchanged.
  pix::Decoded decode(const pix::Geometry& g, const pix::SemanticSpec& spec, const float* logits, int map_w, int map_h,
                      cudaStream_t s);

 private:
  DeviceBuffer lut_, mean_, on_, labels_, runs_, first_, prob_, geoms_, alpha_;
  PinnedBuffer h_lut_, h_on_, h_labels_, h_runs_, h_first_, h_prob_, h_geoms_, h_alpha_;
  Event done_;
  bool lut_ready_ = false;
};

// cudaGetDeviceCount's verdict: true when a device can run the kernels, else *why says
// why (no driver, no device). For tests and tools.
bool device_usable(std::string* why);

}  // namespace gpu
}  // namespace nt
