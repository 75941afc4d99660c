// Helpers shared by the ABI tests: RAII owners for the C handles and fixture paths.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "nailtrt.h"

namespace nttest {

// NAILTRT_FIXTURES overrides the source tree's trt/testdata, for a test binary carried to
// another machine (tools/gpu).
inline std::string fixture(const std::string& name) {
  const char* dir = std::getenv("NAILTRT_FIXTURES");
  return std::string(dir != nullptr && *dir != '\0' ? dir : NT_FIXTURES) + "/" + name;
}

struct EngineDel {
  void operator()(nt_engine* p) const { nt_engine_destroy(p); }
};
struct ContextDel {
  void operator()(nt_context* p) const { nt_context_destroy(p); }
};
struct StreamDel {
  void operator()(nt_stream* p) const { nt_stream_destroy(p); }
};
struct BufferDel {
  void operator()(nt_buffer* p) const { nt_buffer_destroy(p); }
};
using Engine = std::unique_ptr<nt_engine, EngineDel>;
using Context = std::unique_ptr<nt_context, ContextDel>;
using Stream = std::unique_ptr<nt_stream, StreamDel>;
using Buffer = std::unique_ptr<nt_buffer, BufferDel>;

inline Engine load_cpu(const std::string& name, int threads = 1) {
  nt_engine_options o;
  nt_engine_options_init(&o);
  o.backend = NT_BACKEND_ONNXRUNTIME;
  o.intra_op_threads = threads;
  nt_engine* e = nullptr;
  nt_status st = nt_engine_load_file(fixture(name).c_str(), &o, &e);
  EXPECT_EQ(st, NT_OK) << nt_last_error();
  return Engine(e);
}

inline Stream make_stream() {
  nt_stream* s = nullptr;
  EXPECT_EQ(nt_stream_create(0, &s, nullptr), NT_OK) << nt_last_error();
  return Stream(s);
}

inline Buffer make_buffer(size_t size) {
  nt_buffer* b = nullptr;
  EXPECT_EQ(nt_buffer_create(size, &b, nullptr), NT_OK) << nt_last_error();
  return Buffer(b);
}

template <typename T>
T* data_of(nt_buffer* b) {
  void* p = nullptr;
  size_t n = 0;
  EXPECT_EQ(nt_buffer_data(b, &p, &n), NT_OK);
  return static_cast<T*>(p);
}

}  // namespace nttest
