// Reads the goldens nails/cuda_golden_test.go writes (native/tests/testdata/cuda/*.bin):
// named arrays of int64, float64, float32 or bytes, little-endian, after "NTGOLD1\n".
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace nttest {

class Golden {
 public:
  explicit Golden(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read golden " + path);
    std::vector<char> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (d.size() < 8 || std::memcmp(d.data(), "NTGOLD1\n", 8) != 0) throw std::runtime_error(path + ": not a golden");
    size_t i = 8;
    auto take = [&](void* out, size_t n) {
      if (n > d.size() - i) throw std::runtime_error(path + ": truncated");
      std::memcpy(out, d.data() + i, n);
      i += n;
    };
    while (i < d.size()) {
      uint16_t len = 0;
      take(&len, 2);
      std::string name(len, '\0');
      take(name.data(), len);
      Record r;
      take(&r.kind, 1);
      uint64_t n = 0;
      take(&n, 8);
      size_t size = r.kind == 'b' ? 1 : r.kind == 'f' ? 4 : 8;
      if (n > (d.size() - i) / size) throw std::runtime_error(path + ": record " + name + " too long");
      r.raw.resize(n * size);
      take(r.raw.data(), r.raw.size());
      r.count = n;
      records_[name] = std::move(r);
    }
  }

  bool has(const std::string& name) const { return records_.count(name) != 0; }
  std::vector<int64_t> ints(const std::string& name) const { return get<int64_t>(name, 'i'); }
  std::vector<double> f64(const std::string& name) const { return get<double>(name, 'd'); }
  std::vector<float> f32(const std::string& name) const { return get<float>(name, 'f'); }
  std::vector<uint8_t> bytes(const std::string& name) const { return get<uint8_t>(name, 'b'); }

 private:
  struct Record {
    char kind = 0;
    uint64_t count = 0;
    std::vector<char> raw;
  };
  template <typename T>
  std::vector<T> get(const std::string& name, char kind) const {
    auto it = records_.find(name);
    if (it == records_.end()) throw std::runtime_error("golden has no record " + name);
    if (it->second.kind != kind) throw std::runtime_error("golden record " + name + " has another kind");
    std::vector<T> out(it->second.count);
    std::memcpy(out.data(), it->second.raw.data(), it->second.raw.size());
    return out;
  }
  std::map<std::string, Record> records_;
};

// The goldens' folder: NAILTRT_GOLDENS when set (a test binary carried to another machine,
// tools/gpu), else the source tree's.
inline std::string golden_path(const std::string& name) {
  const char* dir = std::getenv("NAILTRT_GOLDENS");
  return std::string(dir != nullptr && *dir != '\0' ? dir : NT_GOLDENS) + "/" + name + ".bin";
}

}  // namespace nttest
