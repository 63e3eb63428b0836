// Public calls of sigmoid / softplus / axpby / moments on known values, and
// their argument errors (the parity suite covers the kernels per backend).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

using namespace tessera;

namespace {
Device& cpu() { return BackendRegistry::get().cpu(); }
}  // namespace

TEST(OpsApi, SigmoidAndSoftplusKnownValues) {
  Tensor x = Tensor::from_vector(std::vector<float>{-100.f, -30.f, 0.f, 21.f, 100.f}, {5}, DType::f32, cpu());
  auto s = ops::sigmoid(x).to_double();
  EXPECT_NEAR(s[1] / std::exp(-30.0), 1.0, 1e-6);  // relative accuracy far below 1
  EXPECT_EQ(s[2], 0.5);
  EXPECT_EQ(s[4], 1.0);
  auto p = ops::softplus(x).to_double();
  EXPECT_NEAR(p[1] / std::exp(-30.0), 1.0, 1e-6);
  EXPECT_NEAR(p[2], std::log(2.0), 1e-7);
  EXPECT_EQ(p[3], 21.0);  // above the threshold: x itself
  EXPECT_EQ(p[4], 100.0);
}

TEST(OpsApi, AxpbyKeepsADtypeAndChecksShapes) {
  Tensor a = Tensor::from_vector(std::vector<float>{1.f, 2.f, 3.f}, {3}, DType::f32, cpu());
  std::vector<uint16_t> bb{f32_to_bf16(4.f), f32_to_bf16(5.f), f32_to_bf16(6.f)};
  Tensor b = Tensor::from_vector(bb, {3}, DType::bf16, cpu());
  Tensor y = ops::axpby(a, b, 2.0, -0.5);
  EXPECT_EQ(y.dtype(), DType::f32);
  EXPECT_EQ(y.to_double(), (std::vector<double>{0.0, 1.5, 3.0}));
  Tensor c = Tensor::empty({1, 3}, DType::f32, cpu());
  try {
    ops::axpby(a, c, 1.0, 1.0);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("axpby"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 3]"), std::string::npos) << m;
  }
  EXPECT_THROW(ops::axpby(a, Tensor::empty({3}, DType::i32, cpu()), 1.0, 1.0), Error);
}

TEST(OpsApi, MomentsKnownValuesAndCorrection) {
  Tensor x = Tensor::from_vector(std::vector<float>{1.f, 2.f, 3.f, 4.f}, {2, 2}, DType::f32, cpu());
  Tensor m = ops::moments(x);
  EXPECT_EQ(m.shape(), Shape({2}));
  EXPECT_EQ(m.dtype(), DType::f32);
  auto v = m.to_double();
  EXPECT_EQ(v[0], 2.5);
  EXPECT_NEAR(v[1], std::sqrt(5.0 / 3.0), 1e-7);
  EXPECT_NEAR(ops::moments(x, 0).to_double()[1], std::sqrt(5.0 / 4.0), 1e-7);
}

TEST(OpsApi, MomentsNeedsMoreElementsThanCorrection) {
  Tensor one = Tensor::empty({1}, DType::f32, cpu());
  try {
    ops::moments(one);  // n - correction = 0
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("moments"), std::string::npos) << m;
    EXPECT_NE(m.find("[1]"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(ops::moments(one, 0));
  EXPECT_THROW(ops::moments(Tensor::empty({0, 4}, DType::f32, cpu()), 0), Error);
  EXPECT_THROW(ops::moments(Tensor::empty({3}, DType::i32, cpu())), Error);
}
