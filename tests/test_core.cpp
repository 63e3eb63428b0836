#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/broadcast.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "core/sparse_tensor.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/tolerance.hpp"
#include "tests/test_env.hpp"

using namespace tessera;

// ---- dtype conversions -------------------------------------------------------

TEST(DType, F16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
  }
}

TEST(DType, F16RoundsToNearestEvenAndOverflowsToInf) {
  // Independent oracle: among all finite f16 values pick the nearest (ties to even mantissa).
  std::vector<std::pair<double, uint16_t>> vals;
  for (uint32_t h = 0; h < 0x7c00; ++h) vals.push_back({f16_to_f32(uint16_t(h)), uint16_t(h)});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(0.f, 65504.f);
  std::uniform_real_distribution<float> tiny(0.f, 1e-4f);
  for (int i = 0; i < 20000; ++i) {
    float f = i % 2 ? d(rng) : tiny(rng);
    auto it = std::lower_bound(vals.begin(), vals.end(), std::make_pair(double(f), uint16_t(0)));
    uint16_t best = it->second;
    if (it != vals.begin()) {
      auto lo = std::prev(it);
      double dl = f - lo->first, dh = it->first - f;
      if (dl < dh || (dl == dh && (lo->second & 1) == 0)) best = lo->second;
    }
    ASSERT_EQ(f32_to_f16(f), best) << f;
    ASSERT_EQ(f32_to_f16(-f), best | 0x8000) << -f;
  }
  EXPECT_EQ(f32_to_f16(65520.f), 0x7c00);  // halfway to the next binade rounds up -> inf
  EXPECT_EQ(f32_to_f16(65519.f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e30f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
}

TEST(DType, BF16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  float x;
  uint32_t u = 0x3f808000u;  // exactly halfway between 0x3f80 and 0x3f81 -> even (0x3f80)
  std::memcpy(&x, &u, 4);
  EXPECT_EQ(f32_to_bf16(x), 0x3f80);
  u = 0x3f818000u;  // halfway, odd lower -> rounds up to 0x3f82
  std::memcpy(&x, &u, 4);
  EXPECT_EQ(f32_to_bf16(x), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(3e38f)), bf16_to_f32(f32_to_bf16(3e38f)));
}

TEST(DType, NamesParseAndErrorsListChoices) {
  EXPECT_EQ(dtype_from_name("bfloat16"), DType::bf16);
  try {
    dtype_from_name("f8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32, f16, bf16"), std::string::npos);
  }
}

// ---- broadcasting ------------------------------------------------------------

TEST(Broadcast, CollapsesAndZeroStrides) {
  auto p = broadcast_plan("t", {{4, 1, 33}, {5, 1}});
  EXPECT_EQ(p.out_shape, (Shape{4, 5, 33}));
  auto q = broadcast_plan("t", {{8, 16}, {8, 16}});
  EXPECT_EQ(q.dims, (Shape{128}));  // contiguous: one dimension
  auto r = broadcast_plan("t", {{37, 129}, {129}});
  EXPECT_EQ(r.dims, (Shape{37, 129}));
  EXPECT_EQ(r.strides[1], (Shape{0, 1}));
  try {
    broadcast_plan("add", {{2, 3}, {4}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3] and [4]"), std::string::npos) << e.what();
  }
}

// ---- registry ----------------------------------------------------------------

TEST(Registry, EveryKernelHasAnOpAndTestCases) {
  auto& reg = OpRegistry::get();
  for (auto& [op, be] : reg.orphan_kernels()) ADD_FAILURE() << "kernel for undeclared op '" << op << "' on " << be;
  for (auto& op : reg.op_names()) {
    if (reg.kernel_backends(op).empty()) continue;
    int normal = 0;
    for (auto& c : reg.op(op).cases()) normal += !c.scale;
    EXPECT_GT(normal, 0) << "op '" << op << "' is registered on a backend but has no test cases";
    EXPECT_TRUE(reg.op(op).reference) << op;
  }
}

TEST(Registry, EveryOpOnEveryTestedBackendHasSupportedCases) {
  // An op registered on a backend whose supports() declines every case would pass
  // the parity suite vacuously: fail instead.
  auto& reg = OpRegistry::get();
  for (Device* dev : test::test_devices()) {
    for (auto& op : reg.op_names()) {
      if (!reg.has_kernel(op, dev->backend())) continue;
      int ok = 0;
      for (auto& c : reg.op(op).cases()) {
        if (c.scale) continue;
        OpArgs a;
        a.attrs = c.attrs;
        for (auto& d : c.inputs) a.in.push_back(Tensor::empty(d.shape, d.dtype, *dev));
        for (auto& d : reg.op(op).infer(c.inputs, c.attrs)) a.out.push_back(Tensor::empty(d.shape, d.dtype, *dev));
        ok += reg.supports(op, *dev, a).empty();
      }
      EXPECT_GT(ok, 0) << op << " on " << dev->id() << " supports none of its test cases";
    }
  }
}

TEST(Registry, BadArgumentsNameTheOpAndShapes) {
  Device& cpu = BackendRegistry::get().cpu();
  Tensor x = Tensor::empty({4, 8}, DType::f32, cpu);
  Tensor w = Tensor::empty({3, 9}, DType::f32, cpu);
  try {
    ops::linear(x, w);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("linear"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 8]"), std::string::npos) << m;
    EXPECT_NE(m.find("[3, 9]"), std::string::npos) << m;
  }
  Tensor h = Tensor::empty({4, 8}, DType::f16, cpu);
  EXPECT_THROW(ops::add(x, h), Error);
  EXPECT_THROW(OpRegistry::get().call("no_such_op", {x}), Error);
}

TEST(Registry, MixedDevicesAreAnError) {
  auto devs = test::test_devices();
  Device& cpu = BackendRegistry::get().cpu();
  for (Device* d : devs) {
    if (d == &cpu) continue;
    Tensor a = Tensor::empty({4}, DType::f32, cpu);
    Tensor b = Tensor::empty({4}, DType::f32, *d);
    EXPECT_THROW(ops::add(a, b), Error);
    return;
  }
  GTEST_SKIP() << "needs a non-CPU device";
}

// A test-only op with a CPU kernel alone, to exercise the fallback policy.
namespace {
OpRegistrar reg_neg({"test_negate", "test-only: -x (CPU kernel only)",
                     [](const std::vector<TensorDesc>& in, const Attrs&) { return std::vector<TensorDesc>{in[0]}; },
                     [](const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs&) {
                       for (size_t i = 0; i < in[0].data.size(); ++i) out[0].data[i] = -in[0].data[i];
                     },
                     [] { return std::vector<TestCase>{{"n100", {{{100}, DType::f32}}}}; },
                     [](DType, const std::vector<TensorDesc>&, const Attrs&) { return tol::kExactF32; }});
KernelRegistrar k_neg("test_negate", "cpu", [](Device&, OpArgs& a) {
  auto v = a.in[0].to_vector<float>();
  for (auto& x : v) x = -x;
  a.out[0].copy_from_host(v.data());
});
}  // namespace

TEST(Registry, UnsupportedOpErrorsUnlessCpuFallbackIsOn) {
  auto& reg = OpRegistry::get();
  Device& cpu = BackendRegistry::get().cpu();
  for (Device* d : test::test_devices()) {
    if (d == &cpu) continue;
    std::vector<float> v{1, -2, 3};
    Tensor x = Tensor::from_vector(v, {3}, DType::f32, *d);
    reg.set_fallback(FallbackPolicy::error);
    try {
      reg.call("test_negate", {x});
      ADD_FAILURE() << "no error on " << d->id();
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("test_negate"), std::string::npos) << m;
      EXPECT_NE(m.find(d->id()), std::string::npos) << m;
      EXPECT_NE(m.find("fallback"), std::string::npos) << m;
    }
    reg.set_fallback(FallbackPolicy::cpu);
    Tensor y = reg.call("test_negate", {x})[0];
    reg.set_fallback(FallbackPolicy::error);
    EXPECT_EQ(&y.device(), d) << "the fallback result must come back to the caller's device";
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{-1, 2, -3}));
  }
}

TEST(Registry, DeviceSpecErrorsListValidChoices) {
  try {
    BackendRegistry::get().device("metal");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu"), std::string::npos) << e.what();
  }
  EXPECT_THROW(BackendRegistry::get().device("cpu:7"), Error);
  EXPECT_EQ(&BackendRegistry::get().device("cpu:0"), &BackendRegistry::get().cpu());
}

// ---- sparse tensor -----------------------------------------------------------

TEST(SparseTensor, ValidatesAndComputesOffsetsAndCaches) {
  Device& cpu = BackendRegistry::get().cpu();
  std::vector<int32_t> c = {0, 1, 2, 3, 0, 4, 5, 6, 2, 0, 0, 0};
  Tensor coords = Tensor::from_vector(c, {3, 4}, DType::i32, cpu);
  Tensor feats = Tensor::empty({3, 8}, DType::f32, cpu);
  SparseTensor s(coords, feats, {8, 8, 8});
  EXPECT_EQ(s.batch_offsets(), (std::vector<int64_t>{0, 2, 2, 3}));
  EXPECT_EQ(s.batch_size(), 3);
  s.set_cached("nbr:k3", std::make_shared<int>(42));
  SparseTensor t = s.with_feats(Tensor::empty({3, 16}, DType::f32, cpu));
  ASSERT_TRUE(t.cached("nbr:k3"));
  EXPECT_EQ(*std::static_pointer_cast<int>(t.cached("nbr:k3")), 42);
  std::vector<int32_t> unsorted = {1, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(SparseTensor(Tensor::from_vector(unsorted, {2, 4}, DType::i32, cpu), Tensor(), {4, 4, 4}), Error);
  std::vector<int32_t> outside = {0, 9, 0, 0};
  EXPECT_THROW(SparseTensor(Tensor::from_vector(outside, {1, 4}, DType::i32, cpu), Tensor(), {4, 4, 4}), Error);
}
