#include "ops/sparse_hash.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_set>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/sparse_hash.hpp"

namespace tessera::ops {

using sparse::Grid;

namespace {

Attrs grid_attrs(std::array<int64_t, 3> s, int64_t batch) {
  return Attrs().set("shape", std::vector<int64_t>{s[0], s[1], s[2]}).set("batch", batch);
}

// First `rows` rows of a contiguous tensor, as a new tensor (device copy).
Tensor head_rows(const Tensor& t, int64_t rows) {
  Shape s = t.shape();
  s[0] = rows;
  Tensor r = Tensor::empty(s, t.dtype(), t.device());
  if (r.nbytes()) t.device().copy(t.buffer(), t.offset_bytes(), r.buffer(), r.offset_bytes(), r.nbytes());
  return r;
}

int64_t read_count(const Tensor& c) { return c.to_vector<int32_t>()[0]; }

}  // namespace

HashTable hash_build(const Tensor& coords, std::array<int64_t, 3> shape, int64_t batch, int64_t capacity) {
  auto r = OpRegistry::get().call("hash_build", {coords}, grid_attrs(shape, batch).set("capacity", capacity));
  return {r[0], r[1], ref::grid_of(grid_attrs(shape, batch))};
}

static Attrs table_attrs(const HashTable& t) { return grid_attrs({t.grid.W, t.grid.H, t.grid.D}, t.grid.B); }

Tensor hash_probe(const HashTable& t, const Tensor& q) {
  return OpRegistry::get().call("hash_probe", {t.keys, t.vals, q}, table_attrs(t))[0];
}

Tensor neighbour_map(const Tensor& coords, const HashTable& t, int64_t k, int64_t d) {
  return OpRegistry::get().call("neighbour_map", {coords, t.keys, t.vals},
                                table_attrs(t).set("kernel_size", k).set("dilation", d))[0];
}

UniqueCoords sparse_unique(const Tensor& coords, std::array<int64_t, 3> shape, int64_t batch) {
  auto r = OpRegistry::get().call("sparse_unique", {coords}, grid_attrs(shape, batch));
  UniqueCoords u;
  u.count = read_count(r[2]);
  u.coords = head_rows(r[0], u.count);
  u.inverse = r[1];
  return u;
}

UniqueCoords sparse_downsample_coords(const Tensor& coords, std::array<int64_t, 3> shape, int64_t batch,
                                      int64_t factor) {
  auto r = OpRegistry::get().call("sparse_downsample_coords", {coords},
                                  grid_attrs(shape, batch).set("factor", factor));
  UniqueCoords u;
  u.count = read_count(r[3]);
  u.coords = head_rows(r[0], u.count);
  u.inverse = r[1];
  u.subidx = r[2];
  return u;
}

Tensor occupancy_to_coords(const Tensor& grid, double threshold) {
  auto r = OpRegistry::get().call("occupancy_to_coords", {grid}, Attrs().set("threshold", threshold));
  return head_rows(r[0], read_count(r[1]));
}

Tensor batch_offsets(const Tensor& coords, int64_t batch) {
  return OpRegistry::get().call("batch_offsets", {coords}, Attrs().set("batch", batch))[0];
}

std::shared_ptr<const HashTable> sparse_hash(const SparseTensor& x) {
  if (auto c = x.cached("hash")) return std::static_pointer_cast<const HashTable>(c);
  const auto& s = x.spatial_shape();
  auto t = std::make_shared<HashTable>(
      hash_build(x.coords(), {s[0], s[1], s[2]}, std::max(1, x.batch_size()), 0));
  x.set_cached("hash", t);
  return t;
}

Tensor sparse_neighbour_map(const SparseTensor& x, int64_t k, int64_t d) {
  const std::string key = fmt::format("nbr:k{}:d{}", k, d);
  if (auto c = x.cached(key)) return *std::static_pointer_cast<Tensor>(c);
  auto m = std::make_shared<Tensor>(neighbour_map(x.coords(), *sparse_hash(x), k, d));
  x.set_cached(key, m);
  return *m;
}

std::shared_ptr<const UniqueCoords> sparse_downsample(const SparseTensor& x, int64_t factor) {
  const std::string key = fmt::format("down:f{}", factor);
  if (auto c = x.cached(key)) return std::static_pointer_cast<const UniqueCoords>(c);
  const auto& s = x.spatial_shape();
  auto u = std::make_shared<UniqueCoords>(
      sparse_downsample_coords(x.coords(), {s[0], s[1], s[2]}, std::max(1, x.batch_size()), factor));
  x.set_cached(key, u);
  return u;
}

// ---------------------------------------------------------------- registry
namespace {

void check_coords(const char* op, const TensorDesc& c, const char* what = "coords") {
  TESSERA_CHECK(c.dtype == DType::i32 && c.shape.size() == 2 && c.shape[1] == 4,
                "op '{}': {} must be i32 [N, 4] (b, x, y, z), got {} {}", op, what, dtype_name(c.dtype),
                shape_str(c.shape));
  TESSERA_CHECK(c.shape[0] < (int64_t(1) << 31), "op '{}': {} has {} rows (at most 2^31 - 1)", op, what, c.shape[0]);
}

Grid check_grid(const char* op, const Attrs& a) {
  TESSERA_CHECK(a.has("shape"), "op '{}': attr 'shape' = [W, H, D] is required", op);
  auto s = a.get_ints("shape");
  TESSERA_CHECK(s.size() == 3, "op '{}': attr 'shape' must have 3 extents, got {}", op, s.size());
  const int64_t B = a.get_int("batch", 1);
  TESSERA_CHECK(B >= 1 && B < (int64_t(1) << 31), "op '{}': batch {} outside [1, 2^31)", op, B);
  for (int64_t e : s)
    TESSERA_CHECK(e >= 1 && e < (int64_t(1) << 31), "op '{}': spatial extent {} outside [1, 2^31)", op, e);
  Grid g = ref::grid_of(a);
  TESSERA_CHECK(double(g.B) * double(g.W) * double(g.H) * double(g.D) <= double(sparse::kMaxKeySpace),
                "op '{}': B·W·H·D = {}·{}·{}·{} exceeds 2^53", op, g.B, g.W, g.H, g.D);
  return g;
}

void check_table(const char* op, const TensorDesc& k, const TensorDesc& v) {
  TESSERA_CHECK(k.dtype == DType::i64 && k.shape.size() == 1 && k.shape[0] >= 1 && v.dtype == DType::i32 &&
                    v.shape == k.shape,
                "op '{}': table must be keys i64 [cap] and vals i32 [cap], got {} {} and {} {}", op,
                dtype_name(k.dtype), shape_str(k.shape), dtype_name(v.dtype), shape_str(v.shape));
  TESSERA_CHECK(k.shape[0] < (int64_t(1) << 31), "op '{}': capacity {} (at most 2^31 - 1)", op, k.shape[0]);
}

// ---- test data
// n unique rows on grid g (random order); `dups` extra rows repeat random earlier rows.
std::vector<int32_t> random_coords(std::mt19937_64& rng, const Grid& g, int64_t n, int64_t dups = 0) {
  const int64_t space = g.space();
  std::vector<int64_t> keys;
  if (n * 2 >= space) {
    keys.resize(size_t(space));
    std::iota(keys.begin(), keys.end(), int64_t(0));
    std::shuffle(keys.begin(), keys.end(), rng);
    keys.resize(size_t(n));
  } else {
    std::unordered_set<int64_t> seen;
    std::uniform_int_distribution<int64_t> pick(0, space - 1);
    while (int64_t(keys.size()) < n) {
      int64_t k = pick(rng);
      if (seen.insert(k).second) keys.push_back(k);
    }
  }
  for (int64_t i = 0; i < dups; ++i) keys.push_back(keys[size_t(std::uniform_int_distribution<int64_t>(0, n - 1)(rng))]);
  std::shuffle(keys.begin(), keys.end(), rng);
  std::vector<int32_t> c(keys.size() * 4);
  for (size_t i = 0; i < keys.size(); ++i) g.unpack(keys[i], &c[4 * i]);
  return c;
}

// Rows at the corners of the grid (0 and max on each axis, first and last batch).
std::vector<int32_t> corner_coords(const Grid& g) {
  std::vector<int32_t> c;
  for (int64_t b : {int64_t(0), g.B - 1})
    for (int64_t x : {int64_t(0), g.W - 1})
      for (int64_t y : {int64_t(0), g.H - 1})
        for (int64_t z : {int64_t(0), g.D - 1}) {
          std::vector<int32_t> r{int32_t(b), int32_t(x), int32_t(y), int32_t(z)};
          bool dup = false;
          for (size_t i = 0; i < c.size(); i += 4) dup |= std::equal(r.begin(), r.end(), c.begin() + long(i));
          if (!dup) c.insert(c.end(), r.begin(), r.end());
        }
  return c;
}

HostTensor coords_tensor(const std::vector<int32_t>& c) {
  HostTensor h{{int64_t(c.size() / 4), 4}, DType::i32, std::vector<double>(c.begin(), c.end())};
  return h;
}

// Coordinate set of a case: n random unique rows (+ dups) with the grid corners first.
std::vector<int32_t> case_coords(std::mt19937_64& rng, const Grid& g, int64_t n, int64_t dups, bool corners) {
  std::vector<int32_t> c = corners ? corner_coords(g) : std::vector<int32_t>{};
  const int64_t nc = int64_t(c.size() / 4);
  if (n > nc) {
    // random rows distinct from the corners
    std::vector<int32_t> r = random_coords(rng, g, n, 0);
    std::unordered_set<int64_t> ck;
    for (int64_t i = 0; i < nc; ++i) ck.insert(g.pack(c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]));
    for (size_t i = 0; i < r.size() && int64_t(c.size() / 4) < n; i += 4)
      if (!ck.count(g.pack(r[i], r[i + 1], r[i + 2], r[i + 3]))) c.insert(c.end(), r.begin() + long(i), r.begin() + long(i + 4));
  }
  const int64_t u = int64_t(c.size() / 4);
  for (int64_t i = 0; i < dups; ++i) {
    const size_t j = size_t(std::uniform_int_distribution<int64_t>(0, u - 1)(rng));
    c.insert(c.end(), c.begin() + long(4 * j), c.begin() + long(4 * j + 4));
  }
  // shuffle rows
  std::vector<int64_t> perm(size_t(c.size() / 4));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int32_t> out(c.size());
  for (size_t i = 0; i < perm.size(); ++i) std::copy_n(c.begin() + long(4 * perm[i]), 4, out.begin() + long(4 * i));
  return out;
}

struct CaseSpec {
  std::string label;
  std::array<int64_t, 3> shape;
  int64_t batch, n, dups = 0;
  bool corners = true;
  double load = 0.5;  // distinct keys / capacity (hash cases)
  bool scale = false;
};

int64_t cap_for(const CaseSpec& s, int64_t distinct) {
  return std::max<int64_t>(1, int64_t(double(distinct) / s.load + 0.5));
}

std::vector<CaseSpec> hash_specs() {
  return {
      {"n1", {4, 4, 4}, 1, 1, 0, false, 0.5},
      {"n100_load0.5_b2", {16, 16, 16}, 2, 100, 0, true, 0.5},
      {"n1000_load0.9_b3", {32, 20, 9}, 3, 1000, 0, true, 0.9},
      {"n777_full", {16, 16, 16}, 2, 777, 0, true, 1.0},
      {"dense_grid_full", {5, 6, 7}, 2, 420, 0, false, 1.0},
      {"dups_n500", {12, 12, 12}, 1, 500, 260, true, 0.5},
      {"key64_n3000_load0.9", {4096, 4096, 4096}, 2, 3000, 0, true, 0.9},
      {"n50000_load0.9", {64, 64, 64}, 2, 50000, 0, true, 0.9},
      {"n1M_load0.9", {256, 256, 256}, 1, 1000000, 0, true, 0.9, true},
      {"n200000_full", {64, 64, 64}, 1, 200000, 0, false, 1.0, true},
  };
}

Attrs spec_attrs(const CaseSpec& s) { return grid_attrs(s.shape, s.batch); }
Grid spec_grid(const CaseSpec& s) { return ref::grid_of(spec_attrs(s)); }

std::vector<TestCase> build_cases() {
  std::vector<TestCase> cs;
  for (const auto& s : hash_specs()) {
    const Grid g = spec_grid(s);
    // Distinct keys: n (corners are part of the n rows when they fit).
    TestCase c{s.label, {{{s.n + s.dups, 4}, DType::i32}}, spec_attrs(s).set("capacity", cap_for(s, s.n))};
    c.scale = s.scale;
    c.generate = [s, g](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      in[0] = coords_tensor(case_coords(rng, g, s.n, s.dups, s.corners));
    };
    cs.push_back(c);
  }
  return cs;
}

std::vector<int32_t> ints_of(const HostTensor& t) { return std::vector<int32_t>(t.data.begin(), t.data.end()); }

std::string check_build(const std::vector<HostTensor>& in, const std::vector<HostTensor>& got,
                        const std::vector<HostTensor>&, const Attrs& a) {
  std::vector<int64_t> keys(got[0].data.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = int64_t(got[0].data[i]);
  return ref::check_hash_table(ints_of(in[0]), ref::grid_of(a), keys, ints_of(got[1]));
}

// Inputs (coords or queries, keys, vals) of the probe / neighbour cases: a
// table built on the host from a case's coordinate set.
void fill_table(std::mt19937_64& rng, const CaseSpec& s, std::vector<int32_t>& coords, HostTensor& keys,
                HostTensor& vals) {
  const Grid g = spec_grid(s);
  coords = case_coords(rng, g, s.n, s.dups, s.corners);
  std::vector<int64_t> k;
  std::vector<int32_t> v;
  const int32_t st = ref::host_hash_build(coords, g, cap_for(s, s.n), k, v);
  TESSERA_CHECK(st == 0, "test table: status {}", st);
  keys = {{int64_t(k.size())}, DType::i64, std::vector<double>(k.begin(), k.end())};
  vals = {{int64_t(v.size())}, DType::i32, std::vector<double>(v.begin(), v.end())};
}

std::vector<TestCase> probe_cases() {
  std::vector<TestCase> cs;
  for (const auto& s : hash_specs()) {
    if (s.load >= 1.0 && s.n > 10000) continue;  // absent keys scan a full table: n^2 probes
    TestCase c{s.label, {{{1}, DType::i64}, {{1}, DType::i32}, {{1, 4}, DType::i32}}, spec_attrs(s)};
    c.scale = s.scale;
    const Grid g = spec_grid(s);
    c.generate = [s, g](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      std::vector<int32_t> coords;
      fill_table(rng, s, coords, in[0], in[1]);
      // Queries: every stored row, as many random in-range points (mostly
      // absent), and garbage: each coordinate just outside, far outside, INT_MIN/MAX.
      std::vector<int32_t> q = coords;
      std::uniform_int_distribution<int64_t> pick(0, g.space() - 1);
      for (size_t i = 0; i < coords.size() / 4; ++i) {
        int32_t r[4];
        g.unpack(pick(rng), r);
        q.insert(q.end(), r, r + 4);
      }
      const int32_t lim[4] = {int32_t(g.B), int32_t(g.W), int32_t(g.H), int32_t(g.D)};
      const int32_t bad[] = {-1, 0, 1, INT32_MIN, INT32_MAX, -7};
      for (int ax = 0; ax < 4; ++ax)
        for (int32_t v : {int32_t(-1), lim[ax], int32_t(lim[ax] + 5), INT32_MIN, INT32_MAX}) {
          int32_t r[4] = {0, 0, 0, 0};
          if (!coords.empty()) std::copy_n(coords.begin(), 4, r);
          r[ax] = v;
          q.insert(q.end(), r, r + 4);
        }
      for (int i = 0; i < 64; ++i)
        for (int ax = 0; ax < 4; ++ax) q.push_back(bad[std::uniform_int_distribution<int>(0, 5)(rng)]);
      // shuffle query rows
      const size_t m = q.size() / 4;
      std::vector<size_t> perm(m);
      std::iota(perm.begin(), perm.end(), size_t(0));
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<int32_t> qs(q.size());
      for (size_t i = 0; i < m; ++i) std::copy_n(q.begin() + long(4 * perm[i]), 4, qs.begin() + long(4 * i));
      in[2] = coords_tensor(qs);
    };
    cs.push_back(c);
  }
  return cs;
}

std::vector<TestCase> neighbour_cases() {
  struct N {
    CaseSpec s;
    int64_t k, d;
  };
  const std::vector<N> ns = {
      {{"k3_dense_edges", {6, 5, 7}, 2, 210, 0, false, 0.5}, 3, 1},
      {{"k3_n2000_load0.9", {24, 24, 24}, 2, 2000, 0, true, 0.9}, 3, 1},
      {{"k3_d2_n3000", {20, 20, 20}, 1, 3000, 0, true, 0.5}, 3, 2},
      {{"k5_n1500_full", {16, 16, 16}, 3, 1500, 0, true, 1.0}, 5, 1},
      {{"k1_n100", {8, 8, 8}, 1, 100, 0, true, 0.5}, 1, 1},
      {{"k3_key64_n2000", {8192, 4096, 4096}, 2, 2000, 0, true, 0.5}, 3, 3},
      {{"k3_n30000", {48, 48, 48}, 1, 30000, 0, true, 0.5}, 3, 1},
      {{"k3_n1M", {128, 128, 128}, 1, 1000000, 0, true, 0.5, true}, 3, 1},
  };
  std::vector<TestCase> cs;
  for (const auto& n : ns) {
    TestCase c{n.s.label, {{{1, 4}, DType::i32}, {{1}, DType::i64}, {{1}, DType::i32}},
               spec_attrs(n.s).set("kernel_size", n.k).set("dilation", n.d)};
    c.scale = n.s.scale;
    const CaseSpec s = n.s;
    c.generate = [s](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      std::vector<int32_t> coords;
      fill_table(rng, s, coords, in[1], in[2]);
      in[0] = coords_tensor(coords);
    };
    cs.push_back(c);
  }
  return cs;
}

std::vector<TestCase> unique_cases(bool down) {
  const std::vector<CaseSpec> specs = {
      {"n1", {3, 3, 3}, 1, 1, 0, false},
      {"n300_dups", {10, 9, 8}, 2, 300, 200, true},
      {"n4000_b3_odd", {33, 17, 9}, 3, 4000, 100, true},
      {"dense_grid", {6, 4, 5}, 2, 240, 30, false},
      {"key64_n3000", {4095, 4097, 4096}, 2, 3000, 40, true},
      {"n65537", {64, 64, 64}, 2, 65537, 1000, true},
      {"n1M", {128, 128, 128}, 1, 1000000, 20000, true, 0.5, true},
  };
  std::vector<TestCase> cs;
  for (const auto& s : specs) {
    const Grid g = spec_grid(s);
    Attrs a = spec_attrs(s);
    if (down) a.set("factor", int64_t(2));
    TestCase c{s.label, {{{s.n + s.dups, 4}, DType::i32}}, a};
    c.scale = s.scale;
    c.generate = [s, g](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      in[0] = coords_tensor(case_coords(rng, g, s.n, s.dups, s.corners));
    };
    cs.push_back(c);
  }
  if (down) {
    CaseSpec s{"factor3", {10, 11, 7}, 2, 500, 10, true};
    TestCase c{s.label, {{{s.n + s.dups, 4}, DType::i32}}, spec_attrs(s).set("factor", int64_t(3))};
    const Grid g = spec_grid(s);
    c.generate = [s, g](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      in[0] = coords_tensor(case_coords(rng, g, s.n, s.dups, s.corners));
    };
    cs.push_back(c);
  }
  return cs;
}

std::vector<TestCase> occupancy_cases() {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    cs.push_back({std::string("b2_16cube/") + dtype_name(t), {{{2, 1, 16, 16, 16}, t}}, Attrs().set("threshold", 0.0)});
  cs.push_back({"ragged_5x7x3_thr0.5/f32", {{{1, 1, 5, 7, 3}, DType::f32}}, Attrs().set("threshold", 0.5)});
  TestCase none{"all_below/f32", {{{1, 1, 4, 4, 4}, DType::f32}}, Attrs().set("threshold", 2.0)};
  cs.push_back(none);
  TestCase all{"all_above/f32", {{{3, 1, 3, 5, 2}, DType::f32}}, Attrs().set("threshold", -2.0)};
  cs.push_back(all);
  TestCase ss{"ss64_sparse/f32", {{{1, 1, 64, 64, 64}, DType::f32}}, Attrs().set("threshold", 0.9)};
  cs.push_back(ss);
  TestCase big{"b2_128cube/f16", {{{2, 1, 128, 128, 128}, DType::f16}}, Attrs().set("threshold", 0.0)};
  big.scale = true;
  cs.push_back(big);
  return cs;
}

std::vector<TestCase> offsets_cases() {
  std::vector<TestCase> cs;
  struct O {
    std::string label;
    int64_t B, n;
    bool sorted;
    bool skip_some;
    bool scale = false;
  };
  for (const O& o : std::vector<O>{{"b1_n1", 1, 1, true, false},
                                   {"b4_n1000_sorted", 4, 1000, true, false},
                                   {"b7_n3000_empty_items", 7, 3000, true, true},
                                   {"b5_n2000_unsorted", 5, 2000, false, true},
                                   {"b16_n100000", 16, 100000, true, false},
                                   {"b3_n1M", 3, 1000000, true, true, true}}) {
    TestCase c{o.label, {{{o.n, 4}, DType::i32}}, Attrs().set("batch", o.B), 0.0, 1.0, o.scale};
    c.generate = [o](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      std::vector<int32_t> b(size_t(o.n));
      std::uniform_int_distribution<int64_t> pb(0, o.B - 1);
      for (auto& v : b) {
        v = int32_t(pb(rng));
        if (o.skip_some && o.B > 2 && (v == 1 || v == o.B - 1)) v = 0;  // empty batch items (also the last)
      }
      if (o.sorted) std::sort(b.begin(), b.end());
      std::vector<int32_t> c(size_t(4 * o.n));
      std::uniform_int_distribution<int32_t> pc(0, 63);
      for (int64_t i = 0; i < o.n; ++i) {
        c[size_t(4 * i)] = b[size_t(i)];
        for (int j = 1; j < 4; ++j) c[size_t(4 * i + j)] = pc(rng);
      }
      in[0] = coords_tensor(c);
    };
    cs.push_back(c);
  }
  return cs;
}

double exact(DType, const std::vector<TensorDesc>&, const Attrs&) { return 0.0; }

OpRegistrar reg_build({"hash_build", "voxel hash table (open addressing, linear probing) of packed (b, x, y, z) keys",
                       [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                         TESSERA_CHECK(in.size() == 1, "op 'hash_build' takes coords");
                         check_coords("hash_build", in[0]);
                         check_grid("hash_build", a);
                         int64_t cap = a.get_int("capacity", 0);
                         if (cap == 0 && a.has("load_factor")) {
                           const double lf = a.get_float("load_factor", 0.5);
                           TESSERA_CHECK(lf > 0.0 && lf <= 1.0, "op 'hash_build': load_factor {} outside (0, 1]", lf);
                           cap = int64_t(std::ceil(double(in[0].shape[0]) / lf));
                         }
                         if (cap == 0) cap = std::max<int64_t>(1, 2 * in[0].shape[0]);
                         cap = std::max<int64_t>(cap, 1);
                         TESSERA_CHECK(cap >= 1 && cap < (int64_t(1) << 31),
                                       "op 'hash_build': capacity {} outside [1, 2^31)", cap);
                         return {{{cap}, DType::i64}, {{cap}, DType::i32}};
                       },
                       ref::hash_build, build_cases, exact, check_build});

OpRegistrar reg_probe({"hash_probe", "row index of each query (b, x, y, z) in a hash table, -1 when missing",
                       [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                         TESSERA_CHECK(in.size() == 3, "op 'hash_probe' takes keys, vals, queries");
                         check_table("hash_probe", in[0], in[1]);
                         check_coords("hash_probe", in[2], "queries");
                         check_grid("hash_probe", a);
                         return {{{in[2].shape[0]}, DType::i32}};
                       },
                       ref::hash_probe, probe_cases, exact});

OpRegistrar reg_nbr({"neighbour_map", "submanifold neighbour map [N, k^3] (v = a k^2 + b k + c, -1 = missing)",
                     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                       TESSERA_CHECK(in.size() == 3, "op 'neighbour_map' takes coords, keys, vals");
                       check_coords("neighbour_map", in[0]);
                       check_table("neighbour_map", in[1], in[2]);
                       check_grid("neighbour_map", a);
                       const int64_t k = a.get_int("kernel_size", 3), d = a.get_int("dilation", 1);
                       TESSERA_CHECK(k >= 1 && k % 2 == 1 && k <= 15, "op 'neighbour_map': kernel_size {} (odd, 1..15)", k);
                       TESSERA_CHECK(d >= 1 && d * (k / 2) < (int64_t(1) << 30),
                                     "op 'neighbour_map': dilation {} (>= 1, reach < 2^30)", d);
                       return {{{in[0].shape[0], k * k * k}, DType::i32}};
                     },
                     ref::neighbour_map, neighbour_cases, exact});

OpRegistrar reg_unique({"sparse_unique", "distinct coordinate rows sorted by packed key, inverse index, count",
                        [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                          TESSERA_CHECK(in.size() == 1, "op 'sparse_unique' takes coords");
                          check_coords("sparse_unique", in[0]);
                          check_grid("sparse_unique", a);
                          const int64_t n = in[0].shape[0];
                          return {{{n, 4}, DType::i32}, {{n}, DType::i32}, {{1}, DType::i32}};
                        },
                        ref::sparse_unique, [] { return unique_cases(false); }, exact});

OpRegistrar reg_down({"sparse_downsample_coords",
                      "parent coordinates (coord // f) unique-sorted, child -> parent index and child slot",
                      [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                        TESSERA_CHECK(in.size() == 1, "op 'sparse_downsample_coords' takes coords");
                        check_coords("sparse_downsample_coords", in[0]);
                        check_grid("sparse_downsample_coords", a);
                        const int64_t f = a.get_int("factor", 2);
                        TESSERA_CHECK(f >= 1 && f <= 1024, "op 'sparse_downsample_coords': factor {} (1..1024)", f);
                        const int64_t n = in[0].shape[0];
                        return {{{n, 4}, DType::i32}, {{n}, DType::i32}, {{n}, DType::i32}, {{1}, DType::i32}};
                      },
                      ref::sparse_downsample_coords, [] { return unique_cases(true); }, exact});

OpRegistrar reg_occ({"occupancy_to_coords", "argwhere(grid > threshold) of a [B, 1, X, Y, Z] grid, row-major order",
                     [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                       TESSERA_CHECK(in.size() == 1, "op 'occupancy_to_coords' takes grid");
                       const auto& s = in[0].shape;
                       TESSERA_CHECK(dtype_is_float(in[0].dtype) && s.size() == 5 && s[1] == 1,
                                     "op 'occupancy_to_coords': grid must be float [B, 1, X, Y, Z], got {} {}",
                                     dtype_name(in[0].dtype), shape_str(s));
                       const int64_t n = shape_numel(s);
                       TESSERA_CHECK(n < (int64_t(1) << 31), "op 'occupancy_to_coords': {} cells (at most 2^31 - 1)", n);
                       return {{{n, 4}, DType::i32}, {{1}, DType::i32}};
                     },
                     ref::occupancy_to_coords, occupancy_cases, exact});

OpRegistrar reg_off({"batch_offsets", "offsets[b] = number of rows with batch < b, b = 0..B",
                     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                       TESSERA_CHECK(in.size() == 1, "op 'batch_offsets' takes coords");
                       check_coords("batch_offsets", in[0]);
                       const int64_t B = a.get_int("batch", 1);
                       TESSERA_CHECK(B >= 1 && B < (int64_t(1) << 30), "op 'batch_offsets': batch {} outside [1, 2^30)", B);
                       return {{{B + 1}, DType::i32}};
                     },
                     ref::batch_offsets, offsets_cases, exact});

}  // namespace
}  // namespace tessera::ops
