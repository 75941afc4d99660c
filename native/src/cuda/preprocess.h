// Preprocessing on the host side: the model-input geometry and normalisation (as
// nails.NewGeometry and nails.newNormaliser compute them) and the CPU reference of the
// preprocess kernel. The kernel itself is in preprocess.cu.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/pixels.h"

namespace nt {
namespace pix {

// The model input as a manifest describes it (nails.InputSpec).
struct InputSpec {
  int width = 0, height = 0;
  bool bgr = false;      // the model wants BGR; mean, std and pad stay in its channel order
  bool stretch = false;  // fill the input instead of letterboxing
  double scale = 1.0 / 255;
  double mean[3] = {0, 0, 0};
  double std[3] = {1, 1, 1};
  double pad[3] = {0, 0, 0};  // letterbox fill, 0..255 RGB
};

// The photo's place and footprint in the model input (nails.Geometry), for a src_w x
// src_h photo.
struct Geometry {
  int src_w, src_h, in_w, in_h;
  int dx, dy, nw, nh;
  double sx, sy;
  int mask_scale;  // photo pixels per mask cell
};

Geometry make_geometry(int src_w, int src_h, const InputSpec& in);

// The kernel's parameters for a photo of src_w x src_h pixels, src_stride bytes a row,
// src_step bytes a pixel (3 or 4; the first three are R, G, B). When the pixels are a
// reduced decode of a photo_w x photo_h photo (a JPEG decoded at 1/2, 1/4 or 1/8), the
// photo's placement in the input is the full-size photo's and the footprints are in the
// reduced pixels, as nails' preprocess reads a reduced decode; 0 x 0 means the pixels are
// the photo. Throws nt::Error (NT_INVALID_ARGUMENT) on sizes the kernel cannot take.
PreParams make_pre_params(int src_w, int src_h, int src_stride, int src_step, const InputSpec& in, int photo_w = 0,
                          int photo_h = 0);

// The kernel's parameters for a JPEG's YCbCr planes of src_w x src_h luma samples (a
// reduced decode of a photo_w x photo_h photo, or 0 x 0: the photo itself), subsampled
// hd x vd. Planes are read by the area filter only, as Go reads them: a photo smaller
// than its place in the input is refused (NT_INVALID_ARGUMENT; send RGB pixels).
PreParams make_plane_params(int src_w, int src_h, int hd, int vd, const InputSpec& in, int photo_w = 0,
                            int photo_h = 0);

// The CPU reference: the NCHW float input of one image into dst (3*in_w*in_h floats) and,
// when mirrored is not NULL, the same input flipped left to right (mirror TTA's second
// image) into mirrored.
void preprocess_reference(const PreParams& p, const uint8_t* src, float* dst, float* mirrored);

// The same for YCbCr planes (make_plane_params' parameters).
void preprocess_planes_reference(const PreParams& p, const Planes& q, float* dst, float* mirrored);

// What write_input reads for one image: interleaved pixels at block (PreParams' stride and
// step), or, with planes, a JPEG's planes, which point into block. bytes is all of it, the
// one copy a GPU makes.
struct Source {
  const uint8_t* block = nullptr;
  size_t bytes = 0;
  const Planes* planes = nullptr;
};

// Bytes of the photo the kernel reads: src_stride * (src_h - 1) + src_w * src_step.
size_t photo_bytes(const PreParams& p);

}  // namespace pix
}  // namespace nt
