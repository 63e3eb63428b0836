// CPU BVH ops (docs/geometry-bvh.md). bvh_build: parallel Morton codes,
// tbb::parallel_sort of (code, face) keys, Karras nodes in parallel, refit
// bottom-up with one atomic arrival counter per internal node (the second
// child to arrive computes the union). Queries: one depth-first traversal
// per point/ray (nearer child first), in parallel over points.
#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>

#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/bvh_math.hpp"
#include "ops/geometry_bvh.hpp"

namespace tessera::cpu {
namespace {

using V3f = bvh::V3<float>;

// First bad (smallest) index reported by parallel loops.
struct FirstError {
  std::atomic<int64_t> at{std::numeric_limits<int64_t>::max()};
  std::atomic<int> code{0};
  void set(int64_t i, int c) {
    int64_t cur = at.load();
    while (i < cur && !at.compare_exchange_weak(cur, i)) {
    }
    if (at.load() == i) code = c;
  }
  bool any() const { return at.load() != std::numeric_limits<int64_t>::max(); }
};

void bvh_build(Device&, OpArgs& a) {
  const float* v = data<float>(a.in[0]);
  const int32_t* f = data<int32_t>(a.in[1]);
  const int64_t V = a.in[0].dim(0), F = a.in[1].dim(0), N = 2 * F - 1;
  float* boxes = data<float>(a.out[0]);
  int32_t* nodes = data<int32_t>(a.out[1]);
  int32_t* leaf_face = data<int32_t>(a.out[2]);
  FirstError bad;
  tbb::parallel_for(int64_t(0), F, [&](int64_t i) {
    for (int k = 0; k < 3; ++k)
      if (f[3 * i + k] < 0 || f[3 * i + k] >= V) bad.set(i, 1);
  });
  if (bad.any()) {
    const int64_t i = bad.at.load();
    fail("op 'bvh_build' (cpu): face {} = ({}, {}, {}) indexes outside the {} vertices", i, f[3 * i],
                 f[3 * i + 1], f[3 * i + 2], V);
  }
  auto vert = [&](int64_t face, int k) {
    const float* p = v + 3 * int64_t(f[3 * face + k]);
    return V3f{p[0], p[1], p[2]};
  };
  std::vector<float> cen(size_t(3 * F));
  struct Bounds {
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
  };
  Bounds bb = tbb::parallel_reduce(
      tbb::blocked_range<int64_t>(0, F), Bounds(),
      [&](const tbb::blocked_range<int64_t>& r, Bounds b) {
        for (int64_t i = r.begin(); i < r.end(); ++i) {
          const V3f p0 = vert(i, 0), p1 = vert(i, 1), p2 = vert(i, 2);
          for (int d = 0; d < 3; ++d) {
            const float c = (p0[d] + p1[d] + p2[d]) / 3.0f;
            cen[size_t(3 * i + d)] = c;
            b.lo[d] = std::min(b.lo[d], c), b.hi[d] = std::max(b.hi[d], c);
          }
        }
        return b;
      },
      [](Bounds x, const Bounds& y) {
        for (int d = 0; d < 3; ++d) x.lo[d] = std::min(x.lo[d], y.lo[d]), x.hi[d] = std::max(x.hi[d], y.hi[d]);
        return x;
      });
  float scale[3];
  for (int d = 0; d < 3; ++d) scale[d] = bb.hi[d] > bb.lo[d] ? 1024.0f / (bb.hi[d] - bb.lo[d]) : 0.0f;
  std::vector<uint64_t> key(static_cast<size_t>(F));  // code << 32 | face: unique, so the sort is deterministic
  tbb::parallel_for(int64_t(0), F, [&](int64_t i) {
    uint32_t c = 0;
    for (int d = 0; d < 3; ++d) c |= bvh::expand_bits10(bvh::quantize10(cen[size_t(3 * i + d)], bb.lo[d], scale[d])) << (2 - d);
    key[size_t(i)] = (uint64_t(c) << 32) | uint64_t(i);
  });
  tbb::parallel_sort(key.begin(), key.end());
  std::vector<uint32_t> code(static_cast<size_t>(F));
  tbb::parallel_for(int64_t(0), F, [&](int64_t i) {
    code[size_t(i)] = uint32_t(key[size_t(i)] >> 32);
    leaf_face[i] = int32_t(key[size_t(i)] & 0xffffffffu);
    int32_t* n = nodes + 4 * (F - 1 + i);
    n[0] = n[1] = -1, n[3] = leaf_face[i];
  });
  nodes[2] = -1;
  tbb::parallel_for(int64_t(0), F - 1, [&](int64_t i) {
    int32_t* n = nodes + 4 * i;
    bvh::karras_node(code.data(), F, i, n[0], n[1]);
    n[3] = -1;
    nodes[4 * n[0] + 2] = nodes[4 * n[1] + 2] = int32_t(i);
  });
  std::vector<std::atomic<int>> arrived(size_t(std::max<int64_t>(F - 1, 1)));
  for (auto& x : arrived) x.store(0, std::memory_order_relaxed);
  std::atomic<int> depth{0};
  tbb::parallel_for(int64_t(0), F, [&](int64_t k) {
    int64_t n = F - 1 + k;
    float* b = boxes + 6 * n;
    const V3f p0 = vert(leaf_face[k], 0), p1 = vert(leaf_face[k], 1), p2 = vert(leaf_face[k], 2);
    for (int d = 0; d < 3; ++d)
      b[d] = std::min({p0[d], p1[d], p2[d]}), b[3 + d] = std::max({p0[d], p1[d], p2[d]});
    bool refit = true;
    int len = 0;
    for (int64_t p = nodes[4 * n + 2]; p >= 0 && len <= N; n = p, p = nodes[4 * p + 2], ++len) {
      // The first child to arrive stops refitting; the second sees both boxes (acq_rel).
      if (refit && arrived[size_t(p)].fetch_add(1, std::memory_order_acq_rel) == 0) refit = false;
      if (!refit) continue;  // keep walking to measure the depth
      float* pb = boxes + 6 * p;
      const float *l = boxes + 6 * nodes[4 * p], *r = boxes + 6 * nodes[4 * p + 1];
      for (int d = 0; d < 3; ++d) pb[d] = std::min(l[d], r[d]), pb[3 + d] = std::max(l[3 + d], r[3 + d]);
    }
    int cur = depth.load();
    while (len > cur && !depth.compare_exchange_weak(cur, len)) {
    }
  });
  data<int32_t>(a.out[3])[0] = depth.load();
}

// Shared checks of the query ops: the depth input, and the error raised when
// a traversal met a malformed tree.
int32_t checked_depth(const char* op, const OpArgs& a) {
  const int32_t depth = data<int32_t>(a.in[4])[0];
  const int64_t F = a.in[1].dim(0);
  TESSERA_CHECK(depth >= 0 && depth <= 2 * F - 2, "op '{}' (cpu): depth {} impossible for {} faces", op, depth, F);
  TESSERA_CHECK(depth <= ops::kBvhMaxDepth, "op '{}' (cpu): BVH depth {} exceeds the supported {}", op, depth,
                ops::kBvhMaxDepth);
  return depth;
}
[[noreturn]] void traversal_error(const char* op, int code, int64_t item, int32_t depth) {
  if (code == 1) fail("op '{}' (cpu): traversal of item {} needs more than depth = {} stack entries (the tree is deeper than its depth input)", op, item, depth);
  fail("op '{}' (cpu): malformed BVH met by item {} (a child/face index out of range, or a cycle)", op, item);
}

struct Tree {
  const float* v;
  const int32_t* f;
  const float* boxes;
  const int32_t* nodes;
  int64_t V, F, N;
  // False when the leaf's face or its vertex indices are out of range.
  bool leaf_face(int32_t node, int32_t& face, V3f& a, V3f& b, V3f& c) const {
    face = nodes[4 * node + 3];
    if (face < 0 || face >= F) return false;
    const int32_t* t = f + 3 * int64_t(face);
    for (int k = 0; k < 3; ++k)
      if (t[k] < 0 || t[k] >= V) return false;
    auto p = [&](int k) { return V3f{v[3 * t[k]], v[3 * t[k] + 1], v[3 * t[k] + 2]}; };
    a = p(0), b = p(1), c = p(2);
    return true;
  }
  // False when a child index is out of range (or the root).
  bool kids(int32_t node, int32_t& l, int32_t& r) const {
    l = nodes[4 * node], r = nodes[4 * node + 1];
    return l > 0 && l < N && r > 0 && r < N;
  }
};

Tree tree_of(const OpArgs& a) {
  return {data<float>(a.in[0]), data<int32_t>(a.in[1]), data<float>(a.in[2]), data<int32_t>(a.in[3]),
          a.in[0].dim(0),       a.in[1].dim(0),        2 * a.in[1].dim(0) - 1};
}

void bvh_query(Device&, OpArgs& a) {
  const int32_t depth = checked_depth("bvh_query", a);
  const Tree T = tree_of(a);
  const float* pts = data<float>(a.in[5]);
  const int64_t P = a.in[5].dim(0);
  const float rad = float(a.attrs.get_float("max_radius", INFINITY)), r2 = rad * rad;
  int32_t* oface = data<int32_t>(a.out[0]);
  float *opt = data<float>(a.out[1]), *obary = data<float>(a.out[2]), *odist = data<float>(a.out[3]);
  FirstError err;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, P, 256), [&](const tbb::blocked_range<int64_t>& rg) {
    std::vector<std::pair<int32_t, float>> stack(size_t(std::max(depth, 1)));
    for (int64_t i = rg.begin(); i < rg.end(); ++i) {
      const V3f p{pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]};
      float best = r2, bw[3] = {0, 0, 0};
      V3f bq{0, 0, 0};
      int32_t bf = -1;
      auto ok = [&](float d2) { return bf < 0 ? d2 <= best : d2 < best; };
      int sp = 0, code = 0;
      int32_t node = 0;
      bool live = ok(bvh::box_dist2(p, T.boxes, T.boxes + 3));
      for (int64_t it = 0; live && it <= T.N; ++it) {
        if (it == T.N) code = 2;
        int32_t l, r;
        if (node >= T.F - 1) {
          int32_t face;
          V3f A, B, C, q;
          float w[3];
          if (!T.leaf_face(node, face, A, B, C)) {
            code = 2;
            break;
          }
          const float d2 = bvh::closest_on_triangle(p, A, B, C, q, w);
          if (ok(d2)) best = d2, bf = face, bq = q, bw[0] = w[0], bw[1] = w[1], bw[2] = w[2];
        } else {
          if (!T.kids(node, l, r)) {
            code = 2;
            break;
          }
          float dl = bvh::box_dist2(p, T.boxes + 6 * l, T.boxes + 6 * l + 3);
          float dr = bvh::box_dist2(p, T.boxes + 6 * r, T.boxes + 6 * r + 3);
          if (dr < dl) std::swap(l, r), std::swap(dl, dr);
          if (ok(dr)) {
            if (sp >= depth) {
              code = 1;
              break;
            }
            stack[size_t(sp++)] = {r, dr};
          }
          if (ok(dl)) {
            node = l;
            continue;
          }
        }
        live = false;
        while (sp > 0 && !live) {
          node = stack[size_t(--sp)].first;
          live = ok(stack[size_t(sp)].second);
        }
      }
      if (code) err.set(i, code);
      oface[i] = bf;
      for (int k = 0; k < 3; ++k) {
        opt[3 * i + k] = bf < 0 ? 0.f : bq[k];
        obary[3 * i + k] = bf < 0 ? 0.f : bw[k];
      }
      odist[i] = bf < 0 ? INFINITY : std::sqrt(best);
    }
  });
  if (err.any()) traversal_error("bvh_query", err.code.load(), err.at.load(), depth);
}

void bvh_raycast(Device&, OpArgs& a) {
  const int32_t depth = checked_depth("bvh_raycast", a);
  const Tree T = tree_of(a);
  const float *po = data<float>(a.in[5]), *pd = data<float>(a.in[6]);
  const int64_t R = a.in[5].dim(0);
  const float tmin = float(a.attrs.get_float("tmin", 0.0)), tmax = float(a.attrs.get_float("tmax", INFINITY));
  float* ot = data<float>(a.out[0]);
  int32_t* oface = data<int32_t>(a.out[1]);
  float* obary = data<float>(a.out[2]);
  FirstError err;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, R, 256), [&](const tbb::blocked_range<int64_t>& rg) {
    std::vector<std::pair<int32_t, float>> stack(size_t(std::max(depth, 1)));
    for (int64_t i = rg.begin(); i < rg.end(); ++i) {
      const V3f o{po[3 * i], po[3 * i + 1], po[3 * i + 2]}, d{pd[3 * i], pd[3 * i + 1], pd[3 * i + 2]};
      const V3f inv{1.0f / d.x, 1.0f / d.y, 1.0f / d.z};
      const bvh::Shear<float> sh = bvh::ray_shear(d);
      float best = tmax, bw[3] = {0, 0, 0}, tn;
      int32_t bf = -1, node = 0;
      int sp = 0, code = 0;
      bool live = bvh::ray_box(o, inv, T.boxes, T.boxes + 3, tmin, best, tn);
      for (int64_t it = 0; live && it <= T.N; ++it) {
        if (it == T.N) code = 2;
        int32_t l, r;
        if (node >= T.F - 1) {
          int32_t face;
          V3f A, B, C;
          float w[3];
          if (!T.leaf_face(node, face, A, B, C)) {
            code = 2;
            break;
          }
          const float t = bvh::ray_triangle(o, sh, A, B, C, w);
          if (t >= tmin && t <= best && (bf < 0 || t < best))
            best = t, bf = face, bw[0] = w[0], bw[1] = w[1], bw[2] = w[2];
        } else {
          if (!T.kids(node, l, r)) {
            code = 2;
            break;
          }
          float tl, tr;
          bool hl = bvh::ray_box(o, inv, T.boxes + 6 * l, T.boxes + 6 * l + 3, tmin, best, tl);
          bool hr = bvh::ray_box(o, inv, T.boxes + 6 * r, T.boxes + 6 * r + 3, tmin, best, tr);
          if (hl && hr && tr < tl) std::swap(l, r), std::swap(tl, tr);
          else if (!hl && hr) std::swap(l, r), std::swap(tl, tr), std::swap(hl, hr);
          if (hr) {
            if (sp >= depth) {
              code = 1;
              break;
            }
            stack[size_t(sp++)] = {r, tr};
          }
          if (hl) {
            node = l;
            continue;
          }
        }
        live = false;
        while (sp > 0 && !live) {
          node = stack[size_t(--sp)].first;
          live = stack[size_t(sp)].second <= best;
        }
      }
      if (code) err.set(i, code);
      ot[i] = bf < 0 ? INFINITY : best;
      oface[i] = bf;
      for (int k = 0; k < 3; ++k) obary[3 * i + k] = bf < 0 ? 0.f : bw[k];
    }
  });
  if (err.any()) traversal_error("bvh_raycast", err.code.load(), err.at.load(), depth);
}

TESSERA_REGISTER_KERNEL("bvh_build", "cpu", bvh_build);
TESSERA_REGISTER_KERNEL("bvh_query", "cpu", bvh_query);
TESSERA_REGISTER_KERNEL("bvh_raycast", "cpu", bvh_raycast);

}  // namespace
}  // namespace tessera::cpu
