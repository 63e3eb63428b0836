// Vulkan BVH ops (shaders/bvh_build.comp, shaders/bvh_query.comp;
// docs/geometry-bvh.md). Same algorithms as the OpenCL backend: device
// LBVH build (validation, centroid bounds, Morton codes, 4-bit LSD radix
// sort, Karras nodes, atomic refit + depth), then one invocation per
// point/ray with a stack of depth entries (at most 128). Traversal results go
// through a packed scratch buffer in chunks of kChunk items (the layout
// allows 8 bindings; chunks keep the scratch far below lavapipe's 128 MiB
// binding limit) and are unpacked into the outputs. Device-side errors come
// back in the scratch's first words and are thrown here.
#include <climits>
#include <cstring>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/geometry_bvh.hpp"

namespace tessera::vk {
namespace {

constexpr uint32_t kWG = 256, kQWG = 64;
constexpr uint64_t kChunk = uint64_t(1) << 20;

Binding bind(const Tensor& t, bool write) { return tensor_arg(t, write).bind; }
Tensor scratch(Device& d, int64_t words) { return Tensor::empty({std::max<int64_t>(words, 1)}, DType::i32, d); }
void put_words(VulkanDevice& dev, const Tensor& t, std::vector<uint32_t> w) {
  dev.upload(t.buffer(), t.offset_bytes(), w.data(), w.size() * 4);
}
std::vector<int32_t> get_words(VulkanDevice& dev, const Tensor& t, size_t n) {
  std::vector<int32_t> w(n);
  dev.download(t.buffer(), t.offset_bytes(), w.data(), n * 4);
  return w;
}

struct P1 {  // 1-D kernels: base first (launch_1d)
  uint64_t base;
  uint32_t a, b;
};
struct PG {  // group kernels: (x0, y0) written by launch_2d
  uint32_t n, shift, G, g0, gy0;
};

void bvh_build(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &vt = a.in[0], &ft = a.in[1];
  const uint32_t V = uint32_t(vt.dim(0)), F = uint32_t(ft.dim(0)), G = (F + kWG - 1) / kWG;
  auto& pipes = dev.pipelines();
  auto pipe = [&](const char* k, uint32_t nb) -> const Pipeline& { return pipes.get(std::string("bvh_") + k, nb, {}, kWG); };
  Tensor err = scratch(d, 1);
  put_words(dev, err, {F});
  P1 p1{0, F, V};
  launch_1d(dev, pipe("validate", 2), {bind(ft, false), bind(err, true)}, &p1, sizeof(p1), F);
  const int32_t bad = get_words(dev, err, 1)[0];
  if (bad != int32_t(F)) {
    int32_t tri[3];
    dev.download(ft.buffer(), ft.offset_bytes() + size_t(bad) * 12, tri, 12);
    fail("op 'bvh_build' (vulkan): face {} = ({}, {}, {}) indexes outside the {} vertices", bad, tri[0], tri[1],
         tri[2], V);
  }
  Tensor bounds = scratch(d, 6);
  put_words(dev, bounds, {~0u, ~0u, ~0u, 0u, 0u, 0u});
  PG pg{F, 0, G, 0, 0};
  launch_2d(dev, pipe("bounds", 3), {bind(vt, false), bind(ft, false), bind(bounds, true)}, &pg, sizeof(pg), G, 1,
            offsetof(PG, shift), offsetof(PG, G));  // PC {F, g0, gy0}: x0 at 4, y0 at 8
  Tensor k0 = scratch(d, F), v0 = scratch(d, F), k1 = scratch(d, F), v1 = scratch(d, F), hist = scratch(d, 16 * int64_t(G));
  p1 = {0, F, 0};
  launch_1d(dev, pipe("morton", 5), {bind(vt, false), bind(ft, false), bind(bounds, false), bind(k0, true), bind(v0, true)},
            &p1, sizeof(p1), F);
  Tensor* keys[2] = {&k0, &k1};
  Tensor* vals[2] = {&v0, &v1};
  for (uint32_t shift = 0, s = 0; shift < 32; shift += 4, s ^= 1) {  // 8 passes: the result is back in k0/v0
    PG ph{F, shift, G, 0, 0};
    launch_2d(dev, pipe("hist", 2), {bind(*keys[s], false), bind(hist, true)}, &ph, sizeof(ph), G, 1,
              offsetof(PG, g0), offsetof(PG, gy0));
    PG ps{16 * G, 0, 0, 0, 0};  // PC {m, g0, gy0}
    launch_2d(dev, pipe("scan", 1), {bind(hist, true)}, &ps, sizeof(ps), 1, 1, offsetof(PG, shift), offsetof(PG, G));
    launch_2d(dev, pipe("scatter", 5),
              {bind(*keys[s], false), bind(*vals[s], false), bind(*keys[s ^ 1], true), bind(*vals[s ^ 1], true),
               bind(hist, false)},
              &ph, sizeof(ph), G, 1, offsetof(PG, g0), offsetof(PG, gy0));
  }
  const Tensor &boxes = a.out[0], &nodes = a.out[1], &leaf_face = a.out[2], &depth = a.out[3];
  launch_1d(dev, pipe("leaves", 3), {bind(v0, false), bind(nodes, true), bind(leaf_face, true)}, &p1, sizeof(p1), F);
  launch_1d(dev, pipe("karras", 2), {bind(k0, false), bind(nodes, true)}, &p1, sizeof(p1), F - 1);
  Tensor counters = scratch(d, int64_t(F) - 1);
  dev.fill(counters.buffer(), counters.offset_bytes(), size_t(std::max<uint32_t>(F - 1, 1)) * 4, 0u);
  dev.fill(depth.buffer(), depth.offset_bytes(), 4, 0u);
  const auto& refit = pipes.get("bvh_refit", 6, {{1, dev.info().software ? 0u : 1u}}, kWG);
  launch_1d(dev, refit,
            {bind(vt, false), bind(ft, false), bind(nodes, false), bind(boxes, true), bind(counters, true),
             bind(depth, true)},
            &p1, sizeof(p1), F);
}

int32_t checked_depth(VulkanDevice& dev, const char* op, const OpArgs& a) {
  int32_t depth = 0;
  dev.download(a.in[4].buffer(), a.in[4].offset_bytes(), &depth, 4);
  const int64_t F = a.in[1].dim(0);
  TESSERA_CHECK(depth >= 0 && depth <= 2 * F - 2, "op '{}' (vulkan): depth {} impossible for {} faces", op, depth, F);
  TESSERA_CHECK(depth <= ops::kBvhMaxDepth, "op '{}' (vulkan): BVH depth {} exceeds the supported {} (the traversal stack)",
                op, depth, ops::kBvhMaxDepth);
  return depth;
}

struct PQ {
  uint64_t base;
  uint32_t n, item0, F, V, depth, max_iter;
  float a0, a1;
};
struct PU {
  uint64_t base;
  uint32_t n, item0;
};

// Runs the traversal kernel `k` over all items in chunks, then unpacks.
void traverse(Device& d, OpArgs& a, const char* op, const char* k, const char* unpack, float a0, float a1) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const int32_t depth = checked_depth(dev, op, a);
  const bool ray = std::strcmp(op, "bvh_raycast") == 0;
  const uint64_t n = uint64_t(a.in[5].dim(0));
  if (n == 0) return;
  const uint32_t F = uint32_t(a.in[1].dim(0)), V = uint32_t(a.in[0].dim(0));
  // lavapipe ends a shader invocation after 65,535 loop iterations in all:
  // cap the traversal there and report instead of returning partial results.
  const uint32_t N = 2 * F - 1;
  const uint32_t max_iter = dev.info().software ? std::min<uint32_t>(N, 60000) : N;
  const uint64_t chunk = std::min(n, kChunk);
  Tensor packed = scratch(d, int64_t(4 + 8 * chunk));
  put_words(dev, packed, {uint32_t(INT_MAX), 0u, 0u, 0u});
  const auto& pk = dev.pipelines().get(std::string("bvh_q_") + k, ray ? 7 : 6, {}, kQWG);
  const auto& pu = dev.pipelines().get(std::string("bvh_q_") + unpack, ray ? 4 : 5, {}, kQWG);
  for (uint64_t i0 = 0; i0 < n; i0 += chunk) {
    const uint32_t cn = uint32_t(std::min(chunk, n - i0));
    PQ pq{0, cn, uint32_t(i0), F, V, uint32_t(depth), max_iter, a0, a1};
    std::vector<Binding> b{bind(a.in[0], false), bind(a.in[1], false), bind(a.in[2], false), bind(a.in[3], false),
                           bind(a.in[5], false)};
    if (ray) b.push_back(bind(a.in[6], false));
    b.push_back(bind(packed, true));
    launch_1d(dev, pk, b, &pq, sizeof(pq), cn);
    PU pp{0, cn, uint32_t(i0)};
    std::vector<Binding> ub{bind(packed, false)};
    for (const Tensor& o : a.out) ub.push_back(bind(o, true));
    launch_1d(dev, pu, ub, &pp, sizeof(pp), cn);
  }
  const auto e = get_words(dev, packed, 2);
  if (e[1] == 1)
    fail("op '{}' (vulkan): traversal of item {} needs more than depth = {} stack entries (the tree is deeper than its depth input)",
         op, e[0], depth);
  if (e[1] == 2)
    fail("op '{}' (vulkan): malformed BVH met by item {} (a child/face index out of range, or a cycle)", op, e[0]);
  if (e[1] == 3)
    fail("op '{}' (vulkan): item {} needs more than {} traversal steps, over this CPU Vulkan implementation's "
         "65,535 loop-iteration limit per invocation (use the CPU or OpenCL backend for this query)",
         op, e[0], max_iter);
}

void bvh_query(Device& d, OpArgs& a) {
  const float r = float(a.attrs.get_float("max_radius", INFINITY));
  traverse(d, a, "bvh_query", "query", "unpack_query", r * r, 0.f);
}
void bvh_raycast(Device& d, OpArgs& a) {
  traverse(d, a, "bvh_raycast", "raycast", "unpack_ray", float(a.attrs.get_float("tmin", 0.0)),
           float(a.attrs.get_float("tmax", INFINITY)));
}

// Shaders index from each binding's start and use 32-bit indices.
std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_tensors(d, a);
  if (why.empty()) why = check_int64(d);
  if (!why.empty()) return why;
  for (auto* list : {&a.in, &a.out})
    for (const Tensor& t : *list)
      if (tensor_arg(t, false).elem_off != 0) return "tensor " + t.desc() + " is a view at an unaligned offset";
  for (const Tensor& t : a.in)
    if (uint64_t(t.numel()) >= (uint64_t(1) << 31)) return "tensor " + t.desc() + " has 2^31 or more elements";
  // 32-bit index arithmetic in the kernels (6 * node, 3 * vertex).
  if (a.in[1].dim(0) > (int64_t(1) << 27) || a.in[0].dim(0) > (int64_t(1) << 29))
    return fmt::format("{} faces / {} vertices: at most 2^27 faces and 2^29 vertices (32-bit indices)", a.in[1].dim(0),
                       a.in[0].dim(0));
  return "";
}

TESSERA_REGISTER_KERNEL("bvh_build", "vulkan", bvh_build, supports);
TESSERA_REGISTER_KERNEL("bvh_query", "vulkan", bvh_query, supports);
TESSERA_REGISTER_KERNEL("bvh_raycast", "vulkan", bvh_raycast, supports);

}  // namespace
}  // namespace tessera::vk
