// Tuners: backend-specific searches for kernel parameters on the device at
// hand (e.g. CLBlast's GEMM tiling on an OpenCL device), run on request by
// `tessera tune <name> --device ID`. A tuner stores what it found where its
// backend reads it back (a per-device file in the cache directory), so later
// processes use it. Registered like kernels, listed by `tessera tune`.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/attrs.hpp"
#include "core/device.hpp"

namespace tessera {

struct TunerDef {
  std::string name;     // "clblast"
  std::string backend;  // the backend whose devices it tunes
  std::string summary;
  // Runs the search on `dev` (options in attrs); returns a report to print.
  std::function<std::string(Device& dev, const Attrs& opts)> run;
};

void register_tuner(TunerDef def);
const std::vector<TunerDef>& tuners();

struct TunerRegistrar {
  explicit TunerRegistrar(TunerDef def) { register_tuner(std::move(def)); }
};

}  // namespace tessera
