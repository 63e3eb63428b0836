// The CPU backend's bulk conversions (F16C where the CPU has it) against the
// scalar definitions in core/dtype.cpp: every f16 value, and f32 values that
// cover ties, subnormals, overflow, infinities and NaN, at lengths that leave
// a scalar tail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/cpu_device.hpp"
#include "core/dtype.hpp"

using namespace tessera;

namespace {
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

TEST(CpuConvert, EveryF16ValueWidensAsTheScalarCode) {
  std::vector<uint16_t> h(65536 + 5);
  for (size_t i = 0; i < h.size(); ++i) h[i] = uint16_t(i * 40503u);  // a permutation of all 65,536 + 5 more
  std::vector<float> f(h.size(), -1.f);
  cpu::to_f32(h.data(), DType::f16, f.data(), int64_t(h.size()));
  for (size_t i = 0; i < h.size(); ++i) {
    const float want = f16_to_f32(h[i]);
    if (std::isnan(want)) {  // F16C also sets the quiet bit of a signalling NaN
      ASSERT_TRUE(std::isnan(f[i])) << std::hex << h[i];
      ASSERT_EQ(std::signbit(f[i]), std::signbit(want)) << std::hex << h[i];
    } else {
      ASSERT_EQ(bits(f[i]), bits(want)) << std::hex << h[i];
    }
  }
}

TEST(CpuConvert, F32NarrowsToF16AsTheScalarCode) {
  std::vector<float> f;
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite f16, the midpoints to its neighbour, and 1 ulp around them
    const float a = f16_to_f32(uint16_t(h)), b = f16_to_f32(uint16_t(h + 1));
    const float mid = a + (b - a) / 2;
    for (float x : {a, mid, std::nextafter(mid, 0.f), std::nextafter(mid, 1e9f)}) {
      f.push_back(x);
      f.push_back(-x);
    }
  }
  for (float x : {65504.f, 65519.f, 65520.f, 1e30f, INFINITY, -INFINITY, NAN, -NAN, 1e-8f, 3e-8f, 1e-40f})
    f.push_back(x);
  std::mt19937 rng(7);
  for (int i = 0; i < 100003; ++i) f.push_back(from_bits(rng()));  // any bit pattern, NaNs included
  std::vector<uint16_t> h(f.size(), 0xdead);
  cpu::from_f32(f.data(), h.data(), DType::f16, int64_t(f.size()));
  for (size_t i = 0; i < f.size(); ++i) {
    const uint16_t want = f32_to_f16(f[i]);
    if (std::isnan(f[i])) {
      ASSERT_TRUE(std::isnan(f16_to_f32(h[i]))) << f[i];
      ASSERT_EQ(h[i] & 0x8000, want & 0x8000) << f[i];
    } else {
      ASSERT_EQ(h[i], want) << f[i] << " (bits " << std::hex << bits(f[i]) << ")";
    }
  }
}
