// OpenCL sdpa (kernels/attention.cl): flash-style tiles with an online
// softmax, f32 scores and accumulators, O(rows) memory. Dense [B, N, H, D]
// and varlen [T, H, D] + cu_seqlens (i32), grouped-query heads.
//
// Variants by head dim (max of D and Dv): <= 64, <= 128, <= 256; larger head
// dims are declined by supports(). Varlen: a one-group kernel turns
// cu_seqlens_q into per-sequence block offsets on the device (no host
// round-trip); the attention launch covers the upper bound ceil(Tq / BQ) + S
// blocks and surplus groups exit at once.
#include <algorithm>

#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/attention.hpp"

namespace tessera::opencl {
namespace {

struct Variant {
  const char* name;
  int64_t max_dim;
  uint64_t bq;       // query rows per work-group
  size_t local;      // items per work-group
  uint64_t local_mem;  // bytes of local memory
};

// Must match the TS_DEFINE_SDPA instances in kernels/attention.cl.
constexpr Variant kVariants[] = {
    {"v64", 64, 64, 64, (64 * 16 + 64 * 16) * 16 + 4},
    {"v128", 128, 64, 128, (32 * 32 + 32 * 32) * 16 + 64 * 16 * 2 * 4},
    {"v256", 256, 32, 128, (16 * 64 + 16 * 64) * 16 + 32 * 16 * 4 * 4},
};

const Variant* pick(int64_t D, int64_t Dv) {
  for (const auto& v : kVariants)
    if (std::max(D, Dv) <= v.max_dim) return &v;
  return nullptr;
}

void sdpa(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  std::vector<Shape> shapes;
  for (auto& t : a.in) shapes.push_back(t.shape());
  const ops::SdpaDims sd = ops::sdpa_dims(shapes, a.attrs);
  const Tensor &q = a.in[0], &k = a.in[1], &v = a.in[2];
  Tensor& out = a.out[0];
  if (out.numel() == 0) return;
  const Variant* var = pick(sd.D, sd.Dv);
  TESSERA_CHECK(var, "op 'sdpa' on {}: head dims D={} Dv={} exceed 256", dev.id(), sd.D, sd.Dv);
  const std::string dt = dtype_name(q.dtype());
  const uint64_t B = uint64_t(sd.B), Nq = uint64_t(sd.Nq), Nk = uint64_t(sd.Nk), bq = var->bq;

  TempBuffer blocks;
  uint64_t groups, qblocks = 1;
  if (sd.varlen) {
    blocks = temp_buffer(dev, size_t(B + 1) * 4);
    Launch pre(dev, "attention", "sdpa_blocks");
    const size_t local = pre.pow2_local(256);
    pre.tensor(a.in[3]).arg(cl_uint(B)).arg(cl_ulong(Nq)).arg(cl_uint(bq)).arg(blocks.mem).run_groups(1, 1, local);
    groups = (Nq + bq - 1) / bq + B;
  } else {
    qblocks = (Nq + bq - 1) / bq;
    groups = B * qblocks;
  }
  const Tensor& cq = sd.varlen ? a.in[3] : q;
  const Tensor& ck = sd.varlen ? a.in[4] : q;
  Launch l(dev, "attention", fmt::format("sdpa_{}_{}", var->name, dt));
  l.tensor(q).tensor(k).tensor(v).tensor(out);
  if (sd.varlen) {
    l.tensor(cq).tensor(ck).arg(blocks.mem);
  } else {
    // Unused by the dense path; any valid buffers.
    l.buffer(mem_of(q), 0).buffer(mem_of(q), 0).arg(mem_of(q));
  }
  l.arg(cl_int(sd.varlen))
      .arg(cl_uint(B))
      .arg(cl_ulong(Nq))
      .arg(cl_ulong(Nk))
      .arg(cl_uint(sd.H))
      .arg(cl_uint(sd.Hk))
      .arg(cl_uint(sd.D))
      .arg(cl_uint(sd.Dv))
      .arg(cl_float(sd.scale))
      .arg(cl_ulong(qblocks))
      .run_groups(groups, uint64_t(sd.H), var->local);
}

std::string supports(const Device& dev, const OpArgs& a) {
  const Tensor& q = a.in[0];
  if (!dtype_is_float(q.dtype())) return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(q.dtype()));
  if (a.in[1].dtype() != q.dtype() || a.in[2].dtype() != q.dtype() || a.out[0].dtype() != q.dtype())
    return "q, k, v and the output must share one dtype";
  if (a.in.size() == 5 && (a.in[3].dtype() != DType::i32 || a.in[4].dtype() != DType::i32))
    return "cu_seqlens must be i32";
  if (a.attrs.get_str("acc", "f32") != "f32") return "only f32 accumulation";
  std::vector<Shape> shapes;
  for (auto& t : a.in) shapes.push_back(t.shape());
  const ops::SdpaDims sd = ops::sdpa_dims(shapes, a.attrs);
  const Variant* var = pick(sd.D, sd.Dv);
  if (!var) return fmt::format("head dim D={} / Dv={}: the OpenCL kernels handle head dims up to 256", sd.D, sd.Dv);
  if (sd.H >= (int64_t(1) << 31) || sd.B >= (int64_t(1) << 31)) return "more than 2^31 heads or sequences";
  std::string why = supports_common(dev, a);
  if (!why.empty()) return why;
  const ClDevice& cd = as_cl(dev);
  if (cd.limits().local_mem_bytes < var->local_mem)
    return fmt::format("head dim {} needs {} bytes of local memory; {} has {}", std::max(sd.D, sd.Dv),
                       var->local_mem, dev.id(), cd.limits().local_mem_bytes);
  if (cd.limits().max_work_group_size < var->local)
    return fmt::format("needs work-groups of {} items; {} allows {}", var->local, dev.id(),
                       cd.limits().max_work_group_size);
  return "";
}

TESSERA_REGISTER_KERNEL("sdpa", "opencl", sdpa, supports);

}  // namespace
}  // namespace tessera::opencl
