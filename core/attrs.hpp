// Attrs: an op's non-tensor arguments (alpha, out dtype, flags), by name.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/dtype.hpp"

namespace tessera {

class Attrs {
 public:
  using Value = std::variant<int64_t, double, std::string, std::vector<int64_t>>;
  Attrs& set(const std::string& k, int64_t v) { m_[k] = v; return *this; }
  Attrs& set(const std::string& k, int v) { m_[k] = int64_t(v); return *this; }
  Attrs& set(const std::string& k, bool v) { m_[k] = int64_t(v); return *this; }
  Attrs& set(const std::string& k, double v) { m_[k] = v; return *this; }
  Attrs& set(const std::string& k, const char* v) { m_[k] = std::string(v); return *this; }
  Attrs& set(const std::string& k, const std::string& v) { m_[k] = v; return *this; }
  Attrs& set(const std::string& k, const std::vector<int64_t>& v) { m_[k] = v; return *this; }
  Attrs& set(const std::string& k, DType v) { m_[k] = std::string(dtype_name(v)); return *this; }
  bool has(const std::string& k) const { return m_.count(k) != 0; }
  int64_t get_int(const std::string& k, int64_t def = 0) const;
  double get_float(const std::string& k, double def = 0) const;
  std::string get_str(const std::string& k, const std::string& def = "") const;
  std::vector<int64_t> get_ints(const std::string& k) const;
  DType get_dtype(const std::string& k, DType def) const;
  std::string str() const;  // "alpha=0.5, dtype=f16"

 private:
  std::map<std::string, Value> m_;
};

}  // namespace tessera
