// Vulkan sdpa: flash attention, never materialising the score matrix.
//   attention_dv{64,128,256}  portable shared-memory kernel (any device; f32,
//                             f16, bf16 storage; any q/k head dim, value head
//                             dim up to 256): shaders/attention.comp
//   attention_coopmat_nv_hd{64,128}_<variant>
//                             tensor cores (VK_NV_cooperative_matrix, NVIDIA)
//                             for f16 q/k/v with D = Dv = 64 or 128: f16
//                             fragments, f32 accumulators, softmax in
//                             registers on the score fragments, P rounded to
//                             f16 for P V: shaders/attention_coopmat_nv.comp.
//                             bf16 (NV coopmat v1 has no bf16 fragments) runs
//                             there too, each head scaled by a power of two
//                             into f16's range (bf16_scaling.hpp: absmax.comp
//                             finds each head's largest magnitude; k and v are
//                             copied to scaled f16 first, q is converted while
//                             staged; TESSERA_VK_SDPA_KV=inline converts k / v
//                             in the kernel too, as when the copies would not
//                             fit the device's limits).
// TESSERA_VK_SDPA=portable|coopmat forces a path where it can run;
// coopmat_emu runs the coopmat kernel's functional model (same fragment
// layout and softmax, products emulated) on any device, for tests.
// Dense [B, N, H, D] and varlen [T, H, D] + cu_seqlens (read on the device),
// grouped-query attention, f32 scores / softmax statistics / accumulation.
// Long jobs are split into launches of a bounded amount of work with a
// submit between them, so that no single command batch runs for long (fence
// waits are bounded by TESSERA_VK_TIMEOUT_S).
#include <algorithm>
#include <cstdlib>

#include "backends/vulkan/bf16_scaling.hpp"
#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/attention.hpp"

namespace tessera::vk {
namespace {

constexpr uint64_t kBQ = 64;  // query rows per workgroup (attention.comp; coopmat: 16 per subgroup)

struct AttnPush {
  uint32_t B, Tq, Tk, Nq, Nk, H, Hk, D, Dv;
  uint32_t q_off, k_off, v_off, o_off, cq_off, ck_off;
  float scale;
  uint32_t tile_base, tile_x0, tile_y0;
  uint32_t am_off;  // coopmat bf16: element offset of the per-head magnitudes in binding 6
};

ops::SdpaDims dims_of(const OpArgs& a) {
  std::vector<Shape> shapes;
  for (auto& t : a.in) shapes.push_back(t.shape());
  return ops::sdpa_dims(shapes, a.attrs);
}

std::string forced_path() {
  const char* e = std::getenv("TESSERA_VK_SDPA");
  return e ? e : "";
}

// Variants of attention_coopmat_nv.comp (CMakeLists.txt builds the same list):
// keys per tile, subgroups per workgroup, blocks of 16 query rows per
// subgroup, K / V double-buffered in shared. A variant not built for a head dim (or over the
// device's shared memory) leaves the job to the portable kernel.
// SDPA_NOTES.md has the tuning log.
struct CmVariant {
  const char* tag;
  uint32_t bkv, nsg, db, mb = 1;
  uint32_t rows() const { return 16 * mb * nsg; }  // query rows per workgroup
};
constexpr CmVariant kCmVariants[] = {
    {"k32w8_db", 32, 8, 1},      {"k64w8", 64, 8, 0},        {"k32w8", 32, 8, 0},        {"k64w4", 64, 4, 0},
    {"k32w6_db", 32, 6, 1},      {"k64w6", 64, 6, 0},        {"k32w16_db", 32, 16, 1},  // k32w16_db: hd64 only
    {"k32w8r2_db", 32, 8, 1, 2}};  // 32 query rows per subgroup: hd64 only
// The functional model (EMULATE builds, lavapipe's 32 KiB of shared memory), shaped like each head dim's
// default: hd64 double-buffered with 32 rows per subgroup, hd128 with 16 (and single-buffered, so that
// both K / V schemes are exercised there).
constexpr CmVariant kCmEmu64{"emu", 32, 2, 1, 2}, kCmEmu128{"emu", 32, 4, 0};
const CmVariant& cm_emu(int64_t hd) { return hd == 64 ? kCmEmu64 : kCmEmu128; }
// Default per head dim (SDPA_NOTES.md).
const char* cm_default(int64_t hd) { return hd == 64 ? "k32w8r2_db" : "k32w8_db"; }

// Shared memory of a variant (bytes): K and V tiles (x2 double-buffered) or the Q / out staging, padded rows.
uint64_t cm_shared(const CmVariant& v, uint64_t hd, bool emu) {
  const uint64_t rpv = (hd + 8) / 8, kv = (v.db + 1) * 2 * v.bkv * rpv, qv = v.rows() * rpv;
  return 16 * (std::max(kv, qv) + (emu ? v.rows() * v.bkv / 4 : 0)) + (emu ? 4 * (32 * v.nsg + v.nsg) : 0);
}

struct CmPick {
  std::string shader;  // "" when the coopmat kernel cannot run
  CmVariant var{};
};

// The coopmat kernel's shader for these dims on this device.
// TESSERA_VK_SDPA_CM=<tag> picks a variant of kCmVariants (tuning).
CmPick coopmat_shader(const Context& c, const ops::SdpaDims& dm, DType t, const std::string& force) {
  if ((t != DType::f16 && t != DType::bf16) || dm.D != dm.Dv || (dm.D != 64 && dm.D != 128)) return {};
  const std::string hd = std::to_string(dm.D);
  if (force == "coopmat_emu") {
    const std::string name = "attention_coopmat_emu_hd" + hd;
    const CmVariant& emu = cm_emu(dm.D);
    if (!find_spirv(name) || cm_shared(emu, uint64_t(dm.D), true) > c.max_shared) return {};
    return {name, emu};
  }
  if (force == "portable") return {};
  const char* e = std::getenv("TESSERA_VK_SDPA_CM");
  const std::string tag = e && *e ? e : cm_default(dm.D);
  const CmVariant* var = nullptr;
  for (auto& v : kCmVariants) var = tag == v.tag ? &v : var;
  TESSERA_CHECK(var, "op 'sdpa' (vulkan): TESSERA_VK_SDPA_CM={} names no coopmat variant", tag);
  const std::string name = "attention_coopmat_nv_hd" + hd + "_" + var->tag;
  // The kernel assumes NVIDIA's fragment element layout (checked on the device: NaN otherwise).
  if (!find_spirv(name) || !c.coopmat_nv || !c.float16 || c.subgroup_size != 32 || !c.subgroup_shuffle_vote ||
      c.props.vendorID != 0x10DE)
    return {};
  bool shape = false;
  for (auto& s : c.coopmat_f16) shape = shape || (s.m == 16 && s.n == 16 && s.k == 16);
  if (!shape || cm_shared(*var, uint64_t(dm.D), false) > c.max_shared) return {};
  return {name, *var};
}

uint32_t dv_variant(int64_t Dv) { return Dv <= 64 ? 64 : Dv <= 128 ? 128 : Dv <= 256 ? 256 : 0; }

// Per-head largest bf16 magnitudes of q, k and v (slots [0, H), [H, H + Hk), [H + Hk, H + 2 Hk)) for the
// bf16 coopmat path's power-of-two scaling.
Tensor head_absmax(VulkanDevice& dev, const ops::SdpaDims& dm, uint64_t Tq, uint64_t Tk, const TensorArg& aq,
                   const TensorArg& ak, const TensorArg& av) {
  Tensor m = absmax_slots(dev, dm.H + 2 * dm.Hk);
  const TensorArg am = tensor_arg(m, true);
  absmax(dev, aq, Tq, uint64_t(dm.H), uint64_t(dm.D), am, 0);
  absmax(dev, ak, Tk, uint64_t(dm.Hk), uint64_t(dm.D), am, uint64_t(dm.H));
  absmax(dev, av, Tk, uint64_t(dm.Hk), uint64_t(dm.Dv), am, uint64_t(dm.H + dm.Hk));
  return m;
}

void sdpa(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Context& ctx = dev.ctx();
  const auto dm = dims_of(a);
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const Tensor &q = a.in[0], &k = a.in[1], &v = a.in[2];
  auto aq = tensor_arg(q, false), ak = tensor_arg(k, false), av = tensor_arg(v, false), ao = tensor_arg(o, true);
  auto acq = dm.varlen ? tensor_arg(a.in[3], false) : aq;  // dense: never read
  auto ack = dm.varlen ? tensor_arg(a.in[4], false) : aq;
  const uint64_t Tq = dm.varlen ? uint64_t(dm.Nq) : uint64_t(dm.B * dm.Nq);
  const uint64_t Tk = dm.varlen ? uint64_t(dm.Nk) : uint64_t(dm.B * dm.Nk);
  AttnPush pc{uint32_t(dm.B), uint32_t(Tq), uint32_t(Tk), uint32_t(dm.varlen ? 0 : dm.Nq),
              uint32_t(dm.varlen ? 0 : dm.Nk), uint32_t(dm.H), uint32_t(dm.Hk), uint32_t(dm.D), uint32_t(dm.Dv),
              uint32_t(aq.elem_off), uint32_t(ak.elem_off), uint32_t(av.elem_off), uint32_t(ao.elem_off),
              uint32_t(acq.elem_off), uint32_t(ack.elem_off), float(dm.scale), 0, 0, 0, 0};
  std::vector<Binding> binds{aq.bind, ak.bind, av.bind, ao.bind, acq.bind, ack.bind};
  const CmPick cm = coopmat_shader(ctx, dm, q.dtype(), forced_path());
  const bool bf16_cm = !cm.shader.empty() && q.dtype() == DType::bf16;
  Tensor amax, kf, vf;  // bf16 coopmat: per-head magnitudes, scaled f16 k / v (alive until recorded)
  bool kv_f16 = false;
  if (bf16_cm) {
    amax = head_absmax(dev, dm, Tq, Tk, aq, ak, av);
    const TensorArg am = tensor_arg(amax, false);
    pc.am_off = uint32_t(am.elem_off);
    binds.push_back(am.bind);
    const char* kv = std::getenv("TESSERA_VK_SDPA_KV");
    const uint64_t copy_bytes = Tk * uint64_t(dm.Hk) * uint64_t(std::max(dm.D, dm.Dv)) * 2;
    kv_f16 = !(kv && std::string(kv) == "inline") && copy_bytes <= dev.info().max_binding_bytes &&
             copy_bytes <= dev.info().max_alloc_bytes;
    if (kv_f16) {
      kf = scaled_f16_copy(dev, ak, Tk * uint64_t(dm.Hk), uint64_t(dm.D), am, uint64_t(dm.H), uint64_t(dm.Hk));
      vf = scaled_f16_copy(dev, av, Tk * uint64_t(dm.Hk), uint64_t(dm.Dv), am, uint64_t(dm.H + dm.Hk),
                           uint64_t(dm.Hk));
      ak = tensor_arg(kf, false);
      av = tensor_arg(vf, false);
      binds[1] = ak.bind;
      binds[2] = av.bind;
      pc.k_off = uint32_t(ak.elem_off);
      pc.v_off = uint32_t(av.elem_off);
    }
  } else if (!cm.shader.empty()) {
    binds.push_back(aq.bind);  // binding 6, never read for f16
  }
  // Vector loads (4 elements, or 8 halves for coopmat) when every row and tensor start is a
  // multiple of that many elements (and the bindings start 16-byte aligned).
  const uint64_t vec = cm.shader.empty() ? 4 : 8;
  bool aligned = dm.D % vec == 0 && dm.Dv % vec == 0;
  for (auto* t : {&aq, &ak, &av}) aligned = aligned && t->elem_off % vec == 0 && t->bind.offset % 16 == 0;
  const bool oaligned = ao.elem_off % 8 == 0 && ao.bind.offset % 16 == 0;
  const Pipeline& p =
      !cm.shader.empty()
          ? dev.pipelines().get(cm.shader, 7,
                                {{2, uint32_t(dm.varlen)}, {3, uint32_t(aligned)}, {4, uint32_t(oaligned)},
                                 {5, uint32_t(bf16_cm)}, {6, uint32_t(kv_f16)}},
                                32 * cm.var.nsg)
          : dev.pipelines().get("attention_dv" + std::to_string(dv_variant(dm.Dv)), 6,
                                {{1, dtype_code(q.dtype())}, {2, uint32_t(dm.varlen)}, {3, uint32_t(aligned)}}, 256);
  const uint64_t bq = cm.shader.empty() ? kBQ : cm.var.rows();

  // Work per query tile (multiply-adds; the whole key range bounds a varlen
  // tile's keys), and tiles per launch within the budget.
  const uint64_t tiles = (Tq + bq - 1) / bq;
  const uint64_t keys = dm.varlen ? Tk : uint64_t(dm.Nk);
  const uint64_t per_tile = std::max<uint64_t>(1, bq * keys * uint64_t(dm.D + dm.Dv) * uint64_t(dm.H));
  const uint64_t budget = ctx.info.software ? (uint64_t(1) << 33) : (uint64_t(1) << 40);
  const uint64_t chunk = std::clamp<uint64_t>(budget / per_tile, 1, tiles);
  for (uint64_t t0 = 0; t0 < tiles; t0 += chunk) {
    pc.tile_base = uint32_t(t0);
    launch_2d(dev, p, binds, &pc, sizeof(pc), std::min(chunk, tiles - t0), uint64_t(dm.H),
              offsetof(AttnPush, tile_x0), offsetof(AttnPush, tile_y0));
    if (chunk < tiles) dev.stream().flush();
  }
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const auto dm = dims_of(a);
  if (dv_variant(dm.Dv) == 0)
    return fmt::format("value head dim {} exceeds 256 (the flash kernel keeps the output row in registers)", dm.Dv);
  // Per key tile of 64: 1 + ceil(D / 16) + 64 / VCH loop iterations (the longest sequence bounds a varlen one).
  const uint64_t keys = uint64_t(dm.Nk);  // dense: per batch; varlen: all k rows (bounds any tile)
  const uint64_t per_tile = 1 + (uint64_t(dm.D) + 15) / 16 + 64 / (2048 / dv_variant(dm.Dv));
  if (forced_path() == "coopmat_emu" && (a.in[0].dtype() == DType::f16 || a.in[0].dtype() == DType::bf16) &&
      dm.D == dm.Dv && (dm.D == 64 || dm.D == 128)) {
    // The functional model's loop iterations per tile of its bkv keys (its S, P V and softmax loops).
    const CmVariant& emu = cm_emu(dm.D);
    const uint64_t hd = uint64_t(dm.D), bkv = emu.bkv, nj = bkv / 16, mb = emu.mb;
    const uint64_t emu_tile = mb * (nj * 8 * (hd / 16) + (hd / 2) * (bkv / 16) + nj * 8 + hd / 2) + 160;
    return check_loop_budget(d, (keys + bkv - 1) / bkv * emu_tile + 64,
                             "the coopmat_emu attention model over this many keys");
  }
  return check_loop_budget(d, (keys + 63) / 64 * per_tile + 64, "attention over this many keys");
}

TESSERA_REGISTER_KERNEL("sdpa", "vulkan", sdpa, supports);

}  // namespace
}  // namespace tessera::vk
