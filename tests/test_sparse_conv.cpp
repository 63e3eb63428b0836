// Sparse conv / resampling beyond the parity cases: order independence of
// sparse_conv3d, device-detected errors of space_to_channel, a C2S -> S2C
// round trip through the nn layer, sparse attention vs a per-object dense
// sdpa, argument validation, and an opt-in timing (TESSERA_SPARSE_BENCH=1).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "ops/attention.hpp"
#include "ops/cast.hpp"
#include "ops/parity.hpp"
#include "ops/sparse_conv.hpp"
#include "ops/sparse_nn.hpp"
#include "ops/sparse_test_data.hpp"
#include "tests/expect_error.hpp"
#include "tests/test_env.hpp"

using namespace tessera;
using test::expect_error;
using sparse_test::Coord;

namespace {

std::vector<float> uniform(std::mt19937_64& rng, size_t n, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = float(d(rng));
  return v;
}

// f32 host values -> a tensor of dtype t on dev (rounded by the cast op on the CPU).
Tensor make(const std::vector<float>& v, const Shape& s, DType t, Device& dev) {
  Tensor x = Tensor::from_vector(v, s, DType::f32, BackendRegistry::get().cpu());
  if (t != DType::f32) x = ops::cast(x, t);
  return x.to(dev);
}

std::vector<int32_t> flat(const std::vector<Coord>& cs) {
  std::vector<int32_t> v;
  for (auto& c : cs) v.insert(v.end(), c.begin(), c.end());
  return v;
}

}  // namespace

// Permuting the rows (and renumbering the map consistently) permutes the output.
TEST(RuntimeSparseConv, OrderIndependence) {
  for (Device* dev : test::test_devices()) {
    for (DType t : {DType::f32, DType::f16}) {
      SCOPED_TRACE(dev->id() + " " + dtype_name(t));
      std::mt19937_64 rng(7);
      const int64_t N = 2500, Ci = 24, Co = 40, K = 27;
      auto coords = sparse_test::random_coords(rng, N, 2, 0.3);
      auto nbr = sparse_test::neighbour_map(coords, 3);
      auto f = uniform(rng, size_t(N * Ci)), w = uniform(rng, size_t(Co * K * Ci)), b = uniform(rng, size_t(Co));
      std::vector<int32_t> perm(static_cast<size_t>(N)), inv(static_cast<size_t>(N));
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      for (int64_t i = 0; i < N; ++i) inv[size_t(perm[size_t(i)])] = int32_t(i);
      std::vector<float> f2(f.size());
      std::vector<int32_t> nbr2(nbr.size());
      for (int64_t i = 0; i < N; ++i) {  // row i of the permuted input = row perm[i] of the original
        const int64_t s = perm[size_t(i)];
        std::copy(f.begin() + s * Ci, f.begin() + (s + 1) * Ci, f2.begin() + i * Ci);
        for (int64_t v = 0; v < K; ++v) {
          const int32_t j = nbr[size_t(s * K + v)];
          nbr2[size_t(i * K + v)] = j < 0 ? -1 : inv[size_t(j)];
        }
      }
      Tensor W = make(w, {Co, 3, 3, 3, Ci}, t, *dev), B = make(b, {Co}, DType::f32, *dev);
      auto y1 = ops::sparse_conv3d(make(f, {N, Ci}, t, *dev), Tensor::from_vector(nbr, {N, K}, DType::i32, *dev), W, &B)
                    .to_double();
      auto y2 = ops::sparse_conv3d(make(f2, {N, Ci}, t, *dev), Tensor::from_vector(nbr2, {N, K}, DType::i32, *dev), W,
                                   &B)
                    .to_double();
      std::vector<double> y1p(y1.size());
      for (int64_t i = 0; i < N; ++i)
        std::copy(y1.begin() + perm[size_t(i)] * Co, y1.begin() + (perm[size_t(i)] + 1) * Co, y1p.begin() + i * Co);
      // Same arithmetic per element whatever the row order: equal up to one f16 rounding tie at most.
      EXPECT_LT(nmse(y2, y1p), t == DType::f32 ? 1e-12 : 1e-7);
    }
  }
}

TEST(RuntimeSparseResample, SpaceToChannelErrorsAreReported) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    // Children (0,2,2,2) and (0,4,2,2) both land in slot 0, and (0,2,2,2) twice in parent 0.
    std::vector<int32_t> cc{0, 2, 2, 2, 0, 3, 2, 2, 0, 2, 2, 2};
    Tensor f = make({1, 2, 3, 4, 5, 6}, {3, 2}, DType::f16, *dev);
    Tensor coords = Tensor::from_vector(cc, {3, 4}, DType::i32, *dev);
    expect_error([&] { ops::sparse_space_to_channel(f, coords, Tensor::from_vector(std::vector<int32_t>{0, 0, 0}, {3}, DType::i32, *dev), 1); },
                 "same slot");
    expect_error([&] { ops::sparse_space_to_channel(f, coords, Tensor::from_vector(std::vector<int32_t>{0, 0, 5}, {3}, DType::i32, *dev), 2); },
                 "outside");
    // And a valid call right after works (the device is not left in a bad state).
    auto ok = ops::sparse_space_to_channel(f, coords, Tensor::from_vector(std::vector<int32_t>{0, 0, 1}, {3}, DType::i32, *dev), 2)
                  .to_double();
    EXPECT_EQ(ok[0], 1);
    EXPECT_EQ(ok[3], 4);
    EXPECT_EQ(ok[16], 5);
  }
}

// C2S through the nn layer (plan, h path, skip path), then S2C back: the parent
// features survive in every created slot, zeros elsewhere.
TEST(RuntimeSparseResample, ChannelToSpaceRoundTrip) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    std::mt19937_64 rng(11);
    const int64_t Np = 3000, Cc = 6;
    auto pc = sparse_test::random_coords(rng, Np, 3, 0.2);
    std::sort(pc.begin(), pc.end());  // batch-major, as SparseTensor requires
    auto feats = uniform(rng, size_t(Np * 8 * Cc));
    auto logits = uniform(rng, size_t(Np * 8));
    SparseTensor parent(Tensor::from_vector(flat(pc), {Np, 4}, DType::i32, *dev), make(feats, {Np, 8 * Cc}, DType::bf16, *dev),
                        {64, 64, 64});
    Tensor L = make(logits, {Np, 8}, DType::f32, *dev);
    auto plan = nn::subdivision_plan(L);
    int64_t expect_n = 0;
    for (float l : logits) expect_n += l > 0;
    ASSERT_EQ(plan.num_children, expect_n);
    SparseTensor child = nn::sparse_channel_to_space(parent, L, plan);
    EXPECT_EQ(child.spatial_shape()[0], 128);
    EXPECT_EQ(child.batch_size(), 3);
    // Skip path: C = 8 Cc channels of x, C/8 = Cc per child, repeated 2 times.
    Tensor skip = nn::sparse_channel_to_space_feats(parent, L, plan, 2);
    ASSERT_EQ(skip.dim(1), 2 * Cc);
    // Parent index of each child, on the host, from the documented order.
    std::vector<int32_t> par;
    for (int64_t p = 0; p < Np; ++p)
      for (int k = 0; k < 8; ++k)
        if (logits[size_t(p * 8 + k)] > 0) par.push_back(int32_t(p));
    auto back = nn::sparse_space_to_channel(child, Tensor::from_vector(par, {int64_t(par.size())}, DType::i32, *dev), Np)
                    .to_double();
    auto pf = parent.feats().to_double();
    auto sk = skip.to_double();
    int64_t c = 0;
    for (int64_t p = 0; p < Np; ++p)
      for (int k = 0; k < 8; ++k) {
        const bool made = logits[size_t(p * 8 + k)] > 0;
        for (int64_t j = 0; j < Cc; ++j) {
          const size_t e = size_t(p * 8 * Cc + k * Cc + j);
          ASSERT_EQ(back[e], made ? pf[e] : 0.0) << p << " " << k << " " << j;
          if (made) {
            ASSERT_EQ(sk[size_t(c * 2 * Cc + 2 * j)], pf[e]);
            ASSERT_EQ(sk[size_t(c * 2 * Cc + 2 * j + 1)], pf[e]);
          }
        }
        c += made;
      }
  }
}

// Sparse attention over batch items = dense sdpa per object.
TEST(RuntimeSparseNN, SdpaPerObjectMatchesDense) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    std::mt19937_64 rng(5);
    const std::vector<int64_t> sizes{37, 130, 5};
    const int64_t H = 2, D = 32, N = 172;
    std::vector<Coord> cs;
    for (int b = 0; b < 3; ++b) {
      auto one = sparse_test::random_coords(rng, sizes[size_t(b)], 1, 0.3);
      for (auto c : one) cs.push_back({b, c[1], c[2], c[3]});
    }
    SparseTensor layout(Tensor::from_vector(flat(cs), {N, 4}, DType::i32, *dev), Tensor(), {64, 64, 64});
    auto q = uniform(rng, size_t(N * H * D), -2, 2), k = uniform(rng, size_t(N * H * D), -2, 2),
         v = uniform(rng, size_t(N * H * D));
    auto got = nn::sparse_sdpa(layout, make(q, {N, H, D}, DType::f32, *dev), make(k, {N, H, D}, DType::f32, *dev),
                               make(v, {N, H, D}, DType::f32, *dev))
                   .to_double();
    int64_t r0 = 0;
    for (int64_t n : sizes) {
      auto slice = [&](const std::vector<float>& x) {
        return make(std::vector<float>(x.begin() + r0 * H * D, x.begin() + (r0 + n) * H * D), {1, n, H, D},
                    DType::f32, *dev);
      };
      auto ref = ops::sdpa(slice(q), slice(k), slice(v)).to_double();
      std::vector<double> g(got.begin() + r0 * H * D, got.begin() + (r0 + n) * H * D);
      EXPECT_LT(nmse(g, ref), 1e-10) << "object of " << n << " voxels";
      r0 += n;
    }
  }
}

TEST(SparseConvValidation, BadArgumentsNameTheOp) {
  Device& cpu = BackendRegistry::get().cpu();
  Tensor f = Tensor::empty({10, 8}, DType::f32, cpu), nbr = Tensor::empty({10, 27}, DType::i32, cpu);
  Tensor w = Tensor::empty({4, 3, 3, 3, 8}, DType::f32, cpu);
  expect_error([&] { ops::sparse_conv3d(f, Tensor::empty({10, 26}, DType::i32, cpu), w); }, "sparse_conv3d");
  expect_error([&] { ops::sparse_conv3d(f, nbr, Tensor::empty({4, 8, 3, 3, 3}, DType::f32, cpu)); }, "FlexGEMM");
  expect_error([&] { ops::sparse_conv3d(f, nbr, Tensor::empty({4, 3, 3, 3, 8}, DType::f16, cpu)); }, "weight");
  Tensor bias16 = Tensor::empty({4}, DType::f16, cpu);
  expect_error([&] { ops::sparse_conv3d(f, nbr, w, &bias16); }, "bias");
  Tensor l = Tensor::empty({5, 8}, DType::f32, cpu), off = Tensor::empty({6}, DType::i32, cpu);
  Tensor pc = Tensor::empty({5, 4}, DType::i32, cpu), pf = Tensor::empty({5, 16}, DType::f32, cpu);
  expect_error([&] { ops::sparse_channel_to_space(pc, pf, l, off, 41); }, "num_children");
  expect_error([&] { ops::sparse_channel_to_space(pc, Tensor::empty({5, 12}, DType::f32, cpu), l, off, 3); },
               "8 C'");
  expect_error([&] { ops::sparse_space_to_channel(pf, pc, Tensor::empty({4}, DType::i32, cpu), 3); }, "parent");
}

// Opt-in timing of the decoder-sized conv: 100k voxels, 256 -> 256, f16 (and
// f32), with a sampled float64 check so the numbers are of correct results.
TEST(RuntimeSparseConvTiming, Voxels100kC256) {
  const char* on = std::getenv("TESSERA_SPARSE_BENCH");
  if (!on || std::string(on) != "1") GTEST_SKIP() << "set TESSERA_SPARSE_BENCH=1";
  const int64_t N = 100000, C = 256, K = 27;
  std::mt19937_64 rng(3);
  auto coords = sparse_test::random_coords(rng, N, 1, 0.15);
  std::sort(coords.begin(), coords.end());  // lexicographic (x, y, z): spatially coherent row order
  auto nbr = sparse_test::neighbour_map(coords, 3);
  int64_t nn = 0;
  for (int32_t j : nbr) nn += j >= 0;
  auto f = uniform(rng, size_t(N * C)), w = uniform(rng, size_t(C * K * C), -0.05, 0.05), b = uniform(rng, size_t(C));
  for (Device* dev : test::test_devices()) {
    const bool cpu = dev->id().rfind("cpu", 0) == 0;
    for (DType t : cpu ? std::vector<DType>{DType::f16, DType::f32} : std::vector<DType>{DType::f16}) {
      Tensor F = make(f, {N, C}, t, *dev), W = make(w, {C, 3, 3, 3, C}, t, *dev), B = make(b, {C}, DType::f32, *dev);
      Tensor M = Tensor::from_vector(nbr, {N, K}, DType::i32, *dev);
      {  // warm-up on a tiny input (kernel compile)
        Tensor f1 = make(std::vector<float>(size_t(C), 0.5f), {1, C}, t, *dev);
        std::vector<int32_t> n1(size_t(K), -1);
        n1[13] = 0;
        ops::sparse_conv3d(f1, Tensor::from_vector(n1, {1, K}, DType::i32, *dev), W, &B);
      }
      dev->synchronize();
      auto t0 = std::chrono::steady_clock::now();
      Tensor Y = ops::sparse_conv3d(F, M, W, &B);
      dev->synchronize();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      auto y = Y.to_double();
      auto fd = F.to_double(), wd = W.to_double();
      double num = 0, den = 0;
      for (int64_t i = 0; i < N; i += 997)
        for (int64_t co = 0; co < C; ++co) {
          double acc = b[size_t(co)];
          for (int64_t v = 0; v < K; ++v) {
            int32_t j = nbr[size_t(i * K + v)];
            if (j < 0) continue;
            for (int64_t ci = 0; ci < C; ++ci) acc += wd[size_t((co * K + v) * C + ci)] * fd[size_t(j * C + ci)];
          }
          num += (y[size_t(i * C + co)] - acc) * (y[size_t(i * C + co)] - acc);
          den += acc * acc;
        }
      std::printf("[sparse_conv3d timing] %s %s: N=%lld C=256->256 avg neighbours %.2f: %.3f s (%.1f GFLOP/s useful), nmse %.2e\n",
                  dev->id().c_str(), dtype_name(t), (long long)N, double(nn) / double(N), s,
                  2.0 * double(nn) * C * C / s / 1e9, num / den);
      EXPECT_LT(num / den, t == DType::f32 ? 1e-8 : 1e-5);
    }
  }
}

// The nn layer keeps the coordinates (and their cache) and checks the map's row count.
TEST(RuntimeSparseNN, ConvLayerKeepsCoordinates) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    std::mt19937_64 rng(9);
    const int64_t N = 300, C = 16;
    auto cs = sparse_test::random_coords(rng, N, 1, 0.3);
    auto nbr = sparse_test::neighbour_map(cs, 3);
    SparseTensor x(Tensor::from_vector(flat(cs), {N, 4}, DType::i32, *dev), make(uniform(rng, size_t(N * C)), {N, C}, DType::f32, *dev),
                   {64, 64, 64});
    x.set_cached("nbr:k3", std::make_shared<int>(1));
    Tensor W = make(uniform(rng, size_t(C * 27 * C)), {C, 3, 3, 3, C}, DType::f32, *dev);
    Tensor M = Tensor::from_vector(nbr, {N, 27}, DType::i32, *dev);
    SparseTensor y = nn::sparse_conv3d(x, W, nullptr, M);
    EXPECT_EQ(y.coords().buffer_ptr(), x.coords().buffer_ptr());
    EXPECT_NE(y.cached("nbr:k3"), nullptr);
    EXPECT_EQ(nmse(y.feats().to_double(), ops::sparse_conv3d(x.feats(), M, W).to_double()), 0.0);
    Tensor M2 = Tensor::from_vector(std::vector<int32_t>(size_t(10 * 27), -1), {10, 27}, DType::i32, *dev);
    expect_error([&] { nn::sparse_conv3d(x, W, nullptr, M2); }, "neighbour map");
  }
}
