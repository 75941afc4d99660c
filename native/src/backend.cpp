#include "backend.h"

#include <limits>

#include "error.h"

namespace nt {

const TensorDesc& Engine::tensor(size_t index) const {
  if (index >= tensors_.size())
    fail(NT_INVALID_ARGUMENT, "tensor index " + std::to_string(index) + " out of range (engine has " +
                                  std::to_string(tensors_.size()) + " tensors)");
  return tensors_[index];
}

size_t tensor_bytes(const TensorDesc& t, const Dims& shape) {
  size_t n = volume(shape), esize = dtype_size(t.dtype);
  if (esize != 0 && n > std::numeric_limits<size_t>::max() / esize)
    fail(NT_SHAPE, "tensor " + t.name + " of shape " + to_string(shape) + " overflows");
  return n * esize;
}

bool check_binding_size(const TensorDesc& t, const Dims& shape, const Binding& b, std::string* first_error) {
  size_t need = tensor_bytes(t, shape);
  if (need <= b.size) return true;
  std::string message = std::string(t.mode == NT_INPUT ? "input " : "output ") + t.name + " of shape " +
                        to_string(shape) + " needs " + std::to_string(need) + " bytes, its binding holds " +
                        std::to_string(b.size);
  if (first_error == nullptr) fail(NT_SHAPE, message);
  if (first_error->empty()) *first_error = std::move(message);
  return false;
}

Context::Context(const Engine& engine)
    : engine_(engine),
      shapes_(engine.tensors().size()),
      bindings_(engine.tensors().size()),
      shape_set_(engine.tensors().size(), false),
      on_device_(engine.tensors().size(), false),
      kept_(engine.tensors().size(), false) {
  for (size_t i = 0; i < shapes_.size(); ++i) {
    const TensorDesc& t = engine.tensors()[i];
    shapes_[i] = t.dims;
    // An input without dynamic dims needs no set_input_shape.
    if (t.mode == NT_INPUT) shape_set_[i] = is_resolved(t.dims);
  }
}

void Context::set_input_shape(size_t index, const Dims& dims) {
  const TensorDesc& t = engine_.tensor(index);
  if (t.mode != NT_INPUT) fail(NT_INVALID_ARGUMENT, "tensor " + t.name + " is an output; its shape comes from the run");
  check_shape_compatible(t.name, t.dims, dims);
  if (shape_set_[index] && shapes_[index] == dims) return;
  shapes_[index] = dims;
  shape_set_[index] = true;
  on_input_shape(index);
}

const Dims& Context::tensor_shape(size_t index) const {
  engine_.tensor(index);  // range check
  return shapes_[index];
}

void Context::bind(size_t index, void* data, size_t size) {
  const TensorDesc& t = engine_.tensor(index);
  size_t esize = dtype_size(t.dtype);
  if (esize == 0) fail(NT_DTYPE, "tensor " + t.name + " has an element type nailtrt cannot carry");
  if (reinterpret_cast<uintptr_t>(data) % esize != 0)
    fail(NT_INVALID_ARGUMENT, "tensor " + t.name + ": bound memory is not aligned to its " + std::to_string(esize) +
                                  "-byte " + dtype_name(t.dtype) + " elements");
  bindings_[index] = Binding{data, size};
}

void Context::enqueue() {
  // An input written on the device serves one run, or none if this one is refused: the
  // next run must have it written again.
  struct Clear {
    std::vector<bool>& v;
    ~Clear() { v.assign(v.size(), false); }
  } clear{on_device_};
  cancelled_.store(false);
  const auto& ts = engine_.tensors();
  bool any_output = false;
  for (size_t i = 0; i < ts.size(); ++i) {
    const TensorDesc& t = ts[i];
    if (t.mode == NT_OUTPUT) {
      any_output |= bindings_[i].data != nullptr || kept_[i];
      continue;
    }
    if (!shape_set_[i])
      fail(NT_SHAPE, "input " + t.name + " has dynamic dimensions " + to_string(t.dims) + "; set its shape first");
    if (on_device_[i]) continue;  // written where the model reads it: the binding is not used
    if (bindings_[i].data == nullptr) fail(NT_INVALID_ARGUMENT, "input " + t.name + " is not bound to a buffer");
    check_binding_size(t, shapes_[i], bindings_[i]);
  }
  if (!any_output) fail(NT_INVALID_ARGUMENT, "no output is bound: nothing to compute");
  run();
}

size_t Context::item_offset(size_t index, int64_t item, int64_t items, int64_t channels, int64_t* h, int64_t* w) const {
  const TensorDesc& t = engine_.tensor(index);
  const Dims& d = shapes_[index];
  if (t.dtype != NT_FLOAT32) fail(NT_DTYPE, "tensor " + t.name + " is " + dtype_name(t.dtype) + ", not float32");
  if (d.size() != 4 || !is_resolved(d))
    fail(NT_SHAPE, "tensor " + t.name + " has shape " + to_string(d) + "; expected a resolved [N," +
                       std::to_string(channels) + ",H,W]");
  if (d[1] != channels)
    fail(NT_SHAPE,
         "tensor " + t.name + " has " + std::to_string(d[1]) + " channels, expected " + std::to_string(channels));
  // item > d[0] - items, not item + items > d[0]: a hostile item must not overflow.
  if (item < 0 || items > d[0] || item > d[0] - items)
    fail(NT_SHAPE,
         "tensor " + t.name + " of shape " + to_string(d) + " has no item " +
             (item < 0 ? std::to_string(item) : std::to_string(item) + " (+" + std::to_string(items - 1) + ")"));
  *h = d[2];
  *w = d[3];
  return static_cast<size_t>(item) * static_cast<size_t>(channels * d[2] * d[3]);
}

const void* Context::host_data(size_t index, size_t offset_floats, size_t floats) const {
  const TensorDesc& t = engine_.tensor(index);
  const Binding& b = bindings_[index];
  if (b.data == nullptr) fail(NT_INVALID_ARGUMENT, "tensor " + t.name + " is not bound to a buffer");
  const size_t cap = b.size / sizeof(float);  // compared without adding: nothing may wrap
  if (offset_floats > cap || floats > cap - offset_floats)
    fail(NT_SHAPE, "tensor " + t.name + ": its binding holds " + std::to_string(b.size) +
                       " bytes, too few for the item at float " + std::to_string(offset_floats));
  return static_cast<const float*>(b.data) + offset_floats;
}

void Context::preprocess(size_t index, int64_t item, const pix::PreParams& p, const pix::Source& src, bool mirror) {
  const TensorDesc& t = engine_.tensor(index);
  if (t.mode != NT_INPUT) fail(NT_INVALID_ARGUMENT, "tensor " + t.name + " is an output");
  if (!shape_set_[index]) fail(NT_SHAPE, "input " + t.name + ": set its shape before writing items into it");
  int64_t h = 0, w = 0;
  size_t offset = item_offset(index, item, mirror ? 2 : 1, 3, &h, &w);
  if (h != p.in_h || w != p.in_w)
    fail(NT_SHAPE, "input " + t.name + " is " + std::to_string(w) + "x" + std::to_string(h) + ", the spec says " +
                       std::to_string(p.in_w) + "x" + std::to_string(p.in_h));
  bool device = write_input(index, offset, p, src, mirror);
  if (device) on_device_[index] = true;
}

bool Context::write_input(size_t index, size_t offset, const pix::PreParams& p, const pix::Source& src, bool mirror) {
  const size_t plane = static_cast<size_t>(3) * p.in_w * p.in_h;
  auto* dst = const_cast<float*>(static_cast<const float*>(host_data(index, offset, plane * (mirror ? 2 : 1))));
  if (src.planes != nullptr) {
    pix::preprocess_planes_reference(p, *src.planes, dst, mirror ? dst + plane : nullptr);
  } else {
    pix::preprocess_reference(p, src.block, dst, mirror ? dst + plane : nullptr);
  }
  return false;
}

void Context::keep_output(size_t index, bool keep) {
  const TensorDesc& t = engine_.tensor(index);
  if (t.mode != NT_OUTPUT) fail(NT_INVALID_ARGUMENT, "tensor " + t.name + " is an input");
  kept_[index] = keep;
}

pix::Decoded Context::postprocess_semantic(size_t index, int64_t item, const pix::Geometry& g,
                                           const pix::SemanticSpec& spec) {
  const TensorDesc& t = engine_.tensor(index);
  if (t.mode != NT_OUTPUT) fail(NT_INVALID_ARGUMENT, "tensor " + t.name + " is an input");
  int64_t h = 0, w = 0;
  size_t offset = item_offset(index, item, spec.hflip ? 2 : 1, 1, &h, &w);
  return read_output(index, offset, g, spec, static_cast<int>(w), static_cast<int>(h));
}

pix::Decoded Context::read_output(size_t index, size_t offset, const pix::Geometry& g, const pix::SemanticSpec& spec,
                                  int map_w, int map_h) {
  const size_t maps = spec.hflip ? 2 : 1;
  const auto* logits = static_cast<const float*>(host_data(index, offset, maps * static_cast<size_t>(map_w) * map_h));
  return pix::decode_semantic_reference(g, spec, logits, map_w, map_h);
}

}  // namespace nt
