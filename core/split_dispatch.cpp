#include "core/split_dispatch.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/segmented_buffer.hpp"

namespace tessera {

namespace {

std::atomic<uint64_t> g_windowed{0};

// Bytes a binding may lose to offset alignment (minStorageBufferOffsetAlignment <= 256).
constexpr uint64_t kAlignSlack = 256;

uint64_t binding_budget(const Device& dev) {
  const uint64_t lim = dev.info().max_binding_bytes;
  return lim > kAlignSlack ? lim - kAlignSlack : 0;
}

bool straddles(const Tensor& t) {
  auto* s = as_segmented(t.buffer());
  if (!s || t.nbytes() == 0) return false;
  const size_t seg = s->segment_bytes();
  return t.offset_bytes() / seg != (t.offset_bytes() + t.nbytes() - 1) / seg;
}

bool too_big(const Device& dev, const Tensor& t) {
  return t.defined() && (uint64_t(t.nbytes()) > binding_budget(dev) || straddles(t));
}

// The same bytes as a tensor on the segment holding them (kernels never see
// a SegmentedBuffer).
Tensor on_segment(const Tensor& t) {
  if (!t.defined() || !as_segmented(t.buffer())) return t;
  auto [buf, off] = segment_for(t.buffer_ptr(), t.offset_bytes(), t.nbytes());
  return Tensor::view(buf, off, t.shape(), t.dtype());
}

}  // namespace

std::string human_bytes(uint64_t b) {
  if (b >= (uint64_t(1) << 30)) return fmt::format("{:.2f} GiB", b / 1073741824.0);
  if (b >= (uint64_t(1) << 20)) return fmt::format("{:.1f} MiB", b / 1048576.0);
  return fmt::format("{:.1f} KiB", b / 1024.0);
}

uint64_t debug_limit(const char* name, uint64_t driver) {
  const char* e = std::getenv(name);
  if (!e || !*e) return driver;
  char* end = nullptr;
  double v = std::strtod(e, &end);
  std::string unit = end ? std::string(end) : "";
  double mul = unit.empty() ? 1 : unit == "K" || unit == "k" ? 1024.0 : unit == "M" || unit == "m" ? 1048576.0
                                : unit == "G" || unit == "g"   ? 1073741824.0
                                                               : -1;
  TESSERA_CHECK(end != e && mul > 0 && v * mul >= 1024,
                "{}='{}': expected a byte count of at least 1024, optionally with K, M or G", name, e);
  return std::min<uint64_t>(driver, uint64_t(v * mul));
}

bool needs_windows(const Device& dev, const OpArgs& args) {
  for (auto* list : {&args.in, &args.out})
    for (auto& t : *list)
      // A segmented tensor needs a window even when it fits one binding: kernels never see segments.
      if (t.defined() && (t.nbytes() > binding_budget(dev) || as_segmented(t.buffer()))) return true;
  return false;
}

uint64_t windowed_dispatch_count() { return g_windowed.load(); }

void run_in_windows(const std::string& op, const SplitFn& split, Device& dev, OpArgs& args,
                    const std::function<void(OpArgs&)>& run_one) {
  const size_t ni = args.in.size(), no = args.out.size();
  std::vector<int> dims = split(args);
  auto where = [&](size_t i) { return i < ni ? fmt::format("input {}", i) : fmt::format("output {}", i - ni); };
  auto tensor = [&](size_t i) -> Tensor& { return i < ni ? args.in[i] : args.out[i - ni]; };
  TESSERA_CHECK(!dims.empty(),
                "op '{}' on {}: its tensors exceed one kernel binding ({}) or one allocation, and these "
                "arguments cannot run in row windows",
                op, dev.id(), human_bytes(dev.info().max_binding_bytes));
  TESSERA_CHECK(dims.size() == ni + no, "op '{}': split declares {} tensors, the call has {}", op, dims.size(),
                ni + no);
  const uint64_t budget = binding_budget(dev);
  int64_t extent = -1;
  uint64_t max_rows = UINT64_MAX;
  std::vector<uint64_t> row(dims.size(), 0);  // bytes per row of each cut tensor (0: read whole)
  for (size_t i = 0; i < dims.size(); ++i) {
    const Tensor& t = tensor(i);
    if (!t.defined()) continue;
    TESSERA_CHECK(t.is_contiguous(), "op '{}' on {}: {} {} is not contiguous (row windows need contiguous tensors)",
                  op, dev.id(), where(i), t.desc());
    const int d = dims[i];
    if (d < 0) {
      TESSERA_CHECK(!too_big(dev, t),
                    "op '{}' on {}: {} {} ({}) is read whole by every row window but exceeds one kernel "
                    "binding ({}) or one allocation segment",
                    op, dev.id(), where(i), t.desc(), human_bytes(t.nbytes()), human_bytes(budget));
      continue;
    }
    TESSERA_CHECK(d < t.ndim(), "op '{}': split dim {} of {} {} is out of range", op, d, where(i), t.desc());
    for (int j = 0; j < d; ++j)
      TESSERA_CHECK(t.shape()[j] == 1, "op '{}': {} {} is cut along dim {} but dim {} has extent {}", op, where(i),
                    t.desc(), d, j, t.shape()[j]);
    if (extent < 0) extent = t.shape()[d];
    TESSERA_CHECK(t.shape()[d] == extent, "op '{}': {} {} is cut along dim {} of extent {}, others of extent {}", op,
                  where(i), t.desc(), d, t.shape()[d], extent);
    if (extent == 0) continue;
    row[i] = t.nbytes() / uint64_t(extent);
    TESSERA_CHECK(row[i] <= budget,
                  "op '{}' on {}: one row of {} {} ({} bytes) exceeds one kernel binding ({} bytes)", op, dev.id(),
                  where(i), t.desc(), row[i], budget);
    if (row[i] > 0) max_rows = std::min<uint64_t>(max_rows, budget / row[i]);
  }
  TESSERA_CHECK(extent >= 0, "op '{}': split cuts no tensor", op);
  uint64_t windows = 0;
  for (int64_t r0 = 0; r0 < extent;) {
    int64_t r1 = int64_t(std::min<uint64_t>(uint64_t(extent), uint64_t(r0) + max_rows));
    // Stop at the next segment boundary of every cut tensor.
    for (size_t i = 0; i < dims.size(); ++i) {
      const Tensor& t = tensor(i);
      if (row[i] == 0) continue;
      auto* s = as_segmented(t.buffer());
      if (!s) continue;
      const uint64_t start = t.offset_bytes() + uint64_t(r0) * row[i];
      const uint64_t seg_end = (start / s->segment_bytes() + 1) * s->segment_bytes();
      const int64_t fit = int64_t((seg_end - start) / row[i]);
      TESSERA_CHECK(fit > 0,
                    "op '{}' on {}: row {} of {} {} straddles two allocation segments (the tensor was allocated "
                    "with another row size; allocate it in this shape)",
                    op, dev.id(), r0, where(i), t.desc());
      r1 = std::min(r1, r0 + fit);
    }
    OpArgs w;
    w.attrs = args.attrs;
    for (size_t i = 0; i < dims.size(); ++i) {
      const Tensor& t = tensor(i);
      Tensor v = t;
      if (t.defined() && dims[i] >= 0) {
        Shape sh = t.shape();
        sh[size_t(dims[i])] = r1 - r0;
        v = Tensor::view(t.buffer_ptr(), t.offset_bytes() + uint64_t(r0) * row[i], sh, t.dtype());
      }
      (i < ni ? w.in : w.out).push_back(on_segment(v));
    }
    run_one(w);
    ++windows;
    r0 = r1;
  }
  g_windowed += windows;
  TLOG_DEBUG("op '{}' on {}: {} row windows", op, dev.id(), windows);
}

namespace split {

int first_dim(const Shape& s, bool keep_last) {
  const int n = int(s.size()) - (keep_last ? 1 : 0);
  for (int i = 0; i < n; ++i)
    if (s[size_t(i)] > 1) return i;
  return n > 0 ? 0 : -1;
}

SplitFn broadcast(bool keep_last) {
  return [keep_last](const OpArgs& a) -> std::vector<int> {
    if (a.out.empty()) return {};
    const Shape& o = a.out[0].shape();
    const int d = first_dim(o, keep_last);
    if (d < 0) return {};
    std::vector<int> dims;
    for (auto& t : a.in) {
      if (!t.defined()) {
        dims.push_back(-1);
        continue;
      }
      const int k = d - (int(o.size()) - t.ndim());  // aligned dimension of this input
      if (k < 0 || (t.shape()[size_t(k)] == 1 && o[size_t(d)] != 1)) {
        dims.push_back(-1);  // broadcast along the cut: every window reads it whole
      } else {
        if (t.shape()[size_t(k)] != o[size_t(d)]) return {};
        dims.push_back(k);
      }
    }
    for (auto& t : a.out) {
      if (t.shape() != o) return {};
      dims.push_back(d);
    }
    return dims;
  };
}

SplitFn rows(std::vector<int> cut_inputs) {
  return [cut_inputs](const OpArgs& a) -> std::vector<int> {
    if (a.out.empty()) return {};
    const int d = first_dim(a.out[0].shape(), true);
    if (d < 0) return {};
    std::vector<int> dims(a.in.size(), -1);
    for (int i : cut_inputs)
      if (size_t(i) < a.in.size() && a.in[size_t(i)].defined()) dims[size_t(i)] = d;
    for (size_t i = 0; i < a.out.size(); ++i) dims.push_back(d);
    return dims;
  };
}

}  // namespace split
}  // namespace tessera
