// Row windows and segmented buffers (core/split_dispatch.hpp,
// core/segmented_buffer.hpp).
//
// SplitLimits.*: run by the CTest entries split_<backend>, which set
// TESSERA_LIMIT_ALLOC_BYTES=64K and TESSERA_LIMIT_BINDING_BYTES=16K, so that
// every case below has tensors larger than one binding and one allocation:
// the GPU backends run them as row windows over segmented buffers, each
// window checked against the float64 reference like any parity case.
// LargeTensor.*: tensors above 2^31 elements (and above NVIDIA's 4 GiB
// binding), on devices with the memory for them (scale label).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "core/segmented_buffer.hpp"
#include "core/split_dispatch.hpp"
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/parity.hpp"
#include "ops/reduce.hpp"
#include "tests/expect_error.hpp"
#include "tests/test_env.hpp"

using namespace tessera;

namespace {

constexpr uint64_t kLimitedBinding = 64 * 1024;  // the CTest entries set 16K; anything this small counts

std::vector<Device*> limited_devices() {
  std::vector<Device*> out;
  for (Device* d : test::test_devices())
    if (d->backend() != "cpu" && d->info().max_binding_bytes <= kLimitedBinding) out.push_back(d);
  return out;
}

struct SplitCase {
  std::string op;
  TestCase c;
};

std::vector<SplitCase> split_cases() {
  std::vector<SplitCase> cs;
  auto add = [&](std::string op, std::string label, std::vector<TensorDesc> in, Attrs at = {}) {
    cs.push_back({op, TestCase{label, std::move(in), std::move(at)}});
  };
  const DType f32 = DType::f32, f16 = DType::f16, bf16 = DType::bf16;
  for (DType t : {f32, f16, bf16}) {
    const std::string n = dtype_name(t);
    add("add", "flat_ragged/" + n, {{{50021}, t}, {{50021}, t}});
    add("add", "bcast_row/" + n, {{{3001, 37}, t}, {{37}, t}});
    add("mul", "bcast_col/" + n, {{{1, 2999, 19}, t}, {{2999, 1}, t}});
    add("scale", "ragged/" + n, {{{40009}, t}}, Attrs().set("alpha", -1.75));
    add("gelu", "rows/" + n, {{{1000, 41}, t}});
    add("silu", "rows/" + n, {{{1, 1000, 41}, t}});
    add("softmax", "rows/" + n, {{{999, 67}, t}});
    add("layer_norm", "affine/" + n, {{{901, 64}, t}, {{64}, f32}, {{64}, f32}}, Attrs().set("eps", 1e-6));
    add("rms_norm", "per_head/" + n, {{{700, 4, 32}, t}, {{32}, f32}}, Attrs().set("eps", 1e-6));
    add("modulate", "rows/" + n, {{{1203, 48}, t}, {{48}, t}, {{48}, t}});
    add("linear", "bias/" + n, {{{1001, 48}, t}, {{40, 48}, t}, {{40}, t}});
    add("sdpa", "cross_b1/" + n, {{{1, 2111, 2, 16}, t}, {{1, 67, 2, 16}, t}, {{1, 67, 2, 16}, t}});
    add("sdpa", "batched/" + n, {{{6, 100, 2, 16}, t}, {{6, 90, 2, 16}, t}, {{6, 90, 2, 16}, t}});
    add("rope", "tokens/" + n, {{{1500, 2, 16}, t}, {{1500, 8}, f32}}, Attrs().set("style", "interleaved"));
  }
  add("cast", "f32_to_bf16", {{{30011}, f32}}, Attrs().set("dtype", "bf16"));
  add("axpby", "mixed", {{{30011}, f32}, {{30011}, bf16}}, Attrs().set("alpha", 0.5).set("beta", -2.0));
  add("gather", "rows", {{{200, 16}, f32}, {{5003}, DType::i32}});
  cs.back().c.lo = 0;
  cs.back().c.hi = 199;
  return cs;
}

TEST(SplitLimits, ParityInRowWindows) {
  auto devs = limited_devices();
  if (devs.empty()) GTEST_SKIP() << "no GPU device under TESSERA_LIMIT_BINDING_BYTES <= 64K (CTest split_<backend>)";
  auto& reg = OpRegistry::get();
  for (Device* dev : devs)
    for (auto& sc : split_cases()) {
      const uint64_t before = windowed_dispatch_count();
      ParityResult r = run_parity_case(*dev, reg.op(sc.op), sc.c, parity_seed(sc.op, sc.c.label, test::base_seed()));
      ASSERT_TRUE(r.supported) << sc.op << " " << sc.c.label << " on " << dev->id() << ": " << r.message;
      EXPECT_TRUE(r.passed) << sc.op << " " << sc.c.label << " on " << dev->id() << ": " << r.message;
      // At least one tensor exceeds the binding: the op must have run in windows.
      EXPECT_GT(windowed_dispatch_count(), before) << sc.op << " " << sc.c.label << " ran without windows";
      std::printf("  %-10s %-22s %-9s windows %4llu  %s\n", sc.op.c_str(), sc.c.label.c_str(), dev->id().c_str(),
                  (unsigned long long)(windowed_dispatch_count() - before), r.message.c_str());
    }
}

TEST(SplitLimits, SegmentedTransfers) {
  auto devs = limited_devices();
  if (devs.empty()) GTEST_SKIP() << "no GPU device under TESSERA_LIMIT_BINDING_BYTES <= 64K (CTest split_<backend>)";
  for (Device* dev : devs) {
    const uint64_t alloc = dev->info().max_alloc_bytes;
    ASSERT_LE(alloc, uint64_t(1) << 20) << "split_<backend> sets TESSERA_LIMIT_ALLOC_BYTES";
    // f16 rows of 3 elements (6 bytes): segments are a multiple of lcm(6, 256).
    const int64_t rows = int64_t(alloc * 5 / 2 / 6) + 7;
    std::mt19937_64 rng(11);
    std::vector<uint16_t> host(size_t(rows) * 3);
    for (auto& v : host) v = uint16_t(rng());
    Tensor t = Tensor::from_host(host.data(), {rows, 3}, DType::f16, *dev);
    auto* seg = as_segmented(t.buffer());
    ASSERT_NE(seg, nullptr) << "a " << t.nbytes() << "-byte tensor over a " << alloc << "-byte limit";
    EXPECT_GE(seg->segment_count(), 3u);
    EXPECT_EQ(seg->segment_bytes() % 6, 0u);
    EXPECT_EQ(t.to_vector<uint16_t>(), host);
    Tensor u = t.to(*dev);  // device copy, segment to segment
    EXPECT_EQ(u.to_vector<uint16_t>(), host);
    Tensor c = t.to(BackendRegistry::get().cpu());
    EXPECT_EQ(c.to_vector<uint16_t>(), host);
    // Fill from an odd f16 offset across segment boundaries keeps the pattern's phase.
    const size_t off = 2 * 3 * 5 + 2, n = t.nbytes() - off - 2;
    dev->fill(u.buffer(), off, n & ~size_t(3), 0xAAAA5555u);
    auto got = u.to_vector<uint16_t>();
    for (size_t i = 0; i < host.size(); ++i) {
      const size_t b = 2 * i;
      uint16_t want = host[i];
      if (b >= off && b < off + (n & ~size_t(3))) want = ((b - off) / 2) % 2 ? 0xAAAA : 0x5555;
      ASSERT_EQ(got[i], want) << "element " << i;
    }
  }
}

TEST(SplitLimits, UnsplittableOpsSayWhy) {
  auto devs = limited_devices();
  if (devs.empty()) GTEST_SKIP() << "no GPU device under TESSERA_LIMIT_BINDING_BYTES <= 64K (CTest split_<backend>)";
  for (Device* dev : devs) {
    std::vector<float> host(50000, 1.0f);
    Tensor t = Tensor::from_host(host.data(), {50000}, DType::f32, *dev);
    test::expect_error([&] { ops::moments(t); }, {"moments", "row windows", dev->id()});
  }
}

// --- above 2^31 elements ---------------------------------------------------

bool has_memory(Device* d, uint64_t bytes) {
  return d->info().memory_bytes >= bytes && !d->info().software;
}

uint16_t xval(uint64_t i) { return f32_to_f16(float(int64_t(i % 2039) - 1019) * 0.5f); }
uint16_t yval(uint64_t i) { return f32_to_f16(float(int64_t((i * 7) % 1021) - 510) * 0.25f); }

// Every element of a + b for f16 tensors of n elements on one device.
void add_over_2g(Device* dev, uint64_t n) {
  std::vector<uint16_t> x(n), y(n);
  for (uint64_t i = 0; i < n; ++i) x[i] = xval(i), y[i] = yval(i);
  Tensor tx = Tensor::from_host(x.data(), {int64_t(n)}, DType::f16, *dev);
  Tensor ty = Tensor::from_host(y.data(), {int64_t(n)}, DType::f16, *dev);
  const uint64_t w0 = windowed_dispatch_count();
  Tensor out = Tensor::empty({int64_t(n)}, DType::f16, *dev);
  dev->fill(out.buffer(), out.offset_bytes(), (out.nbytes() + 3) & ~size_t(3), 0x7e007e00u);  // NaN poison
  OpArgs a;
  a.in = {tx, ty};
  a.out = {out};
  OpRegistry::get().dispatch("add", a);
  auto got = out.to_vector<uint16_t>();
  uint64_t bad = 0, first_bad = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint16_t want = f32_to_f16(f16_to_f32(x[i]) + f16_to_f32(y[i]));
    if (got[i] != want && bad++ == 0) first_bad = i;
  }
  EXPECT_EQ(bad, 0u) << dev->id() << ": first wrong element " << first_bad;
  std::printf("  %s: add of %llu f16 elements, %llu row windows, %llu wrong\n", dev->id().c_str(),
              (unsigned long long)n, (unsigned long long)(windowed_dispatch_count() - w0),
              (unsigned long long)bad);
}

// Sampled rows of y = x·wᵀ and of cross-attention where x / q hold > 2^31 elements.
void linear_sdpa_over_2g(Device* dev) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> U(-1, 1);
  // linear: x [M, 512] f16, M * 512 > 2^31.
  const int64_t M = (int64_t(1) << 22) + 5, K = 512, N = 64;
  std::vector<uint16_t> x(size_t(M * K)), w(size_t(N * K));
  for (auto& v : x) v = f32_to_f16(U(rng));
  for (auto& v : w) v = f32_to_f16(U(rng));
  Tensor tx = Tensor::from_host(x.data(), {M, K}, DType::f16, *dev);
  Tensor tw = Tensor::from_host(w.data(), {N, K}, DType::f16, *dev);
  Tensor ty = ops::linear(tx, tw, nullptr, DType::f32);
  auto y = ty.to_vector<float>();
  double err = 0, ref2 = 0;
  int64_t nonfinite = 0;
  for (float v : y) nonfinite += !std::isfinite(v);
  for (int64_t r : {int64_t(0), int64_t(1) << 21, M / 2 + 3, M - 2, M - 1})
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(f16_to_f32(x[size_t(r * K + k)])) * double(f16_to_f32(w[size_t(j * K + k)]));
      err += (y[size_t(r * N + j)] - s) * (y[size_t(r * N + j)] - s);
      ref2 += s * s;
    }
  EXPECT_EQ(nonfinite, 0) << dev->id();
  EXPECT_LT(err / ref2, 1e-6) << dev->id() << " linear sampled-row NMSE";
  std::printf("  %s: linear x [%lld, %lld] f16: sampled NMSE %.2e\n", dev->id().c_str(), (long long)M,
              (long long)K, err / ref2);
  x.clear();
  x.shrink_to_fit();
  tx = Tensor();
  ty = Tensor();

  // sdpa: q [1, Nq, 16, 64] f16 with Nq * 1024 > 2^31, k/v [1, 96, 16, 64].
  const int64_t Nq = (int64_t(1) << 21) + 3, Nk = 96, H = 16, D = 64;
  std::vector<uint16_t> q(size_t(Nq * H * D)), k(size_t(Nk * H * D)), v(size_t(Nk * H * D));
  for (auto& e : q) e = f32_to_f16(U(rng) * 2);
  for (auto& e : k) e = f32_to_f16(U(rng) * 2);
  for (auto& e : v) e = f32_to_f16(U(rng));
  Tensor tq = Tensor::from_host(q.data(), {1, Nq, H, D}, DType::f16, *dev);
  Tensor tk = Tensor::from_host(k.data(), {1, Nk, H, D}, DType::f16, *dev);
  Tensor tv = Tensor::from_host(v.data(), {1, Nk, H, D}, DType::f16, *dev);
  Tensor to = ops::sdpa(tq, tk, tv);
  auto o = to.to_vector<uint16_t>();
  nonfinite = 0;
  for (uint16_t e : o) nonfinite += !std::isfinite(f16_to_f32(e));
  err = ref2 = 0;
  const double sc = 1.0 / std::sqrt(double(D));
  for (int64_t r : {int64_t(0), int64_t(1) << 20, Nq - 1})
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> s(static_cast<size_t>(Nk));
      double mx = -1e300, l = 0;
      for (int64_t j = 0; j < Nk; ++j) {
        double d = 0;
        for (int64_t c = 0; c < D; ++c)
          d += double(f16_to_f32(q[size_t(((r * H) + h) * D + c)])) * f16_to_f32(k[size_t(((j * H) + h) * D + c)]);
        s[size_t(j)] = d * sc;
        mx = std::max(mx, s[size_t(j)]);
      }
      for (auto& e : s) l += (e = std::exp(e - mx));
      for (int64_t c = 0; c < D; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < Nk; ++j) acc += s[size_t(j)] * f16_to_f32(v[size_t(((j * H) + h) * D + c)]);
        acc /= l;
        const double g = f16_to_f32(o[size_t(((r * H) + h) * D + c)]);
        err += (g - acc) * (g - acc);
        ref2 += acc * acc;
      }
    }
  EXPECT_EQ(nonfinite, 0) << dev->id();
  EXPECT_LT(err / ref2, 1e-5) << dev->id() << " sdpa sampled-row NMSE";
  std::printf("  %s: sdpa q [1, %lld, %lld, %lld] f16: sampled NMSE %.2e\n", dev->id().c_str(), (long long)Nq,
              (long long)H, (long long)D, err / ref2);
}

// Runs check(dev) on every device with the memory for it; one device's failure does not hide the others'.
template <typename F>
void on_large_devices(F check) {
  if (!test::scale_enabled()) GTEST_SKIP() << "scale label (TESSERA_TEST_SCALE=1)";
  int ran = 0;
  for (Device* dev : test::test_devices()) {
    if (!has_memory(dev, 48ull << 30)) {
      std::printf("  %s: skipped (needs a GPU with 48 GiB)\n", dev->id().c_str());
      continue;
    }
    try {
      check(dev);
    } catch (const std::exception& e) {
      ADD_FAILURE() << dev->id() << ": " << e.what();
    }
    ++ran;
  }
  if (!ran) GTEST_SKIP() << "no GPU with 48 GiB";
}

TEST(LargeTensor, AddOver2GElements) {
  // 4 GiB + 8 KiB of f16: past 2^31 elements and past NVIDIA's 4 GiB binding.
  on_large_devices([](Device* dev) { add_over_2g(dev, (uint64_t(1) << 31) + 4099); });
}

TEST(LargeTensor, LinearAndSdpaOver2GElements) { on_large_devices(linear_sdpa_over_2g); }

}  // namespace
