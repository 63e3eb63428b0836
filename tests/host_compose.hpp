// Helpers for the model forward tests that restate a network on the host as a
// float64 composition of op references (tests/test_trellis2_*.cpp).
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/parity.hpp"

namespace tessera::test {

using H = HostTensor;

// One op through its float64 reference (its first output).
inline H R(const std::string& op, const std::vector<H>& in, const Attrs& a = {}) { return run_reference(op, in, a)[0]; }

// A host tensor as an f32 device tensor.
inline Tensor to_device(const H& h, Device& dev) {
  std::vector<float> v(h.data.begin(), h.data.end());
  return Tensor::from_vector(v, h.shape, DType::f32, dev);
}

// NMSE of a device result against a host reference of the same shape.
inline double nmse_of(const Tensor& got, const H& want) {
  EXPECT_EQ(got.shape(), want.shape);
  return nmse(got.to_double(), want.data);
}

}  // namespace tessera::test
