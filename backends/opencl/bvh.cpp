// OpenCL BVH ops (kernels/bvh.cl, docs/geometry-bvh.md). bvh_build runs on
// the device: face validation, centroid bounds (work-group reduction + 32-bit
// atomics on order-preserving float keys), 30-bit Morton codes, a stable LSD
// radix sort of (code, face) with 4-bit digits (histogram / one-group scan /
// scatter ranked by a local scan), Karras nodes, and a bottom-up refit with
// per-node arrival counters that also measures the depth. Queries: one
// work-item per point/ray, a private stack of depth entries at most
// BVH_MAX_DEPTH (128); overflow or a malformed tree is reported through an
// error word and thrown here.
#include <climits>

#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/geometry_bvh.hpp"

namespace tessera::opencl {
namespace {

constexpr size_t kWG = 256;

TempBuffer words(ClDevice& dev, std::vector<uint32_t> init) {
  TempBuffer b = temp_buffer(dev, init.size() * 4);
  dev.upload(*b.buf, 0, init.data(), init.size() * 4);
  return b;
}
std::vector<int32_t> read_words(ClDevice& dev, const TempBuffer& b, size_t n) {
  std::vector<int32_t> v(n);
  dev.download(*b.buf, 0, v.data(), n * 4);
  return v;
}

void bvh_build(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor &vt = a.in[0], &ft = a.in[1];
  const uint64_t V = uint64_t(vt.dim(0)), F = uint64_t(ft.dim(0)), G = (F + kWG - 1) / kWG;
  const cl_mem v = mem_of(vt), f = mem_of(ft);
  TempBuffer err = words(dev, {uint32_t(F)});
  Launch(dev, "bvh", "bvh_validate").arg(f).arg(cl_int(V)).arg(err.mem).run_1d(F);
  const int32_t bad = read_words(dev, err, 1)[0];
  if (bad != int32_t(F)) {
    int32_t tri[3];
    dev.download(ft.buffer(), ft.offset_bytes() + size_t(bad) * 12, tri, 12);
    fail("op 'bvh_build' (opencl): face {} = ({}, {}, {}) indexes outside the {} vertices", bad, tri[0], tri[1],
         tri[2], V);
  }
  TempBuffer bounds = words(dev, {~0u, ~0u, ~0u, 0u, 0u, 0u});
  Launch(dev, "bvh", "bvh_bounds").arg(v).arg(f).arg(cl_uint(F)).arg(bounds.mem).run_groups(G, 1, kWG);
  TempBuffer k0 = temp_buffer(dev, F * 4), v0 = temp_buffer(dev, F * 4), k1 = temp_buffer(dev, F * 4),
             v1 = temp_buffer(dev, F * 4), hist = temp_buffer(dev, 16 * G * 4);
  Launch(dev, "bvh", "bvh_morton").arg(v).arg(f).arg(bounds.mem).arg(k0.mem).arg(v0.mem).run_1d(F);
  cl_mem keys[2] = {k0.mem, k1.mem}, vals[2] = {v0.mem, v1.mem};
  for (uint32_t shift = 0, s = 0; shift < 32; shift += 4, s ^= 1) {  // 8 passes: the result is back in k0/v0
    Launch(dev, "bvh", "radix_hist").arg(keys[s]).arg(cl_uint(F)).arg(cl_uint(shift)).arg(cl_uint(G)).arg(hist.mem)
        .run_groups(G, 1, kWG);
    Launch(dev, "bvh", "radix_scan").arg(hist.mem).arg(cl_uint(16 * G)).run_groups(1, 1, kWG);
    Launch(dev, "bvh", "radix_scatter").arg(keys[s]).arg(vals[s]).arg(keys[s ^ 1]).arg(vals[s ^ 1]).arg(cl_uint(F))
        .arg(cl_uint(shift)).arg(cl_uint(G)).arg(hist.mem).run_groups(G, 1, kWG);
  }
  const cl_mem boxes = mem_of(a.out[0]), nodes = mem_of(a.out[1]), depth = mem_of(a.out[3]);
  Launch(dev, "bvh", "bvh_leaves").arg(v0.mem).arg(nodes).arg(mem_of(a.out[2])).arg(cl_uint(F)).run_1d(F);
  Launch(dev, "bvh", "bvh_karras").arg(k0.mem).arg(nodes).arg(cl_uint(F)).run_1d(F - 1);
  TempBuffer counters = temp_buffer(dev, std::max<uint64_t>(F - 1, 1) * 4);
  dev.fill(*counters.buf, 0, std::max<uint64_t>(F - 1, 1) * 4, 0u);
  dev.fill(a.out[3].buffer(), a.out[3].offset_bytes(), 4, 0u);
  Launch(dev, "bvh", "bvh_refit").arg(v).arg(f).arg(nodes).arg(boxes).arg(counters.mem).arg(depth).arg(cl_uint(F))
      .run_1d(F);
}

int32_t checked_depth(ClDevice& dev, const char* op, const OpArgs& a) {
  int32_t depth = 0;
  dev.download(a.in[4].buffer(), a.in[4].offset_bytes(), &depth, 4);
  const int64_t F = a.in[1].dim(0);
  TESSERA_CHECK(depth >= 0 && depth <= 2 * F - 2, "op '{}' (opencl): depth {} impossible for {} faces", op, depth, F);
  TESSERA_CHECK(depth <= ops::kBvhMaxDepth, "op '{}' (opencl): BVH depth {} exceeds the supported {} (the traversal stack)",
                op, depth, ops::kBvhMaxDepth);
  return depth;
}

void throw_traversal(ClDevice& dev, const TempBuffer& err, const char* op, int32_t depth) {
  const auto e = read_words(dev, err, 2);
  if (e[1] == 1)
    fail("op '{}' (opencl): traversal of item {} needs more than depth = {} stack entries (the tree is deeper than its depth input)",
         op, e[0], depth);
  if (e[1] != 0)
    fail("op '{}' (opencl): malformed BVH met by item {} (a child/face index out of range, or a cycle)", op, e[0]);
}

void bvh_query(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const int32_t depth = checked_depth(dev, "bvh_query", a);
  const uint64_t P = uint64_t(a.in[5].dim(0));
  if (P == 0) return;
  const float r = float(a.attrs.get_float("max_radius", INFINITY));
  TempBuffer err = words(dev, {uint32_t(INT_MAX), 0u});
  Launch(dev, "bvh", "bvh_query").arg(mem_of(a.in[0])).arg(mem_of(a.in[1])).arg(mem_of(a.in[2])).arg(mem_of(a.in[3]))
      .arg(cl_int(depth)).arg(mem_of(a.in[5])).arg(cl_float(r * r)).arg(cl_int(a.in[0].dim(0)))
      .arg(cl_int(a.in[1].dim(0))).arg(mem_of(a.out[0])).arg(mem_of(a.out[1])).arg(mem_of(a.out[2]))
      .arg(mem_of(a.out[3])).arg(err.mem).run_1d(P);
  throw_traversal(dev, err, "bvh_query", depth);
}

void bvh_raycast(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const int32_t depth = checked_depth(dev, "bvh_raycast", a);
  const uint64_t R = uint64_t(a.in[5].dim(0));
  if (R == 0) return;
  TempBuffer err = words(dev, {uint32_t(INT_MAX), 0u});
  Launch(dev, "bvh", "bvh_raycast").arg(mem_of(a.in[0])).arg(mem_of(a.in[1])).arg(mem_of(a.in[2]))
      .arg(mem_of(a.in[3])).arg(cl_int(depth)).arg(mem_of(a.in[5])).arg(mem_of(a.in[6]))
      .arg(cl_float(a.attrs.get_float("tmin", 0.0))).arg(cl_float(a.attrs.get_float("tmax", INFINITY)))
      .arg(cl_int(a.in[0].dim(0))).arg(cl_int(a.in[1].dim(0))).arg(mem_of(a.out[0])).arg(mem_of(a.out[1]))
      .arg(mem_of(a.out[2])).arg(err.mem).run_1d(R);
  throw_traversal(dev, err, "bvh_raycast", depth);
}

// Kernels index from each buffer's start: tensors must not be views with an offset.
std::string supports(const Device& dev, const OpArgs& a) {
  std::string why = supports_common(dev, a);
  if (!why.empty()) return why;
  for (auto* list : {&a.in, &a.out})
    for (const Tensor& t : *list)
      if (t.offset_bytes() != 0) return "tensor " + t.desc() + " is a view at a nonzero offset (pass a contiguous copy)";
  // 32-bit index arithmetic in the kernels (6 * node, 3 * vertex).
  if (a.in[1].dim(0) > (int64_t(1) << 27) || a.in[0].dim(0) > (int64_t(1) << 29))
    return fmt::format("{} faces / {} vertices: at most 2^27 faces and 2^29 vertices (32-bit indices)", a.in[1].dim(0),
                       a.in[0].dim(0));
  return "";
}

TESSERA_REGISTER_KERNEL("bvh_build", "opencl", bvh_build, supports);
TESSERA_REGISTER_KERNEL("bvh_query", "opencl", bvh_query, supports);
TESSERA_REGISTER_KERNEL("bvh_raycast", "opencl", bvh_raycast, supports);

}  // namespace
}  // namespace tessera::opencl
