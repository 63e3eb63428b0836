#include "ops/parity.hpp"

#include <chrono>
#include <cmath>
#include <algorithm>
#include <random>

#include "core/error.hpp"

namespace tessera {

uint64_t parity_seed(const std::string& op, const std::string& label, uint64_t base) {
  uint64_t h = 1469598103934665603ull ^ base;  // FNV-1a
  for (char c : op + "/" + label) {
    h ^= uint8_t(c);
    h *= 1099511628211ull;
  }
  return h;
}

double nmse(const std::vector<double>& out, const std::vector<double>& ref) {
  long double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    long double d = (long double)out[i] - ref[i];
    num += d * d;
    den += (long double)ref[i] * ref[i];
  }
  return double(den > 0 ? num / den : num);
}

static uint32_t poison_pattern(DType t) {
  switch (t) {
    case DType::f32: return 0x7fc00000u;  // quiet NaN
    case DType::f16: return 0x7e007e00u;  // NaN, NaN
    case DType::bf16: return 0x7fc07fc0u;
    default: return 0xdeadbeefu;
  }
}

std::vector<HostTensor> run_reference(const std::string& op, const std::vector<HostTensor>& in, const Attrs& attrs) {
  const OpDef& def = OpRegistry::get().op(op);
  std::vector<TensorDesc> d;
  for (const auto& h : in) d.push_back({h.shape, h.dtype});
  std::vector<HostTensor> out;
  for (const auto& od : def.infer(d, attrs))
    out.push_back({od.shape, od.dtype, std::vector<double>(size_t(shape_numel(od.shape)), 0.0)});
  def.reference(in, out, attrs);
  return out;
}

ParityResult run_parity_case(Device& dev, const OpDef& def, const TestCase& c, uint64_t seed) {
  ParityResult r;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(c.lo, c.hi);
  std::vector<HostTensor> hin;
  OpArgs args;
  args.attrs = c.attrs;
  for (size_t ii = 0; ii < c.inputs.size(); ++ii) {
    const auto& d = c.inputs[ii];
    const std::vector<double>* fixed = ii < c.values.size() && !c.values[ii].empty() ? &c.values[ii] : nullptr;
    HostTensor h{d.shape, d.dtype, std::vector<double>(size_t(shape_numel(d.shape)))};
    TESSERA_CHECK(!fixed || fixed->size() == h.data.size(), "test case {}: fixed input {} has {} values, shape {}",
                  c.label, ii, fixed ? fixed->size() : 0, shape_str(d.shape));
    for (size_t i = 0; i < h.data.size(); ++i) h.data[i] = fixed ? (*fixed)[i] : dist(rng);
    hin.push_back(std::move(h));
  }
  if (c.generate) c.generate(rng, hin);
  std::vector<TensorDesc> in_desc;
  for (auto& h : hin) {
    TESSERA_CHECK(shape_numel(h.shape) == int64_t(h.data.size()), "test case {}: generated input has {} values, shape {}",
                  c.label, h.data.size(), shape_str(h.shape));
    std::vector<char> raw(h.data.size() * dtype_size(h.dtype));
    for (size_t i = 0; i < h.data.size(); ++i) {
      store_from_double(raw.data(), h.dtype, i, h.data[i]);
      h.data[i] = load_as_double(raw.data(), h.dtype, i);  // the reference sees the rounded value
    }
    args.in.push_back(Tensor::from_host(raw.data(), h.shape, h.dtype, dev));
    in_desc.push_back({h.shape, h.dtype});
  }
  auto outs = def.infer(in_desc, c.attrs);
  std::vector<HostTensor> href;
  for (auto& d : outs) {
    href.push_back({d.shape, d.dtype, std::vector<double>(size_t(shape_numel(d.shape)), 0.0)});
    Tensor t = Tensor::empty(d.shape, d.dtype, dev);
    size_t bytes = (t.nbytes() + 3) & ~size_t(3);
    if (bytes) dev.fill(t.buffer(), t.offset_bytes(), std::min(bytes, t.buffer().size() - t.offset_bytes()),
                        poison_pattern(d.dtype));
    args.out.push_back(t);
  }
  r.message = OpRegistry::get().supports(def.name, dev, args);
  if (!r.message.empty()) {
    r.supported = false;
    return r;
  }
  // Row sampling: the reference computes (and the check compares) only these rows.
  std::vector<int64_t> rows;
  Attrs ref_attrs = c.attrs;
  if (c.sample_rows > 0 && !outs.empty() && !outs[0].shape.empty()) {
    int64_t n0 = outs[0].shape[0];
    std::uniform_int_distribution<int64_t> pick(0, n0 - 1);
    rows = {0, n0 - 1};  // always the first and the ragged last row
    while (int64_t(rows.size()) < std::min(c.sample_rows, n0)) rows.push_back(pick(rng));
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    ref_attrs.set("__rows", rows);
  }
  def.reference(hin, href, ref_attrs);
  dev.synchronize();
  auto t0 = std::chrono::steady_clock::now();
  OpRegistry::get().dispatch(def.name, args);
  dev.synchronize();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.passed = true;
  if (def.check) {
    std::vector<HostTensor> hgot;
    for (size_t o = 0; o < outs.size(); ++o) hgot.push_back({outs[o].shape, outs[o].dtype, args.out[o].to_double()});
    std::string why = def.check(hin, hgot, href, ref_attrs);
    r.passed = why.empty();
    r.message = why.empty() ? "custom check passed" : why;
    return r;
  }
  std::string detail;
  for (size_t o = 0; o < outs.size(); ++o) {
    auto got = args.out[o].to_double();
    const auto& ref = href[o].data;
    int64_t bad = 0;
    std::vector<double> g2, r2;
    g2.reserve(got.size());
    r2.reserve(got.size());
    const int64_t row_len = outs[o].shape.empty() || outs[o].shape[0] == 0 ? 1 : int64_t(got.size()) / outs[o].shape[0];
    std::vector<char> in_sample(rows.empty() ? 0 : got.size(), 0);
    for (int64_t rr : rows) std::fill(in_sample.begin() + rr * row_len, in_sample.begin() + (rr + 1) * row_len, 1);
    for (size_t i = 0; i < got.size(); ++i) {
      if (!rows.empty() && !in_sample[i]) {  // outside the sample: only the poison check
        if (!std::isfinite(got[i])) bad++;
        continue;
      }
      bool rf = std::isfinite(ref[i]);
      if (!rf) {
        // Reference is +-inf/NaN (e.g. a cast overflow): the kernel must agree exactly.
        bool same = std::isnan(ref[i]) ? std::isnan(got[i]) : got[i] == ref[i];
        if (!same) bad++;
        continue;
      }
      if (!std::isfinite(got[i])) {
        bad++;
        continue;
      }
      g2.push_back(got[i]);
      r2.push_back(ref[i]);
      r.max_abs_err = std::max(r.max_abs_err, std::abs(got[i] - ref[i]));
    }
    double e = nmse(g2, r2);
    double tol = def.tolerance(outs[o].dtype, in_desc, c.attrs);
    r.nmse = std::max(r.nmse, e);
    r.tolerance = tol;
    r.nonfinite += bad;
    if (bad || e > tol) r.passed = false;
    detail += fmt::format("{}out{}: nmse={:.3g} (tol {:.1g}) max_abs={:.3g} nonfinite={}", o ? "; " : "", o, e, tol,
                          r.max_abs_err, bad);
  }
  r.message = detail;
  return r;
}

}  // namespace tessera
