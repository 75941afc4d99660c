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
      shape_set_(engine.tensors().size(), false) {
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
  cancelled_.store(false);
  const auto& ts = engine_.tensors();
  bool any_output = false;
  for (size_t i = 0; i < ts.size(); ++i) {
    const TensorDesc& t = ts[i];
    if (t.mode == NT_OUTPUT) {
      any_output |= bindings_[i].data != nullptr;
      continue;
    }
    if (bindings_[i].data == nullptr) fail(NT_INVALID_ARGUMENT, "input " + t.name + " is not bound to a buffer");
    if (!shape_set_[i])
      fail(NT_SHAPE, "input " + t.name + " has dynamic dimensions " + to_string(t.dims) + "; set its shape first");
    check_binding_size(t, shapes_[i], bindings_[i]);
  }
  if (!any_output) fail(NT_INVALID_ARGUMENT, "no output is bound: nothing to compute");
  run();
}

}  // namespace nt
