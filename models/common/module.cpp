#include "models/common/module.hpp"

#include <set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/safetensors.hpp"

namespace tessera::models {

void Module::check_new_name(const std::string& name) const {
  TESSERA_CHECK(!name.empty() && name.find('.') == std::string::npos,
                "{}: invalid parameter/module name '{}' (must be non-empty and contain no '.')", type_name(), name);
  for (const auto& p : params_)
    TESSERA_CHECK(p->name != name, "{}: name '{}' registered twice", type_name(), name);
  for (const auto& c : children_)
    TESSERA_CHECK(c.first != name, "{}: name '{}' registered twice", type_name(), name);
}

Parameter& Module::register_parameter(const std::string& name, Shape shape, DType dtype, bool optional) {
  check_new_name(name);
  TESSERA_CHECK(shape.size() <= size_t(kMaxDims), "{}: parameter '{}' has rank {} > {}", type_name(), name, shape.size(),
                kMaxDims);
  for (auto d : shape) TESSERA_CHECK(d >= 0, "{}: parameter '{}' has a negative dimension", type_name(), name);
  auto p = std::make_unique<Parameter>();
  p->name = name;
  p->shape = std::move(shape);
  p->dtype = dtype;
  p->optional = optional;
  params_.push_back(std::move(p));
  return *params_.back();
}

void Module::add_child(const std::string& name, std::unique_ptr<Module> m) {
  check_new_name(name);
  TESSERA_CHECK(m != nullptr, "{}: child '{}' is null", type_name(), name);
  children_.emplace_back(name, std::move(m));
}

Parameter* Module::parameter(const std::string& local_name) {
  for (auto& p : params_)
    if (p->name == local_name) return p.get();
  return nullptr;
}

Module* Module::child(const std::string& name) const {
  for (const auto& c : children_)
    if (c.first == name) return c.second.get();
  return nullptr;
}

std::vector<Module::NamedParameter> Module::named_parameters(const std::string& prefix) const {
  std::vector<NamedParameter> out;
  // Iterative depth-first walk (pre-order), so deep trees cannot overflow the stack.
  struct Frame {
    const Module* m;
    std::string prefix;
  };
  std::vector<Frame> stack{{this, prefix}};
  while (!stack.empty()) {
    Frame f = std::move(stack.back());
    stack.pop_back();
    for (const auto& p : f.m->params_) out.push_back({f.prefix + p->name, p.get()});
    for (auto it = f.m->children_.rbegin(); it != f.m->children_.rend(); ++it)
      stack.push_back({it->second.get(), f.prefix + it->first + "."});
  }
  return out;
}

int64_t Module::num_elements() const {
  int64_t n = 0;
  for (const auto& np : named_parameters()) n += shape_numel(np.param->shape);
  return n;
}

bool Module::loaded() const {
  for (const auto& np : named_parameters())
    if (!np.param->optional && !np.param->value.defined()) return false;
  return true;
}

namespace {

std::string list_items(const std::vector<std::string>& items, size_t max_listed) {
  std::string s;
  size_t n = std::min(items.size(), max_listed);
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > n) s += fmt::format(" (and {} more)", items.size() - n);
  return s;
}

std::string plural(size_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

}  // namespace

void Module::load_state(const SafetensorsFile& file, Device& dev, const LoadOptions& opts) {
  const auto params = named_parameters();
  const size_t maxl = std::max<size_t>(1, opts.max_listed);

  // 1. Validate everything before touching the device.
  std::vector<std::string> missing, mismatched, bad_dtype, extra;
  std::vector<const TensorInfo*> found(params.size(), nullptr);
  std::set<std::string> wanted;
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = *params[i].param;
    const std::string full = opts.prefix + params[i].name;
    wanted.insert(full);
    const TensorInfo* t = file.find(full);
    if (!t) {
      if (!p.optional) missing.push_back(fmt::format("'{}' {}", full, shape_str(p.shape)));
      continue;
    }
    if (t->shape != p.shape) {
      mismatched.push_back(fmt::format("'{}' expected {}, found {}", full, shape_str(p.shape), shape_str(t->shape)));
      continue;
    }
    if (!st_can_convert(t->dtype, p.dtype)) {
      bad_dtype.push_back(fmt::format("'{}' is {} in the file, cannot be stored as {}", full, st_dtype_name(t->dtype),
                                      dtype_name(p.dtype)));
      continue;
    }
    found[i] = t;
  }
  for (const auto& t : file.tensors()) {
    if (t.name.compare(0, opts.prefix.size(), opts.prefix) != 0) continue;
    if (!wanted.count(t.name)) extra.push_back(fmt::format("'{}' {}", printable(t.name), shape_str(t.shape)));
  }

  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back(plural(missing.size(), "missing tensor", "missing tensors") + ": " + list_items(missing, maxl));
  if (!mismatched.empty())
    problems.push_back(plural(mismatched.size(), "shape mismatch", "shape mismatches") + ": " + list_items(mismatched, maxl));
  if (!bad_dtype.empty())
    problems.push_back(plural(bad_dtype.size(), "dtype error", "dtype errors") + ": " + list_items(bad_dtype, maxl));
  if (!extra.empty() && opts.extra == ExtraTensorPolicy::error)
    problems.push_back(plural(extra.size(), "unexpected tensor", "unexpected tensors") + ": " + list_items(extra, maxl));
  if (!problems.empty()) {
    std::string msg;
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    fail("checkpoint '{}' does not match {}: {}", printable(file.path(), 200), type_name(), msg);
  }
  if (!extra.empty() && opts.extra == ExtraTensorPolicy::warn)
    TLOG_WARN("checkpoint '{}': {} ignored by {}: {}", printable(file.path(), 200),
              plural(extra.size(), "unexpected tensor", "unexpected tensors"), type_name(), list_items(extra, maxl));

  // 2. Allocate every tensor (an out-of-memory error leaves the module unchanged).
  std::vector<Tensor> fresh(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    if (found[i]) fresh[i] = Tensor::empty(params[i].param->shape, params[i].param->dtype, dev);

  // 3. Upload (converting in bounded chunks), then 4. commit.
  for (size_t i = 0; i < params.size(); ++i)
    if (found[i]) file.load_into(*found[i], fresh[i]);
  for (size_t i = 0; i < params.size(); ++i) params[i].param->value = found[i] ? std::move(fresh[i]) : Tensor();
}

}  // namespace tessera::models
