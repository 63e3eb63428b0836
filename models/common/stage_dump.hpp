// Stage dumps and their comparison (`tessera generate --dump DIR`,
// `tessera compare DIR_A DIR_B`). A dump directory holds one safetensors file
// per pipeline stage boundary, named "NN_<stage>.safetensors" in pipeline
// order, with metadata {"stage", "device", "seconds"}. Comparing two dumps
// walks the stages of A in order; per tensor it reports the shape, NMSE
// (sum (a-b)^2 / sum b^2, B the reference) and max |a-b|; integer tensors
// (coordinates, faces) must match exactly. The first stage past its
// tolerance is named: everything after it inherits its difference.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace tessera::models {

class StageDumpWriter {
 public:
  // Creates `dir` (and parents); stale "NN_*.safetensors" files in it are removed.
  StageDumpWriter(std::string dir, std::string device_id);
  void write(const std::string& stage, const std::vector<std::pair<std::string, Tensor>>& tensors, double seconds);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, device_;
  int next_ = 0;
};

// Tolerance on the NMSE of float tensors per stage (integer tensors: exact).
struct StageTolerance {
  double default_nmse = 1e-4;
  std::map<std::string, double> per_stage;  // stage name -> NMSE bound
  // Integer tensors must match exactly, except in the stages listed here,
  // which allow this fraction of differing elements (e.g. the mesh, whose
  // quad split compares products of two weights: a near-tie can pick the
  // other diagonal on another backend).
  std::map<std::string, double> integer_fraction;
  double for_stage(const std::string& s) const {
    auto it = per_stage.find(s);
    return it == per_stage.end() ? default_nmse : it->second;
  }
};

struct TensorDiff {
  std::string stage, tensor, shape_a, shape_b;
  bool integer = false;
  bool shape_match = false;
  double nmse = 0, max_abs = 0;  // floats (shapes equal)
  int64_t mismatches = 0;        // integers: differing elements (shapes equal)
  double tolerance = 0;          // floats: NMSE bound; integers: allowed fraction of differing elements
  bool pass = false;
};

struct DumpComparison {
  std::vector<TensorDiff> rows;
  std::vector<std::string> missing;  // stages in A that B lacks
  std::string first_failing_stage;   // "" when every stage passes
  std::string device_a, device_b;
  bool pass() const { return first_failing_stage.empty() && missing.empty(); }
};

DumpComparison compare_dumps(const std::string& dir_a, const std::string& dir_b, const StageTolerance& tol);
// The table `tessera compare` prints (one line per tensor, then the verdict).
std::string format_comparison(const DumpComparison& c);

}  // namespace tessera::models
