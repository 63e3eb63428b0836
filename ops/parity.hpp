// Parity runner: run one op test case on a device and compare with the op's
// float64 reference (in the spirit of ggml's test-backend-ops). Used by the
// test suite, `tessera check` and benchmarks' correctness pre-checks.
#pragma once
#include <cstdint>
#include <string>

#include "core/op_registry.hpp"

namespace tessera {

struct ParityResult {
  bool supported = true;     // false: the backend's supports() declined (reason in `message`)
  bool passed = false;
  double nmse = 0.0;         // worst output
  double tolerance = 0.0;
  double max_abs_err = 0.0;
  int64_t nonfinite = 0;     // NaN/Inf where the reference is finite (includes unwritten, poisoned elements)
  double seconds = 0.0;      // device time of the dispatch (synchronised), for information only
  std::string message;       // human-readable summary
};

// Seed derived from (op, case label, base seed): every case gets different data.
uint64_t parity_seed(const std::string& op, const std::string& label, uint64_t base);

// Random inputs in [case.lo, case.hi] rounded to their dtypes, reference in
// float64, outputs poisoned with NaN before the kernel runs.
ParityResult run_parity_case(Device& dev, const OpDef& def, const TestCase& c, uint64_t seed);

// The op's float64 reference on host tensors (its inferred outputs, in
// order), for host compositions of several ops (model forward tests).
std::vector<HostTensor> run_reference(const std::string& op, const std::vector<HostTensor>& in, const Attrs& attrs = {});

// NMSE = sum((out - ref)^2) / sum(ref^2) (absolute squared error when ref is all zero).
double nmse(const std::vector<double>& out, const std::vector<double>& ref);

}  // namespace tessera
