#include "meshing/mesh.hpp"

#include <tbb/parallel_sort.h>

#include <algorithm>
#include <queue>

#include "core/error.hpp"

namespace tessera::meshing {

void Mesh::validate() const {
  if (positions.size() % 3 != 0) fail("mesh: positions has {} values, not a multiple of 3 (expected [V, 3])", positions.size());
  if (faces.size() % 3 != 0) fail("mesh: faces has {} values, not a multiple of 3 (expected [F, 3])", faces.size());
  const int64_t v = num_vertices();
  if (v > int64_t(INT32_MAX)) fail("mesh: {} vertices exceed the int32 index range", v);
  for (size_t i = 0; i < faces.size(); ++i)
    if (faces[i] < 0 || faces[i] >= v)
      fail("mesh: face {} uses vertex {}, outside [0, {})", i / 3, faces[i], v);
}

double signed_volume(const Mesh& m) {
  double vol = 0;
  const float* p = m.positions.data();
  for (size_t f = 0; f + 2 < m.faces.size(); f += 3) {
    const float *a = p + 3 * size_t(m.faces[f]), *b = p + 3 * size_t(m.faces[f + 1]), *c = p + 3 * size_t(m.faces[f + 2]);
    const double cx = double(b[1]) * c[2] - double(b[2]) * c[1];
    const double cy = double(b[2]) * c[0] - double(b[0]) * c[2];
    const double cz = double(b[0]) * c[1] - double(b[1]) * c[0];
    vol += a[0] * cx + a[1] * cy + a[2] * cz;
  }
  return vol / 6.0;
}

int64_t remove_unreferenced_vertices(Mesh& m) {
  m.validate();
  const int64_t v = m.num_vertices();
  std::vector<int32_t> remap(size_t(v), -1);
  for (int32_t i : m.faces) remap[size_t(i)] = 0;
  int32_t next = 0;
  for (int64_t i = 0; i < v; ++i) {
    if (remap[size_t(i)] < 0) continue;
    remap[size_t(i)] = next;
    for (int k = 0; k < 3; ++k) m.positions[3 * size_t(next) + k] = m.positions[3 * size_t(i) + k];
    ++next;
  }
  m.positions.resize(3 * size_t(next));
  for (int32_t& i : m.faces) i = remap[size_t(i)];
  return v - next;
}

namespace {

// One directed face edge, keyed by its undirected vertex pair.
struct HalfEdge {
  uint64_t key;  // (min << 32) | max
  int32_t face;
  bool forward;  // traversed min -> max
};

// Every non-degenerate face edge, sorted by key (then face, for determinism).
std::vector<HalfEdge> sorted_half_edges(const Mesh& m) {
  std::vector<HalfEdge> e;
  e.reserve(m.faces.size());
  const int64_t nf = m.num_faces();
  for (int64_t f = 0; f < nf; ++f)
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = uint32_t(m.faces[3 * f + k]), b = uint32_t(m.faces[3 * f + (k + 1) % 3]);
      if (a == b) continue;
      const uint32_t lo = std::min(a, b), hi = std::max(a, b);
      e.push_back({(uint64_t(lo) << 32) | hi, int32_t(f), a < b});
    }
  tbb::parallel_sort(e.begin(), e.end(), [](const HalfEdge& x, const HalfEdge& y) {
    return x.key != y.key ? x.key < y.key : x.face < y.face;
  });
  return e;
}

}  // namespace

EdgeStats edge_stats(const Mesh& m) {
  m.validate();
  const std::vector<HalfEdge> e = sorted_half_edges(m);
  EdgeStats s;
  for (size_t i = 0; i < e.size();) {
    size_t j = i;
    while (j < e.size() && e[j].key == e[i].key) ++j;
    ++s.edges;
    const size_t uses = j - i;
    if (uses == 1) ++s.boundary;
    else if (uses > 2) ++s.non_manifold;
    else if (e[i].forward == e[i + 1].forward) ++s.misoriented;
    i = j;
  }
  return s;
}

int64_t unify_orientation(Mesh& m) {
  m.validate();
  const int64_t nf = m.num_faces();
  const std::vector<HalfEdge> e = sorted_half_edges(m);
  // Face adjacency across manifold edges: (neighbour, whether the pair needs
  // opposite flip states, i.e. both traverse the edge the same way).
  std::vector<int64_t> deg(size_t(nf) + 1, 0);
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < e.size();) {
    size_t j = i;
    while (j < e.size() && e[j].key == e[i].key) ++j;
    if (j - i == 2 && e[i].face != e[i + 1].face) {
      pairs.emplace_back(i, i + 1);
      ++deg[size_t(e[i].face) + 1], ++deg[size_t(e[i + 1].face) + 1];
    }
    i = j;
  }
  for (int64_t f = 0; f < nf; ++f) deg[size_t(f) + 1] += deg[size_t(f)];
  std::vector<std::pair<int32_t, bool>> adj(static_cast<size_t>(deg[size_t(nf)]));
  std::vector<int64_t> fill(deg.begin(), deg.end() - 1);
  for (auto [a, b] : pairs) {
    const bool differ = e[a].forward == e[b].forward;
    adj[size_t(fill[size_t(e[a].face)]++)] = {e[b].face, differ};
    adj[size_t(fill[size_t(e[b].face)]++)] = {e[a].face, differ};
  }

  std::vector<int8_t> flip(size_t(nf), -1);  // -1 unvisited, 0 keep, 1 flip
  std::vector<int32_t> component;
  const float* p = m.positions.data();
  int64_t flipped = 0;
  for (int64_t seed = 0; seed < nf; ++seed) {
    if (flip[size_t(seed)] >= 0) continue;
    component.clear();
    std::queue<int32_t> todo;
    flip[size_t(seed)] = 0;
    todo.push(int32_t(seed));
    while (!todo.empty()) {
      const int32_t f = todo.front();
      todo.pop();
      component.push_back(f);
      for (int64_t k = deg[size_t(f)]; k < deg[size_t(f) + 1]; ++k) {
        const auto [g, differ] = adj[size_t(k)];
        if (flip[size_t(g)] >= 0) continue;  // visited (a conflict means a non-orientable component: left as is)
        flip[size_t(g)] = int8_t(flip[size_t(f)] ^ int8_t(differ));
        todo.push(g);
      }
    }
    double vol = 0;
    for (int32_t f : component) {
      const int32_t* t = m.faces.data() + 3 * size_t(f);
      const float *a = p + 3 * size_t(t[0]), *b = p + 3 * size_t(t[1]), *c = p + 3 * size_t(t[2]);
      const double det = a[0] * (double(b[1]) * c[2] - double(b[2]) * c[1]) +
                         a[1] * (double(b[2]) * c[0] - double(b[0]) * c[2]) +
                         a[2] * (double(b[0]) * c[1] - double(b[1]) * c[0]);
      vol += flip[size_t(f)] ? -det : det;
    }
    if (vol < 0)
      for (int32_t f : component) flip[size_t(f)] ^= 1;
  }
  for (int64_t f = 0; f < nf; ++f)
    if (flip[size_t(f)]) {
      std::swap(m.faces[3 * size_t(f) + 1], m.faces[3 * size_t(f) + 2]);
      ++flipped;
    }
  return flipped;
}

}  // namespace tessera::meshing
