#include "ops/reference/sparse_hash.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/error.hpp"

namespace tessera::ref {

using sparse::Grid;

Grid grid_of(const Attrs& a) {
  auto s = a.get_ints("shape");
  Grid g;
  g.B = a.get_int("batch", 1);
  g.W = s.size() > 0 ? s[0] : 1;
  g.H = s.size() > 1 ? s[1] : 1;
  g.D = s.size() > 2 ? s[2] : 1;
  return g;
}

namespace {
std::vector<int32_t> ints(const HostTensor& t) {
  std::vector<int32_t> v(t.data.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = int32_t(t.data[i]);
  return v;
}
std::vector<int64_t> longs(const HostTensor& t) {
  std::vector<int64_t> v(t.data.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = int64_t(t.data[i]);
  return v;
}
int64_t key_of(const Grid& g, const int32_t* c) { return g.pack(c[0], c[1], c[2], c[3]); }
}  // namespace

int32_t host_hash_build(const std::vector<int32_t>& coords, const Grid& g, int64_t cap, std::vector<int64_t>& keys,
                        std::vector<int32_t>& vals) {
  keys.assign(size_t(cap), sparse::kEmptyKey);
  vals.assign(size_t(cap), sparse::kEmptyVal);
  int32_t status = 0;
  const int64_t n = int64_t(coords.size() / 4);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t key = key_of(g, &coords[size_t(4 * i)]);
    if (key < 0) {
      status |= sparse::kStatusBadCoord;
      continue;
    }
    int64_t s = sparse::home_slot(key, g.small(), cap);
    bool placed = false;
    for (int64_t t = 0; t < cap && !placed; ++t, s = s + 1 == cap ? 0 : s + 1) {
      if (keys[size_t(s)] == sparse::kEmptyKey) {
        keys[size_t(s)] = key;
        vals[size_t(s)] = int32_t(i);
        placed = true;
      } else if (keys[size_t(s)] == key) {
        placed = true;  // duplicate: the earlier (smaller) row stays
      }
    }
    if (!placed) status |= sparse::kStatusFull;
  }
  return status;
}

int32_t host_hash_probe(const std::vector<int64_t>& keys, const std::vector<int32_t>& vals, const Grid& g,
                        int64_t key) {
  const int64_t cap = int64_t(keys.size());
  if (key < 0 || cap == 0) return -1;
  int64_t s = sparse::home_slot(key, g.small(), cap);
  for (int64_t t = 0; t < cap; ++t, s = s + 1 == cap ? 0 : s + 1) {
    if (keys[size_t(s)] == sparse::kEmptyKey) return -1;
    if (keys[size_t(s)] == key) return vals[size_t(s)];
  }
  return -1;
}

std::string check_hash_table(const std::vector<int32_t>& coords, const Grid& g, const std::vector<int64_t>& keys,
                             const std::vector<int32_t>& vals) {
  const int64_t n = int64_t(coords.size() / 4), cap = int64_t(keys.size());
  std::unordered_map<int64_t, int32_t> first;  // key -> smallest row
  for (int64_t i = n - 1; i >= 0; --i) first[key_of(g, &coords[size_t(4 * i)])] = int32_t(i);
  int64_t occupied = 0;
  std::unordered_map<int64_t, int64_t> seen;
  for (int64_t s = 0; s < cap; ++s) {
    const int64_t k = keys[size_t(s)];
    const int32_t v = vals[size_t(s)];
    if (k == sparse::kEmptyKey || v == sparse::kEmptyVal) {
      if (k != sparse::kEmptyKey || v != sparse::kEmptyVal)
        return fmt::format("slot {}: key {} with value {} (an empty slot must be (-1, -1))", s, k, v);
      continue;
    }
    occupied++;
    auto it = first.find(k);
    if (it == first.end()) return fmt::format("slot {}: key {} is not an input key", s, k);
    if (it->second != v)
      return fmt::format("slot {}: key {} has value {}, expected its smallest row {}", s, k, v, it->second);
    if (!seen.emplace(k, s).second)
      return fmt::format("key {} stored twice (slots {} and {})", k, seen[k], s);
  }
  if (occupied != int64_t(first.size()))
    return fmt::format("{} occupied slots for {} distinct keys", occupied, first.size());
  for (auto& [k, row] : first) {
    const int32_t got = host_hash_probe(keys, vals, g, k);
    if (got != row) return fmt::format("key {} (row {}) not reachable by probing: got {}", k, row, got);
  }
  return "";
}

void hash_build(const Ins& in, Outs& out, const Attrs& a) {
  const Grid g = grid_of(a);
  std::vector<int64_t> keys;
  std::vector<int32_t> vals;
  const int32_t st = host_hash_build(ints(in[0]), g, out[0].numel(), keys, vals);
  TESSERA_CHECK(st == 0, "hash_build reference: status {} (table full or coordinate out of range)", st);
  for (size_t s = 0; s < keys.size(); ++s) {
    out[0].data[s] = double(keys[s]);
    out[1].data[s] = vals[s];
  }
}

void hash_probe(const Ins& in, Outs& out, const Attrs& a) {
  const Grid g = grid_of(a);
  const auto keys = longs(in[0]);
  const auto vals = ints(in[1]);
  const auto q = ints(in[2]);
  for (int64_t i = 0; i < out[0].numel(); ++i)
    out[0].data[size_t(i)] = host_hash_probe(keys, vals, g, key_of(g, &q[size_t(4 * i)]));
}

void neighbour_map(const Ins& in, Outs& out, const Attrs& a) {
  const Grid g = grid_of(a);
  const auto c = ints(in[0]);
  const auto keys = longs(in[1]);
  const auto vals = ints(in[2]);
  const int64_t k = a.get_int("kernel_size", 3), d = a.get_int("dilation", 1), V = k * k * k, h = k / 2;
  const int64_t n = in[0].shape[0];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t v = 0; v < V; ++v) {
      const int64_t da = (v / (k * k) - h) * d, db = (v / k % k - h) * d, dc = (v % k - h) * d;
      const int32_t* p = &c[size_t(4 * i)];
      int32_t r = v == V / 2 ? int32_t(i) : host_hash_probe(keys, vals, g, g.pack(p[0], p[1] + da, p[2] + db, p[3] + dc));
      out[0].data[size_t(i * V + v)] = r;
    }
}

namespace {
// Unique of the keys of `c` on the grid coarsened by `f`: outputs as sparse_downsample_coords.
void unique_impl(const Ins& in, Outs& out, const Attrs& a, int64_t f, bool with_sub) {
  const Grid g = grid_of(a);
  Grid pg = g;
  pg.W = (g.W + f - 1) / f;
  pg.H = (g.H + f - 1) / f;
  pg.D = (g.D + f - 1) / f;
  const auto c = ints(in[0]);
  const int64_t n = in[0].shape[0];
  std::vector<int64_t> key(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t* p = &c[size_t(4 * i)];
    TESSERA_CHECK(g.inside(p[0], p[1], p[2], p[3]), "reference: row {} outside the grid", i);
    key[size_t(i)] = pg.pack(p[0], p[1] / f, p[2] / f, p[3] / f);
  }
  std::vector<int64_t> u = key;
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::fill(out[0].data.begin(), out[0].data.end(), -1.0);
  for (size_t r = 0; r < u.size(); ++r) {
    int32_t cc[4];
    pg.unpack(u[r], cc);
    for (int j = 0; j < 4; ++j) out[0].data[4 * r + size_t(j)] = cc[j];
  }
  for (int64_t i = 0; i < n; ++i) {
    out[1].data[size_t(i)] = double(std::lower_bound(u.begin(), u.end(), key[size_t(i)]) - u.begin());
    if (with_sub) {
      const int32_t* p = &c[size_t(4 * i)];
      out[2].data[size_t(i)] = double(p[1] % f + (p[2] % f) * f + (p[3] % f) * f * f);
    }
  }
  out.back().data[0] = double(u.size());
}
}  // namespace

void sparse_unique(const Ins& in, Outs& out, const Attrs& a) { unique_impl(in, out, a, 1, false); }
void sparse_downsample_coords(const Ins& in, Outs& out, const Attrs& a) {
  unique_impl(in, out, a, a.get_int("factor", 2), true);
}

void occupancy_to_coords(const Ins& in, Outs& out, const Attrs& a) {
  const auto& s = in[0].shape;  // [B, 1, X, Y, Z]
  const double thr = a.get_float("threshold", 0.0);
  const int64_t X = s[2], Y = s[3], Z = s[4];
  std::fill(out[0].data.begin(), out[0].data.end(), -1.0);
  int64_t r = 0;
  for (int64_t i = 0; i < in[0].numel(); ++i)
    if (in[0].data[size_t(i)] > thr) {
      const int64_t b = i / (X * Y * Z), x = i / (Y * Z) % X, y = i / Z % Y, z = i % Z;
      out[0].data[size_t(4 * r)] = double(b);
      out[0].data[size_t(4 * r + 1)] = double(x);
      out[0].data[size_t(4 * r + 2)] = double(y);
      out[0].data[size_t(4 * r + 3)] = double(z);
      r++;
    }
  out[1].data[0] = double(r);
}

void batch_offsets(const Ins& in, Outs& out, const Attrs& a) {
  const int64_t B = a.get_int("batch", 1), n = in[0].shape[0];
  std::vector<int64_t> cnt(size_t(B + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t b = int64_t(in[0].data[size_t(4 * i)]);
    TESSERA_CHECK(b >= 0 && b < B, "reference: row {} batch {} outside [0, {})", i, b, B);
    cnt[size_t(b + 1)]++;
  }
  for (int64_t b = 0; b < B; ++b) cnt[size_t(b + 1)] += cnt[size_t(b)];
  for (int64_t b = 0; b <= B; ++b) out[0].data[size_t(b)] = double(cnt[size_t(b)]);
}

}  // namespace tessera::ref
