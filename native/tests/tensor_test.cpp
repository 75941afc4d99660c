#include "tensor.h"

#include <gtest/gtest.h>

#include "error.h"

namespace nt {
namespace {

TEST(Tensor, DtypeSizes) {
  EXPECT_EQ(dtype_size(NT_FLOAT32), 4u);
  EXPECT_EQ(dtype_size(NT_FLOAT16), 2u);
  EXPECT_EQ(dtype_size(NT_INT64), 8u);
  EXPECT_EQ(dtype_size(NT_UINT8), 1u);
  EXPECT_EQ(dtype_size(NT_DTYPE_UNKNOWN), 0u);
  EXPECT_STREQ(dtype_name(NT_INT32), "int32");
}

TEST(Tensor, Volume) {
  EXPECT_EQ(volume({2, 3, 4}), 24u);
  EXPECT_EQ(volume({}), 1u);
  EXPECT_EQ(volume({5, 0}), 0u);
  EXPECT_THROW(volume({-1, 3}), Error);
  EXPECT_THROW(volume({int64_t(1) << 40, int64_t(1) << 40}), Error);
}

TEST(Tensor, ShapeCompatibility) {
  EXPECT_NO_THROW(check_shape_compatible("x", {-1, 4}, {7, 4}));
  try {
    check_shape_compatible("x", {-1, 4}, {7, 5});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), NT_SHAPE);
    EXPECT_NE(std::string(e.what()).find("tensor x"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_shape_compatible("x", {-1, 4}, {7}), Error);
  EXPECT_THROW(check_shape_compatible("x", {-1, 4}, {0, 4}), Error);
  EXPECT_EQ(to_string({1, -1}), "[1,-1]");
}

}  // namespace
}  // namespace nt
