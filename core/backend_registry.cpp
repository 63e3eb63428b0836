#include <algorithm>
#include <cctype>

#include "core/device.hpp"
#include "core/error.hpp"

namespace tessera {

BackendRegistry& BackendRegistry::get() {
  static BackendRegistry* r = new BackendRegistry();  // never destroyed: devices outlive static tensors
  return *r;
}

void BackendRegistry::add(std::unique_ptr<Backend> b) {
  backends_.push_back(std::move(b));
  // Stable order independent of link order: cpu, opencl, vulkan, then others.
  auto rank = [](const std::string& n) { return n == "cpu" ? 0 : n == "opencl" ? 1 : n == "vulkan" ? 2 : 3; };
  std::stable_sort(backends_.begin(), backends_.end(),
                   [&](const auto& a, const auto& c) { return rank(a->name()) < rank(c->name()); });
}

std::vector<Backend*> BackendRegistry::backends() {
  std::vector<Backend*> out;
  for (auto& b : backends_) out.push_back(b.get());
  return out;
}

Backend* BackendRegistry::find(const std::string& name) {
  for (auto& b : backends_)
    if (b->name() == name) return b.get();
  return nullptr;
}

static std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Device& BackendRegistry::device(const std::string& spec) {
  auto colon = spec.find(':');
  std::string bname = spec.substr(0, colon);
  std::string sel = colon == std::string::npos ? "" : spec.substr(colon + 1);
  Backend* b = find(bname);
  if (!b) {
    std::string valid;
    for (auto& x : backends_) valid += (valid.empty() ? "" : ", ") + x->name();
    fail("unknown backend '{}'; valid backends: {}", bname, valid);
  }
  auto devs = b->devices();
  if (devs.empty()) fail("backend '{}' has no usable device: {}", bname, b->unavailable_reason());
  std::string valid;
  for (size_t i = 0; i < devs.size(); ++i)
    valid += fmt::format("{}{}:{} ({})", i ? ", " : "", bname, i, devs[i]->info().name);
  if (sel.empty()) return *devs[0];
  if (std::all_of(sel.begin(), sel.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    size_t i = std::stoul(sel);
    if (i < devs.size()) return *devs[i];
    fail("no device '{}'; valid devices: {}", spec, valid);
  }
  for (auto* d : devs)
    if (lower(d->info().name).find(lower(sel)) != std::string::npos) return *d;
  fail("no device '{}'; valid devices: {}", spec, valid);
}

Device& BackendRegistry::cpu() { return device("cpu"); }

}  // namespace tessera
