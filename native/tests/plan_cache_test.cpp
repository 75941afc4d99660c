// The TensorRT plan cache's file handling needs no TensorRT: these run everywhere.
#include "tensorrt/plan_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "error.h"

namespace nt::trt {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/nailtrt-plan-cache-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  return d ? d : "";
}

TEST(PlanCache, WriteThenReadRoundTrips) {
  std::string dir = temp_dir();
  ASSERT_FALSE(dir.empty());
  PlanCache cache(dir + "/plans");  // created on first write
  PlanKey k{"abc", "11.1.0", 9, 0, "fp16", 1, 8};
  std::string plan = "serialized plan bytes";
  cache.write(cache.plan_path(k), plan.data(), plan.size());
  auto got = cache.read(cache.plan_path(k));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, plan);
  PlanKey other = k;
  other.onnx_sha256 = "other";
  EXPECT_FALSE(cache.read(cache.plan_path(other)).has_value());
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

// An unwritable cache folder is an error with the reason, never a crash or a truncated
// plan (the engine builder logs it and serves the plan it built).
TEST(PlanCache, UnwritableFolderIsAnError) {
  PlanCache cache("/dev/null/plans");  // a folder under a file: mkdir fails as root too
  PlanKey k{"abc", "11.1.0", 9, 0, "fp16", 1, 8};
  try {
    cache.write(cache.plan_path(k), "x", 1);
    FAIL() << "write into an unwritable folder succeeded";
  } catch (const nt::Error& e) {
    EXPECT_EQ(e.status(), NT_RUNTIME);
    EXPECT_NE(std::string(e.what()).find("cannot create cache folder"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(cache.read(cache.plan_path(k)).has_value());
}

}  // namespace
}  // namespace nt::trt
