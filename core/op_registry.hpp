// The op registry: every op is declared once (OpDef: shape/dtype inference
// that also validates arguments, a float64 reference, and its test cases) and
// implemented per backend (kernel + supports predicate). Calls dispatch on the
// device the tensors live on. Unsupported -> Error, unless the fallback policy
// says "cpu", in which case the op runs on the CPU backend and this is logged
// once per (op, backend).
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/attrs.hpp"
#include "core/tensor.hpp"

namespace tessera {

struct TensorDesc {
  Shape shape;
  DType dtype = DType::f32;
};

// Host float64 tensor used by reference implementations.
struct HostTensor {
  Shape shape;
  DType dtype = DType::f32;  // the dtype the real tensor has (values are already rounded to it)
  std::vector<double> data;
  int64_t numel() const { return shape_numel(shape); }
};

// Arguments of one op call: inputs, pre-allocated outputs, attributes.
struct OpArgs {
  std::vector<Tensor> in;
  std::vector<Tensor> out;
  Attrs attrs;
};

// One parity test case: input descriptions + attributes. Inputs are filled
// with uniform random values in [lo, hi] (rounded to their dtype); `scale`
// cases run only under the CTest "scale" label.
struct TestCase {
  std::string label;
  std::vector<TensorDesc> inputs;
  Attrs attrs;
  double lo = -1.0, hi = 1.0;
  bool scale = false;
  // > 0: compare only this many sampled rows (dim 0 of every output); the
  // reference receives their indices in attr "__rows" and may skip the rest.
  // For ops whose reference is too slow at scale (attention at 64k tokens).
  // Every element is still checked for NaN/Inf (poison).
  int64_t sample_rows = 0;
  // Fixed contents for some inputs (e.g. cu_seqlens offsets): values[i], when
  // non-empty, replaces the random fill of input i.
  std::vector<std::vector<double>> values;
  // Custom inputs (unique sparse coordinates, meshes, hash keys, ...): called
  // after the random/fixed fill with the case's generator; may overwrite the
  // values and change the shapes of the inputs (values must be representable
  // in each input's dtype). Lets every case still draw fresh data per seed.
  std::function<void(std::mt19937_64& rng, std::vector<HostTensor>& inputs)> generate;
};

struct OpDef {
  std::string name;
  std::string summary;
  // Validate inputs (shapes, dtypes, attrs) and return the outputs' descriptions.
  // Throws Error naming the op and the offending shapes.
  std::function<std::vector<TensorDesc>(const std::vector<TensorDesc>&, const Attrs&)> infer;
  // float64 reference: fills `out` (shapes already set) from `in`.
  std::function<void(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs&)> reference;
  std::function<std::vector<TestCase>()> cases;
  // NMSE threshold for an output of dtype `t`, given the inputs' descriptions.
  std::function<double(DType out, const std::vector<TensorDesc>& in, const Attrs&)> tolerance;
  // Optional: replaces the per-output NMSE comparison for ops whose correct
  // result is not unique (a hash table's slot layout, a BVH's node order,
  // ties between equidistant faces). Returns "" when `got` is a valid result
  // for `in` (using `ref`, the reference's result, as it likes), otherwise what
  // is wrong. Unwritten (poisoned) elements must make it fail.
  std::function<std::string(const std::vector<HostTensor>& in, const std::vector<HostTensor>& got,
                             const std::vector<HostTensor>& ref, const Attrs& attrs)>
      check;
};

using KernelFn = std::function<void(Device&, OpArgs&)>;
// Returns "" when the kernel handles these args, else the reason it does not.
using SupportsFn = std::function<std::string(const Device&, const OpArgs&)>;
// How an op divides into row windows (core/split_dispatch.hpp): the cut
// dimension of each input then each output (-1: read whole), or an empty
// vector when these arguments cannot be split.
using SplitFn = std::function<std::vector<int>(const OpArgs&)>;

enum class FallbackPolicy { error, cpu };

class OpRegistry {
 public:
  static OpRegistry& get();
  void add_op(OpDef def);
  void add_kernel(const std::string& op, const std::string& backend, KernelFn fn, SupportsFn supports = nullptr);

  const OpDef& op(const std::string& name) const;  // throws for unknown ops
  bool has_op(const std::string& name) const;
  std::vector<std::string> op_names() const;
  bool has_kernel(const std::string& op, const std::string& backend) const;
  std::vector<std::string> kernel_backends(const std::string& op) const;
  // (op, backend) pairs whose op was never declared: a registry bug, tests fail on it.
  std::vector<std::pair<std::string, std::string>> orphan_kernels() const;

  // Validates via OpDef::infer, allocates outputs on the inputs' device, dispatches.
  std::vector<Tensor> call(const std::string& op, std::vector<Tensor> in, const Attrs& attrs = {});
  // Dispatch with outputs already allocated.
  void dispatch(const std::string& op, OpArgs& args);
  // "" when dispatch() can run these args on `dev` without the fallback (the
  // kernel's predicate, or a declared split for tensors beyond the limits), else why not.
  std::string supports(const std::string& op, const Device& dev, const OpArgs& args) const;

  // Declares how `op` splits into row windows (see core/split_dispatch.hpp).
  void set_split(const std::string& op, SplitFn fn);
  const SplitFn* split(const std::string& op) const;

  void set_fallback(FallbackPolicy p) { fallback_ = p; }
  FallbackPolicy fallback() const { return fallback_; }

 private:
  OpRegistry();
  struct Kernel {
    KernelFn fn;
    SupportsFn supports;
  };
  std::map<std::string, OpDef> ops_;
  std::map<std::string, std::map<std::string, Kernel>> kernels_;  // op -> backend -> kernel
  std::map<std::string, SplitFn> splits_;
  void dispatch_one(const std::string& op, Device& dev, OpArgs& args);
  // The backend kernel's own predicate (supports() adds the row-window rule).
  std::string kernel_supports(const std::string& op, const Device& dev, const OpArgs& args) const;
  FallbackPolicy fallback_ = FallbackPolicy::error;
};

// Static registration (backends and ops are OBJECT libraries, so these run).
struct OpRegistrar {
  explicit OpRegistrar(OpDef def) { OpRegistry::get().add_op(std::move(def)); }
};
struct SplitRegistrar {
  SplitRegistrar(const char* op, SplitFn fn) { OpRegistry::get().set_split(op, std::move(fn)); }
};
struct KernelRegistrar {
  KernelRegistrar(const char* op, const char* backend, KernelFn fn, SupportsFn supports = nullptr) {
    OpRegistry::get().add_kernel(op, backend, std::move(fn), std::move(supports));
  }
};

#define TESSERA_CONCAT_(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_(a, b)
// TESSERA_REGISTER_KERNEL("linear", "cpu", fn, supports_fn_or_nullptr);
#define TESSERA_REGISTER_KERNEL(op, backend, ...) \
  static ::tessera::KernelRegistrar TESSERA_CONCAT(tessera_kernel_reg_, __LINE__)(op, backend, __VA_ARGS__)

std::vector<TensorDesc> descs_of(const std::vector<Tensor>& ts);

}  // namespace tessera
