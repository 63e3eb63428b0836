// JsonConfig: typed, error-reporting access to a JSON config file.
//
// A JsonConfig is a handle to one JSON object inside a parsed document, plus
// the file name and the dotted key path that leads to it, so every error says
// where: "pipeline.json: missing required key 'args.models'". Accessors
// remember which keys were read; report_unknown_keys() logs a warning listing
// the keys nobody asked for (unknown keys are never an error). nlohmann::json
// stays inside json_config.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tessera {

class JsonConfig {
 public:
  static constexpr size_t kMaxFileBytes = 64u << 20;

  // Read and parse a file (must hold a JSON object). Errors name the file and,
  // for syntax errors, the line and column.
  static JsonConfig load_file(const std::string& path);
  // Parse text; `source` is the name used in messages.
  static JsonConfig parse(const std::string& text, const std::string& source);

  JsonConfig();  // an empty object, source "<empty>"
  JsonConfig(const JsonConfig&);
  JsonConfig& operator=(const JsonConfig&);
  ~JsonConfig();

  const std::string& source() const;  // the file name
  const std::string& path() const;    // dotted key path of this object, "" at the root
  // "file.json" or "file.json: key 'args.models'"
  std::string where() const;

  bool has(const std::string& key) const;
  bool is_null(const std::string& key) const;  // present and null
  std::vector<std::string> keys() const;      // in document (sorted) order

  // Required key of type T; throws Error naming the key and file when the key
  // is missing or has the wrong type. Supported T: bool, int, int64_t,
  // double, float, std::string, std::vector<int>, std::vector<int64_t>,
  // std::vector<double>, std::vector<float>, std::vector<std::string>.
  // Integers must be integral (a float with a fraction is an error); a
  // floating type also accepts integers.
  template <typename T>
  T get(const std::string& key) const;
  // As get<T>, but `def` when the key is absent or null.
  template <typename T>
  T get_or(const std::string& key, const T& def) const;

  // A nested object (required / optional: an empty object when absent).
  JsonConfig child(const std::string& key) const;
  JsonConfig child_or_empty(const std::string& key) const;
  // A required array of objects.
  std::vector<JsonConfig> children(const std::string& key) const;
  bool is_object(const std::string& key) const;

  // Mark keys as known without reading them.
  void mark_used(const std::string& key) const;
  // Keys of this object that no accessor read (not recursive).
  std::vector<std::string> unused_keys() const;
  // Log one warning "<where>: unknown keys ignored: a, b" if there are any
  // (recursing into children that were accessed). Returns the number found.
  size_t report_unknown_keys(const std::string& context = "") const;

  // Compact JSON text of this object (for logs and tests; bounded depth input only).
  std::string dump() const;

 private:
  struct Doc;
  struct Node;
  std::shared_ptr<Doc> doc_;
  Node* node_ = nullptr;  // owned by doc_
};

}  // namespace tessera
