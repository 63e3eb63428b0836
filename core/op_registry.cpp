#include "core/op_registry.hpp"

#include <cstdlib>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/split_dispatch.hpp"

namespace tessera {

OpRegistry& OpRegistry::get() {
  static OpRegistry* r = new OpRegistry();
  return *r;
}

OpRegistry::OpRegistry() {
  const char* env = std::getenv("TESSERA_FALLBACK");
  if (env && std::string(env) == "cpu") fallback_ = FallbackPolicy::cpu;
}

void OpRegistry::add_op(OpDef def) {
  TESSERA_CHECK(!ops_.count(def.name), "op '{}' declared twice", def.name);
  std::string n = def.name;
  ops_.emplace(n, std::move(def));
}

void OpRegistry::add_kernel(const std::string& op, const std::string& backend, KernelFn fn, SupportsFn supports) {
  TESSERA_CHECK(!kernels_[op].count(backend), "kernel for op '{}' registered twice on backend '{}'", op, backend);
  kernels_[op][backend] = Kernel{std::move(fn), std::move(supports)};
}

const OpDef& OpRegistry::op(const std::string& name) const {
  auto it = ops_.find(name);
  if (it == ops_.end()) fail("unknown op '{}' (see `tessera ops` for the list)", name);
  return it->second;
}

void OpRegistry::set_split(const std::string& op, SplitFn fn) {
  TESSERA_CHECK(!splits_.count(op), "split of op '{}' declared twice", op);
  splits_[op] = std::move(fn);
}

const SplitFn* OpRegistry::split(const std::string& op) const {
  auto it = splits_.find(op);
  return it == splits_.end() ? nullptr : &it->second;
}

bool OpRegistry::has_op(const std::string& name) const { return ops_.count(name) != 0; }

std::vector<std::string> OpRegistry::op_names() const {
  std::vector<std::string> out;
  for (auto& kv : ops_) out.push_back(kv.first);
  return out;
}

bool OpRegistry::has_kernel(const std::string& op, const std::string& backend) const {
  auto it = kernels_.find(op);
  return it != kernels_.end() && it->second.count(backend);
}

std::vector<std::string> OpRegistry::kernel_backends(const std::string& op) const {
  std::vector<std::string> out;
  auto it = kernels_.find(op);
  if (it != kernels_.end())
    for (auto& kv : it->second) out.push_back(kv.first);
  return out;
}

std::vector<std::pair<std::string, std::string>> OpRegistry::orphan_kernels() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [op, m] : kernels_)
    if (!ops_.count(op))
      for (auto& kv : m) out.emplace_back(op, kv.first);
  return out;
}

std::vector<TensorDesc> descs_of(const std::vector<Tensor>& ts) {
  std::vector<TensorDesc> d;
  for (auto& t : ts) d.push_back({t.shape(), t.dtype()});
  return d;
}

std::vector<Tensor> OpRegistry::call(const std::string& name, std::vector<Tensor> in, const Attrs& attrs) {
  const OpDef& def = op(name);
  TESSERA_CHECK(!in.empty(), "op '{}' called without inputs", name);
  for (auto& t : in) TESSERA_CHECK(t.defined(), "op '{}': an input tensor is undefined", name);
  auto outs = def.infer(descs_of(in), attrs);
  OpArgs args;
  args.attrs = attrs;
  Device& dev = in[0].device();
  for (auto& d : outs) args.out.push_back(Tensor::empty(d.shape, d.dtype, dev));
  args.in = std::move(in);
  dispatch(name, args);
  return std::move(args.out);
}

std::string OpRegistry::kernel_supports(const std::string& op, const Device& dev, const OpArgs& args) const {
  auto it = kernels_.find(op);
  if (it == kernels_.end() || !it->second.count(dev.backend()))
    return fmt::format("op '{}' has no kernel on backend '{}'", op, dev.backend());
  auto& k = it->second.at(dev.backend());
  return k.supports ? k.supports(dev, args) : "";
}

// Why an op without a declared split cannot take tensors beyond the device's limits.
static std::string no_windows_reason(const std::string& op, const Device& dev) {
  return fmt::format("a tensor is larger than one kernel binding ({}) or one allocation ({}) on {}, and '{}' cannot "
                     "run in row windows; use smaller tensors",
                     human_bytes(dev.info().max_binding_bytes), human_bytes(dev.info().max_alloc_bytes), dev.id(), op);
}

std::string OpRegistry::supports(const std::string& op, const Device& dev, const OpArgs& args) const {
  // Tensors beyond one binding / allocation run in row windows when the op
  // splits; the kernel's predicate then judges each window in dispatch().
  if (has_kernel(op, dev.backend()) && needs_windows(dev, args)) return split(op) ? "" : no_windows_reason(op, dev);
  return kernel_supports(op, dev, args);
}

static std::string args_desc(const OpArgs& a) {
  std::string s;
  for (auto& t : a.in) s += (s.empty() ? "" : ", ") + t.desc();
  if (!a.attrs.str().empty()) s += "; " + a.attrs.str();
  return s;
}

void OpRegistry::dispatch(const std::string& name, OpArgs& args) {
  op(name);  // unknown op -> error
  TESSERA_CHECK(!args.in.empty() || !args.out.empty(), "op '{}' dispatched without tensors", name);
  Device& dev = args.in.empty() ? args.out[0].device() : args.in[0].device();
  for (auto* list : {&args.in, &args.out})
    for (auto& t : *list)
      TESSERA_CHECK(!t.defined() || &t.device() == &dev,
                    "op '{}': tensor {} is not on {} like the first input; move it with .to(device)", name, t.desc(),
                    dev.id());
  // Nothing to compute when every output is empty (e.g. [0, 3] + [3]): no kernel runs.
  bool all_empty = !args.out.empty();
  for (auto& t : args.out) all_empty = all_empty && t.numel() == 0;
  if (all_empty) return;
  if (needs_windows(dev, args)) {
    const SplitFn* sp = split(name);
    TESSERA_CHECK(sp != nullptr, "op '{}' on {} ({}) for ({}): {}", name, dev.id(), dev.info().name,
                  args_desc(args), no_windows_reason(name, dev));
    run_in_windows(name, *sp, dev, args, [&](OpArgs& w) { dispatch_one(name, dev, w); });
    return;
  }
  dispatch_one(name, dev, args);
}

// Runs one call whose tensors fit the device (dispatch() windows the others).
void OpRegistry::dispatch_one(const std::string& name, Device& dev, OpArgs& args) {
  std::string why = kernel_supports(name, dev, args);
  if (why.empty()) {
    kernels_.at(name).at(dev.backend()).fn(dev, args);
    return;
  }
  if (fallback_ != FallbackPolicy::cpu || dev.backend() == "cpu")
    fail("op '{}' is not supported on {} ({}) for ({}): {}. Run it on another backend or enable the CPU fallback "
         "(--fallback cpu / TESSERA_FALLBACK=cpu).",
         name, dev.id(), dev.info().name, args_desc(args), why);
  // Explicit, logged CPU fallback.
  Device& cpu = BackendRegistry::get().cpu();
  OpArgs c;
  c.attrs = args.attrs;
  for (auto& t : args.in) c.in.push_back(t.defined() ? t.to(cpu) : t);
  for (auto& t : args.out) c.out.push_back(Tensor::empty(t.shape(), t.dtype(), cpu));
  std::string why_cpu = kernel_supports(name, cpu, c);
  TESSERA_CHECK(why_cpu.empty(), "op '{}' unsupported on {} ({}) and on the CPU fallback ({})", name, dev.id(), why,
                why_cpu);
  warn_once("fallback:" + name + ":" + dev.backend(),
            fmt::format("op '{}' falls back to the CPU on {} ({}); this is slow", name, dev.id(), why));
  kernels_.at(name).at("cpu").fn(cpu, c);
  for (size_t i = 0; i < args.out.size(); ++i) {
    std::vector<char> host(c.out[i].nbytes());
    c.out[i].copy_to_host(host.data());
    args.out[i].copy_from_host(host.data());
  }
}

}  // namespace tessera
