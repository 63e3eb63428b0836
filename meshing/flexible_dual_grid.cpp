// Flexible dual grid -> mesh (conventions in the header).
//
// The voxels are sorted by their packed key x * (gy * gz) + y * gz + z
// (skipped when the input is already sorted). Every neighbour a quad needs
// has the voxel's key plus one of six constants (offsets are 0 or +1), so
// walking the sorted keys in order, one cursor per constant only moves
// forward: neighbour lookups are streaming reads instead of random probes.
// Two parallel passes in sorted order: (1) the mask of flagged edges whose
// four voxels exist, (2) after a prefix sum over the quad counts in input
// order, each voxel's triangles at its offset. The face order therefore
// equals the official boolean-mask order (voxel, then axis) whatever the
// thread count.
#include "meshing/flexible_dual_grid.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tessera::meshing {
namespace {

constexpr const char* kFn = "flexible_dual_grid_to_mesh";
constexpr int32_t kMaxGrid = 1 << 20;  // keeps the packed key below 2^60

// Offsets of the four voxels around voxel i's flagged edge along each axis,
// in quad order (q0 = the voxel itself). See the header.
constexpr int kQuad[3][4][3] = {
    {{0, 0, 0}, {0, 0, 1}, {0, 1, 1}, {0, 1, 0}},  // x
    {{0, 0, 0}, {1, 0, 0}, {1, 0, 1}, {0, 0, 1}},  // y
    {{0, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, 0, 0}},  // z
};

struct KeyIndex {
  uint64_t key;
  int32_t index;
};

// The six neighbours a quad can need (offsets 0 or +1 per axis), and the
// three other voxels of each axis' quad as neighbour numbers.
constexpr int kNeighbour[6][3] = {{0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {1, 0, 0}, {1, 0, 1}, {1, 1, 0}};
constexpr int kQuadNeighbour[3][3] = {{0, 2, 1}, {3, 4, 0}, {1, 5, 3}};
constexpr bool quad_tables_agree() {
  for (int a = 0; a < 3; ++a)
    for (int k = 0; k < 3; ++k)
      for (int d = 0; d < 3; ++d)
        if (kQuad[a][k + 1][d] != kNeighbour[kQuadNeighbour[a][k]][d]) return false;
  return true;
}
static_assert(quad_tables_agree(), "kQuadNeighbour must name kQuad's voxels");

// Sorted positions of the six neighbours of the voxels at sorted positions
// [begin, end), visited in order: one forward-only cursor per neighbour.
class NeighbourWalk {
 public:
  NeighbourWalk(const uint64_t* keys, int64_t n, const GridSize& g, int64_t begin) : keys_(keys), n_(n) {
    const uint64_t gz = uint64_t(g[2]), gyz = uint64_t(g[1]) * gz;
    for (int j = 0; j < 6; ++j) {
      step_[j] = uint64_t(kNeighbour[j][0]) * gyz + uint64_t(kNeighbour[j][1]) * gz + uint64_t(kNeighbour[j][2]);
      cur_[j] = begin < n ? int64_t(std::lower_bound(keys, keys + n, keys[begin] + step_[j]) - keys) : n;
    }
  }
  // Neighbour positions of the voxel at sorted position s (>= every earlier
  // call's s), -1 where absent. `c` is its coordinate: neighbours past the
  // grid's far faces are absent (their key would alias another voxel).
  void at(int64_t s, const int32_t* c, const GridSize& g, int64_t pos[6]) {
    const uint64_t k = keys_[s];
    for (int j = 0; j < 6; ++j) {
      const uint64_t want = k + step_[j];
      int64_t p = cur_[j];
      while (p < n_ && keys_[p] < want) ++p;
      cur_[j] = p;
      pos[j] = p < n_ && keys_[p] == want ? p : -1;
    }
    for (int j = 0; j < 6; ++j)
      for (int d = 0; d < 3; ++d)
        if (kNeighbour[j][d] && c[d] + 1 >= g[d]) pos[j] = -1;
  }

 private:
  const uint64_t* keys_;
  int64_t n_;
  uint64_t step_[6];
  int64_t cur_[6];
};

void check_inputs(const FdgInput& in, const Aabb& aabb, const GridSize& g) {
  for (int a = 0; a < 3; ++a) {
    if (g[a] < 1 || g[a] > kMaxGrid)
      fail("{}: grid_size [{}, {}, {}] must lie in [1, {}] per axis", kFn, g[0], g[1], g[2], kMaxGrid);
    if (!std::isfinite(aabb.min[a]) || !std::isfinite(aabb.max[a]) || !(aabb.max[a] > aabb.min[a]))
      fail("{}: aabb [[{}, {}, {}], [{}, {}, {}]] must be finite with max > min on every axis", kFn, aabb.min[0],
           aabb.min[1], aabb.min[2], aabb.max[0], aabb.max[1], aabb.max[2]);
  }
  if (in.coords.size % 3 != 0) fail("{}: coords has {} values, not a multiple of 3 (expected [N, 3])", kFn, in.coords.size);
  const size_t n = in.coords.size / 3;
  if (n > size_t(INT32_MAX)) fail("{}: {} voxels exceed the int32 face index range", kFn, n);
  if (in.vertices.size != 3 * n)
    fail("{}: vertices has {} values but coords has {} rows (expected [{}, 3])", kFn, in.vertices.size, n, n);
  const bool flags = !in.intersected.empty(), logits = !in.intersected_logits.empty();
  if (n > 0 && flags == logits)
    fail("{}: give exactly one of intersected (flags) and intersected_logits (got {})", kFn,
         flags ? "both" : "neither");
  const size_t ni = flags ? in.intersected.size : in.intersected_logits.size;
  if (ni != 3 * n) fail("{}: intersected has {} values but coords has {} rows (expected [{}, 3])", kFn, ni, n, n);
  if (!in.split_weight.empty() && in.split_weight.size != n)
    fail("{}: split_weight has {} values but coords has {} rows (expected [{}] or none)", kFn, in.split_weight.size, n,
         n);
  if (n && (!in.coords.data || !in.vertices.data)) fail("{}: null input array", kFn);
}

// The official geometric split (split_weight None), evaluated as written.
bool split_02_geometric(const float* p0, const float* p1, const float* p2, const float* p3) {
  auto sub = [](const float* a, const float* b, float* o) {
    for (int k = 0; k < 3; ++k) o[k] = a[k] - b[k];
  };
  auto cross = [](const float* a, const float* b, float* o) {
    o[0] = a[1] * b[2] - a[2] * b[1];
    o[1] = a[2] * b[0] - a[0] * b[2];
    o[2] = a[0] * b[1] - a[1] * b[0];
  };
  auto dot = [](const float* a, const float* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; };
  float u[3], v[3], n0[3], n1[3];
  // Split (q0 q1 q2)(q0 q2 q3): columns 0..3 of the index table are q0 q1 q2 q0.
  sub(p1, p0, u), sub(p2, p0, v), cross(u, v, n0);
  sub(p2, p1, u), sub(p0, p1, v), cross(u, v, n1);
  const float align0 = std::fabs(dot(n0, n1));
  // Split (q0 q1 q3)(q3 q1 q2): columns 0..3 are q0 q1 q3 q3.
  sub(p1, p0, u), sub(p3, p0, v), cross(u, v, n0);
  sub(p3, p1, u), sub(p3, p1, v), cross(u, v, n1);
  const float align1 = std::fabs(dot(n0, n1));
  return align0 > align1;
}

}  // namespace

Mesh flexible_dual_grid_to_mesh(const FdgInput& in, const Aabb& aabb, const GridSize& g) {
  check_inputs(in, aabb, g);
  const int64_t n = int64_t(in.coords.size / 3);
  const int32_t* coords = in.coords.data;
  const float* dv = in.vertices.data;
  const bool use_logits = in.intersected.empty();
  auto flagged = [&](int64_t i, int a) {
    return use_logits ? in.intersected_logits.data[3 * i + a] > 0.f : in.intersected.data[3 * i + a] != 0;
  };
  const tbb::blocked_range<int64_t> all(0, n, 2048);
  const uint64_t gy = uint64_t(g[1]), gz = uint64_t(g[2]);
  auto key_of = [&](int64_t x, int64_t y, int64_t z) { return (uint64_t(x) * gy + uint64_t(y)) * gz + uint64_t(z); };

  // Coordinates in range; keys; sorted order (the input's own when it is sorted).
  std::vector<KeyIndex> order(static_cast<size_t>(n));
  std::atomic<int64_t> bad{n};
  tbb::parallel_for(all, [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i != r.end(); ++i) {
      const int32_t* c = coords + 3 * i;
      if (c[0] < 0 || c[0] >= g[0] || c[1] < 0 || c[1] >= g[1] || c[2] < 0 || c[2] >= g[2]) {
        int64_t b = bad.load();
        while (i < b && !bad.compare_exchange_weak(b, i)) {
        }
        continue;
      }
      order[size_t(i)] = {key_of(c[0], c[1], c[2]), int32_t(i)};
    }
  });
  if (bad.load() < n) {
    const int64_t i = bad.load();
    const int32_t* c = coords + 3 * i;
    fail("{}: coords row {} is ({}, {}, {}), outside the grid [0, {}) x [0, {}) x [0, {})", kFn, i, c[0], c[1], c[2],
         g[0], g[1], g[2]);
  }
  const bool sorted = tbb::parallel_reduce(
      tbb::blocked_range<int64_t>(1, std::max<int64_t>(n, 1), 4096), true,
      [&](const tbb::blocked_range<int64_t>& r, bool ok) {
        for (int64_t s = r.begin(); ok && s != r.end(); ++s) ok = order[size_t(s - 1)].key < order[size_t(s)].key;
        return ok;
      },
      [](bool a, bool b) { return a && b; });
  if (!sorted)
    tbb::parallel_sort(order.begin(), order.end(), [](const KeyIndex& a, const KeyIndex& b) {
      return a.key != b.key ? a.key < b.key : a.index < b.index;
    });
  // Keys and input indices in sorted order; what the passes read per voxel,
  // gathered into sorted order too (coordinates, flag bits, split weights).
  std::vector<uint64_t> keys(static_cast<size_t>(n));
  std::vector<int32_t> index(static_cast<size_t>(n));
  std::vector<int32_t> scoord(3 * static_cast<size_t>(n));
  std::vector<uint8_t> smask(static_cast<size_t>(n));  // flag bits, then quad bits
  const float* w = in.split_weight.empty() ? nullptr : in.split_weight.data;
  std::vector<float> sw(w ? static_cast<size_t>(n) : 0);
  tbb::parallel_for(all, [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t s = r.begin(); s != r.end(); ++s) {
      const int64_t i = order[size_t(s)].index;
      keys[size_t(s)] = order[size_t(s)].key, index[size_t(s)] = int32_t(i);
      for (int a = 0; a < 3; ++a) scoord[3 * size_t(s) + a] = coords[3 * i + a];
      smask[size_t(s)] = uint8_t(flagged(i, 0) | flagged(i, 1) << 1 | flagged(i, 2) << 2);
      if (w) sw[size_t(s)] = w[i];
    }
  });
  order = {};
  const int64_t dup = tbb::parallel_reduce(
      tbb::blocked_range<int64_t>(1, std::max<int64_t>(n, 1), 4096), n,
      [&](const tbb::blocked_range<int64_t>& r, int64_t first) {
        for (int64_t s = r.begin(); s != r.end() && s < first; ++s)
          if (keys[size_t(s)] == keys[size_t(s - 1)]) first = s;
        return first;
      },
      [](int64_t a, int64_t b) { return std::min(a, b); });
  if (dup < n) {
    const int32_t* c = &scoord[3 * size_t(dup)];
    fail("{}: coords rows {} and {} are both ({}, {}, {}); every voxel must appear once", kFn, index[size_t(dup - 1)],
         index[size_t(dup)], c[0], c[1], c[2]);
  }

  // (1) which flagged edges have all four voxels; quad counts per input voxel.
  std::vector<int64_t> first_quad(static_cast<size_t>(n) + 1, 0);
  auto present = [](const int64_t nb[6], int a) {
    return nb[kQuadNeighbour[a][0]] >= 0 && nb[kQuadNeighbour[a][1]] >= 0 && nb[kQuadNeighbour[a][2]] >= 0;
  };
  tbb::parallel_for(all, [&](const tbb::blocked_range<int64_t>& r) {
    NeighbourWalk walk(keys.data(), n, g, r.begin());
    int64_t nb[6];
    for (int64_t s = r.begin(); s != r.end(); ++s) {
      uint8_t m = smask[size_t(s)];
      if (!m) continue;
      walk.at(s, &scoord[3 * size_t(s)], g, nb);
      for (int a = 0; a < 3; ++a)
        if ((m >> a & 1) && !present(nb, a)) m &= uint8_t(~(1u << a));
      smask[size_t(s)] = m;
      first_quad[size_t(index[size_t(s)]) + 1] = (m & 1) + ((m >> 1) & 1) + ((m >> 2) & 1);
    }
  });
  for (int64_t i = 0; i < n; ++i) first_quad[size_t(i) + 1] += first_quad[size_t(i)];
  const int64_t quads = first_quad[size_t(n)];

  // (2) positions, then triangles (the geometric split reads the positions).
  Mesh mesh;
  mesh.positions.resize(3 * size_t(n));
  mesh.faces.resize(size_t(6 * quads));
  float vs[3];
  for (int a = 0; a < 3; ++a) vs[a] = (aabb.max[a] - aabb.min[a]) / float(g[a]);
  float* pos = mesh.positions.data();
  tbb::parallel_for(all, [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i != r.end(); ++i)
      for (int a = 0; a < 3; ++a) {
        const float local = float(coords[3 * i + a]) + dv[3 * i + a];  // no FMA: -ffp-contract=off
        pos[3 * i + a] = local * vs[a] + aabb.min[a];
      }
  });
  int32_t* out = mesh.faces.data();
  tbb::parallel_for(all, [&](const tbb::blocked_range<int64_t>& r) {
    NeighbourWalk walk(keys.data(), n, g, r.begin());
    int64_t nb[6];
    for (int64_t s = r.begin(); s != r.end(); ++s) {
      const uint8_t m = smask[size_t(s)];
      if (!m) continue;
      walk.at(s, &scoord[3 * size_t(s)], g, nb);
      int32_t* f = out + 6 * first_quad[size_t(index[size_t(s)])];
      for (int a = 0; a < 3; ++a) {
        if (!(m >> a & 1)) continue;
        const int64_t sq[4] = {s, nb[kQuadNeighbour[a][0]], nb[kQuadNeighbour[a][1]], nb[kQuadNeighbour[a][2]]};
        int32_t q[4];
        for (int k = 0; k < 4; ++k) q[k] = index[size_t(sq[k])];
        const bool diag02 = w ? sw[size_t(sq[0])] * sw[size_t(sq[2])] > sw[size_t(sq[1])] * sw[size_t(sq[3])]
                              : split_02_geometric(pos + 3 * q[0], pos + 3 * q[1], pos + 3 * q[2], pos + 3 * q[3]);
        const int32_t t02[6] = {q[0], q[1], q[2], q[0], q[2], q[3]};
        const int32_t t13[6] = {q[0], q[1], q[3], q[3], q[1], q[2]};
        const int32_t* t = diag02 ? t02 : t13;
        for (int k = 0; k < 6; ++k) f[k] = t[k];
        f += 6;
      }
    }
  });
  return mesh;
}

namespace {

std::vector<float> floats_of(const Tensor& t) {
  if (t.dtype() == DType::f32) return t.to_vector<float>();
  std::vector<double> d = t.to_double();
  return std::vector<float>(d.begin(), d.end());
}

void check_rows(const Tensor& t, const char* name, int64_t n, bool allow_flat) {
  const Shape& s = t.shape();
  const bool ok = (s.size() == 2 && s[0] == n && s[1] == 3) ||
                  (allow_flat && ((s.size() == 1 && s[0] == n) || (s.size() == 2 && s[0] == n && s[1] == 1)));
  if (!ok)
    fail("{}: {} is {}; expected [{}{}]", kFn, name, t.desc(), n, allow_flat ? "] or [" + std::to_string(n) + ", 1" : ", 3");
}

}  // namespace

Mesh flexible_dual_grid_to_mesh(const Tensor& coords, const Tensor& vertices, const Tensor& intersected,
                                const Tensor& split_weight, const Aabb& aabb, const GridSize& grid_size) {
  if (!coords.defined() || !vertices.defined() || !intersected.defined())
    fail("{}: coords, vertices and intersected must be defined tensors", kFn);
  if (coords.ndim() != 2 || coords.dim(1) != 3)
    fail("{}: coords is {}; expected [N, 3] (drop the batch column of [N, 4] sparse coords)", kFn, coords.desc());
  const int64_t n = coords.dim(0);
  check_rows(vertices, "vertices", n, false);
  check_rows(intersected, "intersected", n, false);
  if (split_weight.defined()) check_rows(split_weight, "split_weight", n, true);
  auto is_float = [](DType d) { return d == DType::f32 || d == DType::f16 || d == DType::bf16; };

  std::vector<int32_t> c;
  if (coords.dtype() == DType::i32) {
    c = coords.to_vector<int32_t>();
  } else if (coords.dtype() == DType::i64) {
    std::vector<int64_t> c64 = coords.to_vector<int64_t>();
    c.resize(c64.size());
    for (size_t i = 0; i < c64.size(); ++i) {
      if (c64[i] < INT32_MIN || c64[i] > INT32_MAX)
        fail("{}: coords row {} holds {}, outside the grid", kFn, i / 3, c64[i]);
      c[i] = int32_t(c64[i]);
    }
  } else {
    fail("{}: coords is {}; expected i32 or i64", kFn, coords.desc());
  }
  if (!is_float(vertices.dtype())) fail("{}: vertices is {}; expected f32, f16 or bf16", kFn, vertices.desc());
  std::vector<float> v = floats_of(vertices);

  FdgInput in;
  in.coords = c;
  in.vertices = v;
  std::vector<uint8_t> flags;
  std::vector<float> logits, w;
  if (intersected.dtype() == DType::u8) {
    flags = intersected.to_vector<uint8_t>();
    in.intersected = flags;
  } else if (is_float(intersected.dtype())) {
    logits = floats_of(intersected);
    in.intersected_logits = logits;
  } else {
    fail("{}: intersected is {}; expected u8 flags or f32/f16/bf16 logits", kFn, intersected.desc());
  }
  if (split_weight.defined()) {
    if (!is_float(split_weight.dtype())) fail("{}: split_weight is {}; expected f32, f16 or bf16", kFn, split_weight.desc());
    w = floats_of(split_weight);
    in.split_weight = w;
  }
  return flexible_dual_grid_to_mesh(in, aabb, grid_size);
}

}  // namespace tessera::meshing
