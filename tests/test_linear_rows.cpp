// linear with bf16 rows of very different magnitudes, checked row by row: a
// whole-output NMSE is dominated by the large rows and would not see a wrong
// small one. Covers every backend (and, under TESSERA_VK_GEMM=scaled16, the
// Vulkan path that scales each row by its own power of two into f16).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.hpp"
#include "ops/linear.hpp"
#include "tests/test_env.hpp"

using namespace tessera;

TEST(RuntimeLinearRows, EveryRowMatchesAtItsOwnScale) {
  const int64_t M = 24, N = 20, K = 200;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  // Row magnitudes from 1e-30 to 1e30 (x) and 1e-6 to 1e6 (w): far outside f16 at both ends.
  auto row_scale = [](int64_t r, int64_t rows, double lo, double hi) {
    return std::pow(10.0, lo + (hi - lo) * double(r) / double(rows - 1));
  };
  std::vector<uint16_t> xb(size_t(M * K)), wb(size_t(N * K));
  std::vector<double> xd(xb.size()), wd(wb.size());
  for (int64_t i = 0; i < M * K; ++i) {
    xb[size_t(i)] = f32_to_bf16(float(u(rng) * row_scale(i / K, M, -30, 30)));
    xd[size_t(i)] = bf16_to_f32(xb[size_t(i)]);
  }
  for (int64_t i = 0; i < N * K; ++i) {
    wb[size_t(i)] = f32_to_bf16(float(u(rng) * row_scale(i / K, N, -6, 6)));
    wd[size_t(i)] = bf16_to_f32(wb[size_t(i)]);
  }
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    Tensor x = Tensor::from_vector(xb, {M, K}, DType::bf16, *dev), w = Tensor::from_vector(wb, {N, K}, DType::bf16, *dev);
    Tensor y = ops::linear(x, w, nullptr, DType::f32);
    const std::vector<float> got = y.to_vector<float>();
    for (int64_t m = 0; m < M; ++m) {
      double err = 0, ref2 = 0;
      for (int64_t n = 0; n < N; ++n) {
        double r = 0;
        for (int64_t k = 0; k < K; ++k) r += xd[size_t(m * K + k)] * wd[size_t(n * K + k)];
        const double g = got[size_t(m * N + n)];
        ASSERT_TRUE(std::isfinite(g)) << "row " << m << " col " << n;
        err += (g - r) * (g - r);
        ref2 += r * r;
      }
      // f32 accumulation of exact bf16 products: relative error ~1e-7 per row at any scale.
      EXPECT_LE(err, 1e-10 * ref2) << "row " << m << " (x scale " << row_scale(m, M, -30, 30) << ")";
    }
  }
}
