#include "core/attrs.hpp"

#include "core/error.hpp"

namespace tessera {

int64_t Attrs::get_int(const std::string& k, int64_t def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* p = std::get_if<int64_t>(&it->second)) return *p;
  fail("attribute '{}' is not an integer", k);
}

double Attrs::get_float(const std::string& k, double def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* p = std::get_if<double>(&it->second)) return *p;
  if (auto* p = std::get_if<int64_t>(&it->second)) return double(*p);
  fail("attribute '{}' is not a number", k);
}

std::string Attrs::get_str(const std::string& k, const std::string& def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* p = std::get_if<std::string>(&it->second)) return *p;
  fail("attribute '{}' is not a string", k);
}

std::vector<int64_t> Attrs::get_ints(const std::string& k) const {
  auto it = m_.find(k);
  if (it == m_.end()) return {};
  if (auto* p = std::get_if<std::vector<int64_t>>(&it->second)) return *p;
  fail("attribute '{}' is not an integer list", k);
}

DType Attrs::get_dtype(const std::string& k, DType def) const {
  return has(k) ? dtype_from_name(get_str(k)) : def;
}

std::string Attrs::str() const {
  std::string out;
  for (auto& [k, v] : m_) {
    if (!out.empty()) out += ", ";
    out += k + "=";
    if (auto* i = std::get_if<int64_t>(&v)) out += std::to_string(*i);
    else if (auto* d = std::get_if<double>(&v)) out += fmt::format("{}", *d);
    else if (auto* s = std::get_if<std::string>(&v)) out += *s;
    else {
      auto& l = std::get<std::vector<int64_t>>(v);
      out += "[";
      for (size_t j = 0; j < l.size(); ++j) out += (j ? "," : "") + std::to_string(l[j]);
      out += "]";
    }
  }
  return out;
}

}  // namespace tessera
