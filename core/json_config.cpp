#include "core/json_config.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/safetensors.hpp"  // printable()

namespace tessera {

using nlohmann::json;

namespace {
constexpr int kMaxDepth = 64;
struct TooDeep {};

const char* type_name(const json& v) {
  if (v.is_number_float()) return "a float";
  if (v.is_number()) return "an integer";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  return "a value";
}
}  // namespace

struct JsonConfig::Node {
  const json* j = nullptr;
  std::string path;
  std::set<std::string> used;
};

struct JsonConfig::Doc {
  json root;
  std::string source;
  std::map<std::string, Node> nodes;  // by path; "" is the root
};

JsonConfig::JsonConfig() {
  doc_ = std::make_shared<Doc>();
  doc_->root = json::object();
  doc_->source = "<empty>";
  Node& n = doc_->nodes[""];
  n.j = &doc_->root;
  node_ = &n;
}
JsonConfig::JsonConfig(const JsonConfig&) = default;
JsonConfig& JsonConfig::operator=(const JsonConfig&) = default;
JsonConfig::~JsonConfig() = default;

JsonConfig JsonConfig::parse(const std::string& text, const std::string& source) {
  JsonConfig c;
  c.doc_->source = source;
  std::string src = printable(source, 200);
  json::parser_callback_t cb = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) throw TooDeep{};
    return true;
  };
  try {
    c.doc_->root = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const TooDeep&) {
    fail("{}: JSON nested deeper than {} levels", src, kMaxDepth);
  } catch (const json::parse_error& e) {
    size_t pos = e.byte ? e.byte - 1 : 0;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    auto p = what.find(" - ");
    std::string reason = p == std::string::npos ? "syntax error" : what.substr(p + 3);
    auto last = reason.find("; last read");
    if (last != std::string::npos) reason = reason.substr(0, last);
    fail("{}: invalid JSON at line {}, column {}: {}", src, line, col, printable(reason, 100));
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", src, printable(e.what(), 100));
  }
  if (!c.doc_->root.is_object()) fail("{}: expected a JSON object at the top level, found {}", src, type_name(c.doc_->root));
  c.node_->j = &c.doc_->root;
  return c;
}

JsonConfig JsonConfig::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open config file '{}'", printable(path, 200));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) fail("cannot read config file '{}'", printable(path, 200));
  if (uint64_t(size) > kMaxFileBytes)
    fail("config file '{}' is {} bytes, more than the {} byte limit", printable(path, 200), int64_t(size), kMaxFileBytes);
  in.seekg(0);
  std::string text(size_t(size), '\0');
  if (size && !in.read(&text[0], size)) fail("cannot read config file '{}'", printable(path, 200));
  return parse(text, path);
}

const std::string& JsonConfig::source() const { return doc_->source; }
const std::string& JsonConfig::path() const { return node_->path; }

std::string JsonConfig::where() const {
  std::string s = printable(doc_->source, 200);
  if (!node_->path.empty()) s += ": key '" + printable(node_->path, 200) + "'";
  return s;
}

static std::string join_path(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}

bool JsonConfig::has(const std::string& key) const { return node_->j->contains(key); }

bool JsonConfig::is_null(const std::string& key) const {
  auto it = node_->j->find(key);
  return it != node_->j->end() && it->is_null();
}

bool JsonConfig::is_object(const std::string& key) const {
  auto it = node_->j->find(key);
  return it != node_->j->end() && it->is_object();
}

std::vector<std::string> JsonConfig::keys() const {
  std::vector<std::string> k;
  for (auto it = node_->j->begin(); it != node_->j->end(); ++it) k.push_back(it.key());
  return k;
}

void JsonConfig::mark_used(const std::string& key) const { node_->used.insert(key); }

namespace {

struct Ctx {
  const std::string& source;
  std::string key;  // full dotted key
  [[noreturn]] void wrong(const char* expected, const json& v) const {
    fail("{}: key '{}' must be {}, found {}", printable(source, 200), printable(key, 200), expected, type_name(v));
  }
};

template <typename T>
T conv(const json& v, const Ctx& c);

template <>
bool conv<bool>(const json& v, const Ctx& c) {
  if (!v.is_boolean()) c.wrong("a boolean", v);
  return v.get<bool>();
}

template <>
int64_t conv<int64_t>(const json& v, const Ctx& c) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max()))
      fail("{}: key '{}' = {} is out of range", printable(c.source, 200), printable(c.key, 200), u);
    return int64_t(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && d >= -9.2e18 && d <= 9.2e18) return int64_t(d);
    fail("{}: key '{}' must be an integer, found {}", printable(c.source, 200), printable(c.key, 200), d);
  }
  c.wrong("an integer", v);
}

template <>
int conv<int>(const json& v, const Ctx& c) {
  int64_t x = conv<int64_t>(v, c);
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    fail("{}: key '{}' = {} is out of range for a 32-bit integer", printable(c.source, 200), printable(c.key, 200), x);
  return int(x);
}

template <>
double conv<double>(const json& v, const Ctx& c) {
  if (!v.is_number()) c.wrong("a number", v);
  return v.get<double>();
}

template <>
float conv<float>(const json& v, const Ctx& c) {
  return float(conv<double>(v, c));
}

template <>
std::string conv<std::string>(const json& v, const Ctx& c) {
  if (!v.is_string()) c.wrong("a string", v);
  return v.get<std::string>();
}

template <typename E>
std::vector<E> conv_vec(const json& v, const Ctx& c) {
  if (!v.is_array()) c.wrong("an array", v);
  std::vector<E> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.push_back(conv<E>(v[i], Ctx{c.source, c.key + "[" + std::to_string(i) + "]"}));
  return out;
}

template <>
std::vector<int> conv<std::vector<int>>(const json& v, const Ctx& c) { return conv_vec<int>(v, c); }
template <>
std::vector<int64_t> conv<std::vector<int64_t>>(const json& v, const Ctx& c) { return conv_vec<int64_t>(v, c); }
template <>
std::vector<double> conv<std::vector<double>>(const json& v, const Ctx& c) { return conv_vec<double>(v, c); }
template <>
std::vector<float> conv<std::vector<float>>(const json& v, const Ctx& c) { return conv_vec<float>(v, c); }
template <>
std::vector<std::string> conv<std::vector<std::string>>(const json& v, const Ctx& c) {
  return conv_vec<std::string>(v, c);
}

}  // namespace

template <typename T>
T JsonConfig::get(const std::string& key) const {
  node_->used.insert(key);
  auto it = node_->j->find(key);
  std::string full = join_path(node_->path, key);
  if (it == node_->j->end())
    fail("{}: missing required key '{}'", printable(doc_->source, 200), printable(full, 200));
  return conv<T>(*it, Ctx{doc_->source, full});
}

template <typename T>
T JsonConfig::get_or(const std::string& key, const T& def) const {
  node_->used.insert(key);
  auto it = node_->j->find(key);
  if (it == node_->j->end() || it->is_null()) return def;
  return conv<T>(*it, Ctx{doc_->source, join_path(node_->path, key)});
}

#define TESSERA_JSON_INSTANTIATE(T)                               \
  template T JsonConfig::get<T>(const std::string&) const;        \
  template T JsonConfig::get_or<T>(const std::string&, const T&) const;
TESSERA_JSON_INSTANTIATE(bool)
TESSERA_JSON_INSTANTIATE(int)
TESSERA_JSON_INSTANTIATE(int64_t)
TESSERA_JSON_INSTANTIATE(double)
TESSERA_JSON_INSTANTIATE(float)
TESSERA_JSON_INSTANTIATE(std::string)
TESSERA_JSON_INSTANTIATE(std::vector<int>)
TESSERA_JSON_INSTANTIATE(std::vector<int64_t>)
TESSERA_JSON_INSTANTIATE(std::vector<double>)
TESSERA_JSON_INSTANTIATE(std::vector<float>)
TESSERA_JSON_INSTANTIATE(std::vector<std::string>)
#undef TESSERA_JSON_INSTANTIATE

JsonConfig JsonConfig::child(const std::string& key) const {
  node_->used.insert(key);
  auto it = node_->j->find(key);
  std::string full = join_path(node_->path, key);
  if (it == node_->j->end())
    fail("{}: missing required key '{}'", printable(doc_->source, 200), printable(full, 200));
  if (!it->is_object()) Ctx{doc_->source, full}.wrong("an object", *it);
  JsonConfig c = *this;
  Node& n = doc_->nodes[full];
  n.j = &*it;
  n.path = full;
  c.node_ = &n;
  return c;
}

JsonConfig JsonConfig::child_or_empty(const std::string& key) const {
  node_->used.insert(key);
  auto it = node_->j->find(key);
  if (it == node_->j->end() || it->is_null()) {
    JsonConfig e;
    e.doc_->source = doc_->source;
    e.node_->path = join_path(node_->path, key);
    return e;
  }
  return child(key);
}

std::vector<JsonConfig> JsonConfig::children(const std::string& key) const {
  node_->used.insert(key);
  auto it = node_->j->find(key);
  std::string full = join_path(node_->path, key);
  if (it == node_->j->end())
    fail("{}: missing required key '{}'", printable(doc_->source, 200), printable(full, 200));
  if (!it->is_array()) Ctx{doc_->source, full}.wrong("an array of objects", *it);
  std::vector<JsonConfig> out;
  for (size_t i = 0; i < it->size(); ++i) {
    std::string p = full + "[" + std::to_string(i) + "]";
    const json& v = (*it)[i];
    if (!v.is_object()) Ctx{doc_->source, p}.wrong("an object", v);
    JsonConfig c = *this;
    Node& n = doc_->nodes[p];
    n.j = &v;
    n.path = p;
    c.node_ = &n;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> JsonConfig::unused_keys() const {
  std::vector<std::string> out;
  for (auto it = node_->j->begin(); it != node_->j->end(); ++it)
    if (!node_->used.count(it.key())) out.push_back(it.key());
  return out;
}

size_t JsonConfig::report_unknown_keys(const std::string& context) const {
  size_t total = 0;
  const std::string& base = node_->path;
  for (auto& [p, n] : doc_->nodes) {
    bool under = base.empty() || p == base || (p.size() > base.size() && p.compare(0, base.size(), base) == 0 &&
                                               (p[base.size()] == '.' || p[base.size()] == '['));
    if (!under || !n.j) continue;
    std::vector<std::string> unknown;
    for (auto it = n.j->begin(); it != n.j->end(); ++it)
      if (!n.used.count(it.key())) unknown.push_back(printable(p.empty() ? it.key() : p + "." + it.key(), 80));
    if (unknown.empty()) continue;
    total += unknown.size();
    std::string list;
    for (size_t i = 0; i < unknown.size() && i < 20; ++i) list += (i ? ", " : "") + unknown[i];
    if (unknown.size() > 20) list += fmt::format(" (and {} more)", unknown.size() - 20);
    TLOG_WARN("{}{}{}: unknown keys ignored: {}", printable(doc_->source, 200), context.empty() ? "" : " (",
              context.empty() ? "" : context + ")", list);
  }
  return total;
}

std::string JsonConfig::dump() const { return node_->j->dump(); }

}  // namespace tessera
