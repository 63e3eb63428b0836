// Per-backend runtime conformance (IREE-CTS style): every requested backend
// has a device; buffers round-trip, copy at offsets, fill, and the caching
// allocator accounts bytes.
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "tests/test_env.hpp"

using namespace tessera;

TEST(Runtime, RequestedBackendsHaveDevices) {
  for (auto& name : test::requested_backends()) {
    auto* b = BackendRegistry::get().find(name);
    ASSERT_NE(b, nullptr) << "backend '" << name << "' is not compiled in";
    EXPECT_FALSE(b->devices().empty()) << "backend '" << name << "' has no device: " << b->unavailable_reason();
  }
}

TEST(Runtime, RoundTripCopyFill) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    const int64_t n = 100003;
    std::vector<int32_t> v(n);
    std::iota(v.begin(), v.end(), -5000);
    Tensor a = Tensor::from_vector(v, {n}, DType::i32, *dev);
    EXPECT_EQ(a.to_vector<int32_t>(), v);
    // Device-side copy into the middle of another buffer.
    Tensor b = Tensor::empty({2 * n}, DType::i32, *dev);
    dev->fill(b.buffer(), 0, size_t(2 * n) * 4, 0x01020304u);
    dev->copy(a.buffer(), 4, b.buffer(), 8 * 4, size_t(n - 1) * 4);
    auto got = b.to_vector<int32_t>();
    EXPECT_EQ(got[7], 0x01020304);
    for (int64_t i = 0; i < n - 1; ++i) ASSERT_EQ(got[8 + i], v[1 + i]) << i;
    EXPECT_EQ(got[8 + n - 1], 0x01020304);
    // Cross-device copy through to().
    Tensor c = a.to(BackendRegistry::get().cpu());
    EXPECT_EQ(c.to_vector<int32_t>(), v);
    Tensor d = c.to(*dev);
    EXPECT_EQ(d.to_vector<int32_t>(), v);
  }
}

TEST(Runtime, AllocatorTracksAndReuses) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto& al = dev->allocator();
    dev->synchronize();
    auto before = al.stats();
    {
      Tensor t = Tensor::empty({1 << 20}, DType::f32, *dev);
      auto s = al.stats();
      EXPECT_GE(s.in_use, before.in_use + (4u << 20));
      EXPECT_GE(s.peak, s.in_use);
    }
    auto after = al.stats();
    EXPECT_EQ(after.in_use, before.in_use);
    uint64_t allocs = after.num_allocs;
    { Tensor t = Tensor::empty({1 << 20}, DType::f32, *dev); }
    EXPECT_EQ(al.stats().num_allocs, allocs) << "a same-size allocation should come from the cache";
    al.empty_cache();
    EXPECT_EQ(al.stats().reserved, al.stats().in_use);
  }
}

TEST(Runtime, OversizedAllocationIsAClearError) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    if (dev->backend() == "cpu") continue;  // the host may overcommit
    uint64_t huge = dev->info().memory_bytes * 4 + (uint64_t(1) << 40);
    try {
      Tensor t = Tensor::empty({int64_t(huge / 4)}, DType::f32, *dev);
      ADD_FAILURE() << "allocating " << huge << " bytes succeeded";
    } catch (const OutOfMemory& e) {
      EXPECT_NE(std::string(e.what()).find(dev->id()), std::string::npos) << e.what();
    }
    // The device still works afterwards.
    std::vector<float> v{1, 2, 3};
    EXPECT_EQ(Tensor::from_vector(v, {3}, DType::f32, *dev).to_vector<float>(), v);
  }
}
