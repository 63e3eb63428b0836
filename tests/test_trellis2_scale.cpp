// Released-size forwards (TESSERA_TEST_SCALE=1 only: minutes of CPU time and
// ~6 GB per device for the SS flow). Weights come straight from
// init_values() (no files); each device's output is compared with the CPU
// backend's at the released precision (f16 decoder torso, bf16 flow torso).
#include <gtest/gtest.h>

#include <cmath>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/json_config.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/flow_models.hpp"
#include "models/trellis2/ss_decoder.hpp"
#include "ops/cast.hpp"
#include "ops/parity.hpp"
#include "test_env.hpp"

using namespace tessera;
using namespace tessera::models;
using namespace tessera::models::trellis2;

namespace {

ModelConfig released(const std::string& role) {
  JsonConfig root = JsonConfig::parse(preset_json("released"), "released");
  JsonConfig e = root.child("models").child(role);
  return ModelConfig::parse("{\"name\": \"" + e.get<std::string>("name") + "\", \"args\": " + e.child("args").dump() + "}",
                            "released:" + role);
}

// Every parameter from init_values, rounded through the file dtype as make-checkpoint stores it.
void fill(Module& m, Device& dev, DType file_dtype) {
  for (const auto& np : m.named_parameters()) {
    if (np.param->optional) continue;
    std::vector<float> v = init_values(np.name, np.param->shape, 1);
    for (float& x : v) x = file_dtype == DType::bf16 ? bf16_to_f32(f32_to_bf16(x)) : f16_to_f32(f32_to_f16(x));
    Tensor t = Tensor::from_vector(v, np.param->shape, DType::f32, dev);
    np.param->value = np.param->dtype == DType::f32 ? t : ops::cast(t, np.param->dtype);
  }
}

std::vector<float> random_vec(int64_t n, uint64_t seed, float amp) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x = amp * float(double(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  }
  return v;
}

// Finite, and O(1) as the init scaling intends (not collapsed, not exploded).
void expect_sane(const std::vector<double>& v) {
  double ss = 0;
  for (double x : v) {
    ASSERT_TRUE(std::isfinite(x));
    ss += x * x;
  }
  const double ms = ss / double(v.size());
  EXPECT_GT(ms, 1e-4);
  EXPECT_LT(ms, 1e4);
}

}  // namespace

TEST(RuntimeTrellis2Scale, ReleasedSSDecoderMatchesCpu) {
  if (!test::scale_enabled()) GTEST_SKIP() << "released-size forward: set TESSERA_TEST_SCALE=1";
  Device& cpu = BackendRegistry::get().cpu();
  ModelConfig mc = released("sparse_structure_decoder");
  auto z = random_vec(8 * 16 * 16 * 16, 3, 1.5f);
  auto run = [&](Device& dev) {
    auto m = make_ss_decoder(mc, DType::f16);
    fill(*m, dev, DType::f16);
    return m->forward(Tensor::from_vector(z, {1, 8, 16, 16, 16}, DType::f32, dev)).to_double();
  };
  const auto want = run(cpu);
  ASSERT_EQ(want.size(), size_t(64 * 64 * 64));
  expect_sane(want);
  for (Device* dev : test::test_devices()) {
    if (dev == &cpu) continue;
    double e = nmse(run(*dev), want);
    std::printf("[ released ss_dec f16 ] %s vs cpu nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-4) << dev->id();
  }
}

TEST(RuntimeTrellis2Scale, ReleasedSSFlowMatchesCpu) {
  if (!test::scale_enabled()) GTEST_SKIP() << "released-size forward: set TESSERA_TEST_SCALE=1";
  Device& cpu = BackendRegistry::get().cpu();
  ModelConfig mc = released("sparse_structure_flow_model");
  auto x = random_vec(8 * 16 * 16 * 16, 4, 1.0f);
  auto cond = random_vec(1029 * 1024, 5, 2.0f);
  auto run = [&](Device& dev) {
    auto m = make_flow_model(mc, DType::bf16);
    fill(*m, dev, DType::bf16);
    auto& f = dynamic_cast<SparseStructureFlowModel&>(*m);
    return f
        .forward(Tensor::from_vector(x, {1, 8, 16, 16, 16}, DType::f32, dev), 800.0,
                 Tensor::from_vector(cond, {1029, 1024}, DType::f32, dev), DType::bf16)
        .to_double();
  };
  const auto want = run(cpu);
  ASSERT_EQ(want.size(), size_t(8 * 16 * 16 * 16));
  expect_sane(want);
  for (Device* dev : test::test_devices()) {
    if (dev == &cpu) continue;
    double e = nmse(run(*dev), want);
    std::printf("[ released ss_flow bf16 ] %s vs cpu nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-3) << dev->id();
  }
}
