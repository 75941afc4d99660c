// Tensor descriptors and shape arithmetic shared by every backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nailtrt.h"

namespace nt {

using Dims = std::vector<int64_t>;

struct TensorDesc {
  std::string name;
  nt_io_mode mode = NT_INPUT;
  nt_dtype dtype = NT_DTYPE_UNKNOWN;
  Dims dims;  // -1 for dynamic
};

size_t dtype_size(nt_dtype dtype);
const char* dtype_name(nt_dtype dtype);

// True when every dimension is known (>= 0).
bool is_resolved(const Dims& dims);

// Element count of a resolved shape; throws NT_SHAPE on a dynamic dim or overflow.
size_t volume(const Dims& dims);

// "[1,3,-1,-1]"
std::string to_string(const Dims& dims);

// Checks that `shape` can be given to a tensor declared as `declared` (same rank, equal
// fixed dims, positive values). Throws NT_SHAPE naming the tensor.
void check_shape_compatible(const std::string& tensor, const Dims& declared, const Dims& shape);

}  // namespace nt
