#include "tensor.h"

#include <limits>

#include "error.h"

namespace nt {

size_t dtype_size(nt_dtype dtype) {
  switch (dtype) {
    case NT_FLOAT32:
    case NT_INT32: return 4;
    case NT_FLOAT16:
    case NT_BFLOAT16: return 2;
    case NT_INT8:
    case NT_UINT8:
    case NT_BOOL: return 1;
    case NT_INT64: return 8;
    default: return 0;
  }
}

const char* dtype_name(nt_dtype dtype) {
  switch (dtype) {
    case NT_FLOAT32: return "float32";
    case NT_FLOAT16: return "float16";
    case NT_BFLOAT16: return "bfloat16";
    case NT_INT8: return "int8";
    case NT_UINT8: return "uint8";
    case NT_INT32: return "int32";
    case NT_INT64: return "int64";
    case NT_BOOL: return "bool";
    default: return "unknown";
  }
}

bool is_resolved(const Dims& dims) {
  for (int64_t d : dims)
    if (d < 0) return false;
  return true;
}

size_t volume(const Dims& dims) {
  size_t v = 1;
  for (int64_t d : dims) {
    if (d < 0) fail(NT_SHAPE, "shape " + to_string(dims) + " has an unresolved dimension");
    if (d != 0 && v > std::numeric_limits<size_t>::max() / static_cast<size_t>(d))
      fail(NT_SHAPE, "shape " + to_string(dims) + " overflows");
    v *= static_cast<size_t>(d);
  }
  return v;
}

std::string to_string(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

void check_shape_compatible(const std::string& tensor, const Dims& declared, const Dims& shape) {
  if (declared.size() != shape.size())
    fail(NT_SHAPE, "tensor " + tensor + ": rank " + std::to_string(shape.size()) + " given, the model declares " +
                       to_string(declared));
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0)
      fail(NT_SHAPE,
           "tensor " + tensor + ": dimension " + std::to_string(i) + " of " + to_string(shape) + " must be positive");
    if (declared[i] >= 0 && declared[i] != shape[i])
      fail(NT_SHAPE,
           "tensor " + tensor + ": shape " + to_string(shape) + " does not match the model's " + to_string(declared));
  }
}

}  // namespace nt
