// Voxel hash map, neighbour maps and coordinate utilities beyond the parity
// cases: device-detected errors (full table, bad coordinates) come back as
// tessera::Error in bounded time, high-load concurrent inserts lose no key
// (the "weak CAS gap"), results do not depend on the input row order, and the
// SparseTensor cache is hit. Runtime* suites run once per requested backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <unordered_set>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/sparse_hash.hpp"
#include "ops/sparse_hash.hpp"
#include "tests/test_env.hpp"

using namespace tessera;
using sparse::Grid;

namespace {

// n distinct random rows on the grid, random order.
std::vector<int32_t> unique_rows(std::mt19937_64& rng, const Grid& g, int64_t n) {
  std::unordered_set<int64_t> seen;
  std::uniform_int_distribution<int64_t> pick(0, g.space() - 1);
  std::vector<int32_t> c;
  while (int64_t(seen.size()) < n) {
    int64_t k = pick(rng);
    if (!seen.insert(k).second) continue;
    int32_t r[4];
    g.unpack(k, r);
    c.insert(c.end(), r, r + 4);
  }
  return c;
}

Tensor rows_tensor(const std::vector<int32_t>& c, Device& dev) {
  return Tensor::from_vector(c, {int64_t(c.size() / 4), 4}, DType::i32, dev);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(RuntimeSparseHash, FullTableIsAnErrorInBoundedTime) {
  std::mt19937_64 rng(test::base_seed());
  const Grid g{2, 32, 32, 32};
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    for (int64_t n : {int64_t(2), int64_t(1000), int64_t(20000)}) {
      auto c = unique_rows(rng, g, n);
      Tensor t = rows_tensor(c, *dev);
      auto t0 = std::chrono::steady_clock::now();
      try {
        ops::hash_build(t, {g.W, g.H, g.D}, g.B, n - 1);
        dev->synchronize();
        ADD_FAILURE() << "capacity " << n - 1 << " for " << n << " distinct keys did not throw";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("full"), std::string::npos) << e.what();
      }
      EXPECT_LT(seconds_since(t0), 60.0);
      // Exactly full (capacity == distinct keys) is valid, and probing absent
      // keys in it terminates (every probe loop is bounded by the capacity).
      auto tab = ops::hash_build(t, {g.W, g.H, g.D}, g.B, n);
      std::vector<int64_t> keys = tab.keys.to_vector<int64_t>();
      EXPECT_EQ(std::count(keys.begin(), keys.end(), int64_t(-1)), 0);
      std::vector<int32_t> q = c;
      std::vector<int32_t> absent = unique_rows(rng, Grid{1, 32, 32, 32}, 64);
      for (size_t i = 0; i < absent.size(); i += 4) absent[i] = 1;  // batch 1
      q.insert(q.end(), absent.begin(), absent.end());
      auto got = ops::hash_probe(tab, rows_tensor(q, *dev)).to_vector<int32_t>();
      std::unordered_set<int64_t> present;
      for (int64_t i = 0; i < n; ++i) present.insert(g.pack(c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]));
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[size_t(i)], i) << "stored row " << i;
      for (size_t i = size_t(n); i < got.size(); ++i) {
        const int32_t* r = &q[4 * i];
        if (!present.count(g.pack(r[0], r[1], r[2], r[3]))) {
          ASSERT_EQ(got[i], -1) << "absent query " << i;
        }
      }
    }
  }
}

TEST(RuntimeSparseHash, BadCoordinatesAreErrors) {
  const Grid g{2, 8, 9, 10};
  const std::vector<std::vector<int32_t>> bad = {
      {0, 8, 0, 0}, {0, 0, 9, 0}, {0, 0, 0, 10}, {2, 0, 0, 0}, {-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 0, INT32_MIN}};
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    for (const auto& b : bad) {
      std::vector<int32_t> c = {0, 1, 2, 3, 1, 7, 8, 9};
      c.insert(c.end(), b.begin(), b.end());
      Tensor t = rows_tensor(c, *dev);
      EXPECT_THROW(ops::hash_build(t, {g.W, g.H, g.D}, g.B), Error);
      EXPECT_THROW(ops::sparse_unique(t, {g.W, g.H, g.D}, g.B), Error);
      EXPECT_THROW(ops::sparse_downsample_coords(t, {g.W, g.H, g.D}, g.B, 2), Error);
      if (b[0] < 0 || b[0] >= 2) {
        EXPECT_THROW(ops::batch_offsets(t, g.B), Error);
      }
    }
    // Bad attributes are caught before any kernel runs.
    Tensor t = rows_tensor({0, 1, 2, 3}, *dev);
    EXPECT_THROW(ops::hash_build(t, {0, 4, 4}, 1), Error);
    EXPECT_THROW(ops::hash_build(t, {1 << 20, 1 << 20, 1 << 20}, 1 << 20), Error);  // key space > 2^53
    auto tab = ops::hash_build(t, {4, 4, 4}, 1);
    EXPECT_THROW(ops::neighbour_map(t, tab, 4, 1), Error);  // even kernel
    EXPECT_THROW(ops::neighbour_map(t, tab, 3, 0), Error);
  }
}

// High load, many threads inserting at once: every key must be found again
// (a lost or spuriously failing CAS must not leave a gap in a probe chain).
TEST(RuntimeSparseHash, HighLoadConcurrentInsertLosesNoKey) {
  std::mt19937_64 rng(test::base_seed() + 1);
  const Grid g{3, 64, 64, 64};
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    for (double load : {0.9, 0.99, 1.0}) {
      const int64_t n = 30000, cap = int64_t(double(n) / load + 0.5);
      auto c = unique_rows(rng, g, n);
      Tensor t = rows_tensor(c, *dev);
      auto tab = ops::hash_build(t, {g.W, g.H, g.D}, g.B, cap);
      auto why = ref::check_hash_table(c, g, tab.keys.to_vector<int64_t>(), tab.vals.to_vector<int32_t>());
      EXPECT_EQ(why, "") << "load " << load;
      auto got = ops::hash_probe(tab, t).to_vector<int32_t>();
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[size_t(i)], i) << "load " << load;
    }
  }
}

// Same set, rows permuted: probes, neighbour maps, unique and downsample
// results are the permuted (or identical) results.
TEST(RuntimeSparseHash, ResultsIndependentOfRowOrder) {
  std::mt19937_64 rng(test::base_seed() + 2);
  const Grid g{2, 20, 21, 22};
  const int64_t n = 4000;
  auto c = unique_rows(rng, g, n);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int32_t> pc(c.size());  // pc row i = c row perm[i]
  for (int64_t i = 0; i < n; ++i) std::copy_n(&c[size_t(4 * perm[size_t(i)])], 4, &pc[size_t(4 * i)]);
  std::vector<int64_t> inv_perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) inv_perm[size_t(perm[size_t(i)])] = i;
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    Tensor a = rows_tensor(c, *dev), b = rows_tensor(pc, *dev);
    auto ta = ops::hash_build(a, {g.W, g.H, g.D}, g.B), tb = ops::hash_build(b, {g.W, g.H, g.D}, g.B);
    auto pa = ops::hash_probe(ta, a).to_vector<int32_t>(), pb = ops::hash_probe(tb, a).to_vector<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(pa[size_t(i)], i);
      ASSERT_EQ(pb[size_t(i)], inv_perm[size_t(i)]);
    }
    for (int64_t d : {int64_t(1), int64_t(2)}) {
      auto ma = ops::neighbour_map(a, ta, 3, d).to_vector<int32_t>();
      auto mb = ops::neighbour_map(b, tb, 3, d).to_vector<int32_t>();
      for (int64_t i = 0; i < n; ++i)
        for (int v = 0; v < 27; ++v) {
          const int32_t x = ma[size_t(perm[size_t(i)] * 27 + v)], y = mb[size_t(i * 27 + v)];
          ASSERT_EQ(y, x < 0 ? -1 : int32_t(inv_perm[size_t(x)])) << "row " << i << " v " << v;
        }
    }
    auto ua = ops::sparse_downsample_coords(a, {g.W, g.H, g.D}, g.B, 2);
    auto ub = ops::sparse_downsample_coords(b, {g.W, g.H, g.D}, g.B, 2);
    EXPECT_EQ(ua.count, ub.count);
    EXPECT_EQ(ua.coords.to_vector<int32_t>(), ub.coords.to_vector<int32_t>());
    auto ia = ua.inverse.to_vector<int32_t>(), ib = ub.inverse.to_vector<int32_t>();
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(ib[size_t(i)], ia[size_t(perm[size_t(i)])]);
  }
}

// The SparseTensor layer builds the table and each neighbour map once and
// shares them with every tensor made by with_feats().
TEST(RuntimeSparseHash, SparseTensorCacheIsHit) {
  std::mt19937_64 rng(test::base_seed() + 3);
  const Grid g{1, 16, 16, 16};
  auto c = unique_rows(rng, g, 500);
  // sort by packed key (SparseTensor wants batch-sorted rows)
  std::vector<std::array<int32_t, 4>> rows(c.size() / 4);
  for (size_t i = 0; i < rows.size(); ++i) std::copy_n(&c[4 * i], 4, rows[i].begin());
  std::sort(rows.begin(), rows.end());
  for (size_t i = 0; i < rows.size(); ++i) std::copy_n(rows[i].begin(), 4, &c[4 * i]);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    Tensor feats = Tensor::empty({500, 8}, DType::f32, *dev);
    SparseTensor x(rows_tensor(c, *dev), feats, {16, 16, 16});
    EXPECT_EQ(x.cached("hash"), nullptr);
    Tensor m1 = ops::sparse_neighbour_map(x, 3, 1);
    ASSERT_NE(x.cached("hash"), nullptr);
    ASSERT_NE(x.cached("nbr:k3:d1"), nullptr);
    auto h1 = ops::sparse_hash(x);
    SparseTensor y = x.with_feats(Tensor::empty({500, 4}, DType::f32, *dev));
    Tensor m2 = ops::sparse_neighbour_map(y, 3, 1);
    EXPECT_EQ(m1.buffer_ptr(), m2.buffer_ptr()) << "second layer rebuilt the neighbour map";
    EXPECT_EQ(ops::sparse_hash(y).get(), h1.get()) << "second layer rebuilt the hash table";
    Tensor m3 = ops::sparse_neighbour_map(y, 3, 2);
    EXPECT_NE(m3.buffer_ptr(), m1.buffer_ptr());
    EXPECT_NE(x.cached("nbr:k3:d2"), nullptr);
    EXPECT_EQ(ops::sparse_hash(y).get(), h1.get()) << "a new kernel shape must reuse the table";
    auto d1 = ops::sparse_downsample(x, 2);
    EXPECT_NE(x.cached("down:f2"), nullptr);
    EXPECT_EQ(ops::sparse_downsample(y, 2).get(), d1.get()) << "second layer recomputed the parents";
    EXPECT_EQ(d1->coords.dim(0), d1->count);
    // The map is the reference's.
    std::vector<HostTensor> in{{{500, 4}, DType::i32, std::vector<double>(c.begin(), c.end())}};
    auto keys = h1->keys.to_vector<int64_t>();
    auto vals = h1->vals.to_vector<int32_t>();
    in.push_back({{int64_t(keys.size())}, DType::i64, std::vector<double>(keys.begin(), keys.end())});
    in.push_back({{int64_t(vals.size())}, DType::i32, std::vector<double>(vals.begin(), vals.end())});
    std::vector<HostTensor> out{{{500, 27}, DType::i32, std::vector<double>(500 * 27)}};
    ref::neighbour_map(in, out,
                       Attrs().set("shape", std::vector<int64_t>{16, 16, 16}).set("batch", int64_t(1)));
    auto got = m1.to_vector<int32_t>();
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], int32_t(out[0].data[i])) << i;
  }
}

// TRELLIS.2 conventions, on the CPU: argwhere order of the occupancy grid,
// and SparseSpatial2Channel's parent key / child slot.
TEST(SparseHash, TrellisConventions) {
  Device& cpu = BackendRegistry::get().cpu();
  // grid [2, 1, 3, 4, 5] with cells set at known places
  std::vector<float> grid(2 * 3 * 4 * 5, -1.f);
  auto at = [](int b, int x, int y, int z) { return ((b * 3 + x) * 4 + y) * 5 + z; };
  grid[size_t(at(1, 0, 0, 0))] = 1.f;
  grid[size_t(at(0, 2, 3, 4))] = 1.f;
  grid[size_t(at(0, 0, 1, 0))] = 1.f;
  auto c = ops::occupancy_to_coords(Tensor::from_vector(grid, {2, 1, 3, 4, 5}, DType::f32, cpu)).to_vector<int32_t>();
  EXPECT_EQ(c, (std::vector<int32_t>{0, 0, 1, 0, 0, 2, 3, 4, 1, 0, 0, 0}));
  // parents of (0,3,2,5) and (0,2,3,4) on a 5x5x6 grid: (0,1,1,2) both; slots 1+0+4=5 and 0+2+0=2
  auto d = ops::sparse_downsample_coords(
      Tensor::from_vector(std::vector<int32_t>{0, 3, 2, 5, 0, 2, 3, 4, 1, 0, 0, 0}, {3, 4}, DType::i32, cpu), {5, 5, 6},
      2, 2);
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.coords.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 1, 2, 1, 0, 0, 0}));
  EXPECT_EQ(d.inverse.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(d.subidx.to_vector<int32_t>(), (std::vector<int32_t>{5, 2, 0}));
}

// The structural table check (used as OpDef::check) must reject broken tables:
// a gap in a probe chain, a lost key, a wrong value, poison.
TEST(SparseHash, TableCheckRejectsBrokenTables) {
  std::mt19937_64 rng(test::base_seed() + 4);
  const Grid g{2, 16, 16, 16};
  auto c = unique_rows(rng, g, 900);
  std::vector<int64_t> keys;
  std::vector<int32_t> vals;
  ASSERT_EQ(ref::host_hash_build(c, g, 1000, keys, vals), 0);
  ASSERT_EQ(ref::check_hash_table(c, g, keys, vals), "");
  // A key displaced from its home slot, with the slot before it emptied: a gap.
  int64_t s = -1;
  for (int64_t i = 0; i < 1000 && s < 0; ++i)
    if (keys[size_t(i)] >= 0 && sparse::home_slot(keys[size_t(i)], g.small(), 1000) != i) s = i;
  ASSERT_GE(s, 0);
  {
    auto k = keys;
    auto v = vals;
    const int64_t prev = (s + 999) % 1000;
    k[size_t(prev)] = -1;
    v[size_t(prev)] = -1;
    EXPECT_NE(ref::check_hash_table(c, g, k, v), "");
  }
  {
    auto v = vals;
    v[size_t(s)] = (v[size_t(s)] + 1) % 900;
    EXPECT_NE(ref::check_hash_table(c, g, keys, v), "");
  }
  {
    auto k = keys;
    auto v = vals;
    for (size_t i = 0; i < k.size(); ++i)
      if (k[i] == -1) {
        k[i] = int64_t(0xdeadbeefdeadbeefull);
        v[i] = int32_t(0xdeadbeefu);
        break;
      }
    EXPECT_NE(ref::check_hash_table(c, g, k, v), "");
  }
  // Duplicates keep the smallest row.
  std::vector<int32_t> d = {0, 1, 1, 1, 0, 2, 2, 2, 0, 1, 1, 1};
  ASSERT_EQ(ref::host_hash_build(d, g, 4, keys, vals), 0);
  EXPECT_EQ(ref::host_hash_probe(keys, vals, g, g.pack(0, 1, 1, 1)), 0);
  std::vector<int32_t> bad_v = vals;
  for (auto& x : bad_v)
    if (x == 0) x = 2;
  EXPECT_NE(ref::check_hash_table(d, g, keys, bad_v), "");
}

// Absent keys in an exactly full table of 200k slots probe the whole table.
// Every backend must return the exact answer or throw (lavapipe cuts shader
// loops after 65,535 iterations: that must become an Error, never a wrong -1
// or row).
TEST(RuntimeSparseHash, LongProbeChainsAreExactOrAnError) {
  std::mt19937_64 rng(test::base_seed() + 5);
  const Grid g{1, 64, 64, 64};
  const int64_t n = 200000;
  std::vector<int64_t> all(size_t(g.space()));
  std::iota(all.begin(), all.end(), int64_t(0));
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<int32_t> c(size_t(4 * n)), q;
  for (int64_t i = 0; i < n; ++i) g.unpack(all[size_t(i)], &c[size_t(4 * i)]);
  std::vector<int64_t> keys;
  std::vector<int32_t> vals;
  ASSERT_EQ(ref::host_hash_build(c, g, n, keys, vals), 0);
  for (int64_t i = 0; i < 40; ++i) {  // 20 absent, 20 present
    int32_t r[4];
    g.unpack(all[size_t(i % 2 ? n + i : i * 997)], r);
    q.insert(q.end(), r, r + 4);
  }
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    ops::HashTable t{Tensor::from_vector(keys, {n}, DType::i64, *dev), Tensor::from_vector(vals, {n}, DType::i32, *dev),
                     g};
    auto t0 = std::chrono::steady_clock::now();
    try {
      auto got = ops::hash_probe(t, rows_tensor(q, *dev)).to_vector<int32_t>();
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], ref::host_hash_probe(keys, vals, g, g.pack(q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3])))
            << i;
    } catch (const Error& e) {
      EXPECT_TRUE(dev->info().software) << "only CPU implementations may refuse: " << e.what();
      EXPECT_NE(std::string(e.what()).find("loop"), std::string::npos) << e.what();
    }
    EXPECT_LT(seconds_since(t0), 60.0);
  }
}

// Empty coordinate sets are valid everywhere.
TEST(RuntimeSparseHash, EmptyInputs) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    Tensor e = Tensor::empty({0, 4}, DType::i32, *dev);
    auto t = ops::hash_build(e, {4, 4, 4}, 2);
    EXPECT_EQ(t.capacity(), 1);
    // capacity from a load factor: ceil(3 / 0.7) = 5
    auto r = OpRegistry::get().call("hash_build", {rows_tensor({0, 1, 1, 1, 1, 3, 3, 3, 0, 0, 0, 0}, *dev)},
                                    Attrs().set("shape", std::vector<int64_t>{4, 4, 4}).set("batch", int64_t(2))
                                        .set("load_factor", 0.7));
    EXPECT_EQ(r[0].dim(0), 5);
    EXPECT_EQ(t.vals.to_vector<int32_t>(), std::vector<int32_t>{-1});
    EXPECT_EQ(t.keys.to_vector<int64_t>(), std::vector<int64_t>{-1});
    EXPECT_EQ(ops::hash_probe(t, rows_tensor({0, 1, 1, 1, 1, 3, 3, 3}, *dev)).to_vector<int32_t>(),
              (std::vector<int32_t>{-1, -1}));
    EXPECT_EQ(ops::neighbour_map(e, t).numel(), 0);
    EXPECT_EQ(ops::sparse_unique(e, {4, 4, 4}, 2).count, 0);
    EXPECT_EQ(ops::sparse_downsample_coords(e, {4, 4, 4}, 2).count, 0);
    EXPECT_EQ(ops::batch_offsets(e, 3).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 0, 0}));
  }
}
