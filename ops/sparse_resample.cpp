// sparse_subdivide_offsets, sparse_channel_to_space, sparse_space_to_channel:
// declarations, validation and parity cases (ops/sparse_conv.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/sparse_conv.hpp"
#include "ops/sparse_conv.hpp"
#include "ops/sparse_test_data.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor sparse_subdivide_offsets(const Tensor& logits) {
  return OpRegistry::get().call("sparse_subdivide_offsets", {logits})[0];
}
std::vector<Tensor> sparse_channel_to_space(const Tensor& coords, const Tensor& feats, const Tensor& logits,
                                            const Tensor& offsets, int64_t num_children, int64_t repeat) {
  return OpRegistry::get().call("sparse_channel_to_space", {coords, feats, logits, offsets},
                                Attrs().set("num_children", num_children).set("repeat", repeat));
}
Tensor sparse_space_to_channel(const Tensor& feats, const Tensor& coords, const Tensor& parent, int64_t num_parents) {
  return OpRegistry::get().call("sparse_space_to_channel", {feats, coords, parent},
                                Attrs().set("num_parents", num_parents))[0];
}

namespace {

using sparse_test::Coord;

void check_logits(const char* op, const TensorDesc& l) {
  TESSERA_CHECK(dtype_is_float(l.dtype) && l.shape.size() == 2 && l.shape[1] == 8,
                "op '{}': logits must be a float [Np, 8], got {} {}", op, dtype_name(l.dtype), shape_str(l.shape));
  TESSERA_CHECK(l.shape[0] * 8 < (int64_t(1) << 31), "op '{}': {} parents x 8 children reach 2^31 (i32 offsets)", op,
                l.shape[0]);
}

void check_coords(const char* op, const TensorDesc& c, int64_t n, const char* what) {
  TESSERA_CHECK(c.dtype == DType::i32 && c.shape == (Shape{n, 4}), "op '{}': {} coords must be i32 [{}, 4], got {} {}", op,
                what, n, dtype_name(c.dtype), shape_str(c.shape));
}

// --- sparse_subdivide_offsets ---
std::vector<TensorDesc> infer_offsets(const std::vector<TensorDesc>& in, const Attrs&) {
  TESSERA_CHECK(in.size() == 1, "op 'sparse_subdivide_offsets' takes logits [Np, 8]; got {} inputs", in.size());
  check_logits("sparse_subdivide_offsets", in[0]);
  return {{{in[0].shape[0] + 1}, DType::i32}};
}

// Logits with exactly `positive` entries > 0 (the rest <= 0, some exactly 0,
// one NaN when there is room: neither creates a child).
void fill_logits(std::mt19937_64& rng, HostTensor& l, int64_t positive) {
  const int64_t n = l.numel();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::shuffle(idx.begin(), idx.end(), rng);
  std::uniform_real_distribution<double> pos(0.01, 1.0), neg(-1.0, 0.0);
  for (int64_t i = 0; i < n; ++i) l.data[size_t(idx[size_t(i)])] = i < positive ? pos(rng) : neg(rng);
  for (int64_t i = positive; i < std::min(n, positive + 3); ++i) l.data[size_t(idx[size_t(i)])] = 0.0;
  if (positive + 3 < n) l.data[size_t(idx[size_t(positive + 3)])] = std::numeric_limits<double>::quiet_NaN();
}

std::vector<TestCase> offsets_cases() {
  std::vector<TestCase> cs;
  auto mk = [](std::string label, int64_t np, DType t, bool scale) {
    TestCase c{label + "/" + dtype_name(t), {{{np, 8}, t}}};
    c.scale = scale;
    const int64_t pos = np * 8 * 3 / 8;
    c.generate = [pos](std::mt19937_64& rng, std::vector<HostTensor>& in) { fill_logits(rng, in[0], pos); };
    return c;
  };
  for (DType t : {DType::f32, DType::f16, DType::bf16}) cs.push_back(mk("np1000", 1000, t, false));
  cs.push_back(mk("np0", 0, DType::f32, false));
  cs.push_back(mk("np1", 1, DType::f32, false));
  cs.push_back(mk("np1025", 1025, DType::f32, false));
  cs.push_back(mk("np70001", 70001, DType::f16, false));
  cs.push_back(mk("np3M", 3000000, DType::f16, true));
  return cs;
}

// --- sparse_channel_to_space ---
std::vector<TensorDesc> infer_c2s(const std::vector<TensorDesc>& in, const Attrs& a) {
  const char* op = "sparse_channel_to_space";
  TESSERA_CHECK(in.size() == 4, "op '{}' takes coords, feats, logits, offsets; got {} inputs", op, in.size());
  const int64_t Np = in[0].shape.empty() ? -1 : in[0].shape[0];
  check_coords(op, in[0], Np, "parent");
  const auto& f = in[1];
  TESSERA_CHECK(dtype_is_float(f.dtype) && f.shape.size() == 2 && f.shape[0] == Np && f.shape[1] % 8 == 0 && f.shape[1] > 0,
                "op '{}': feats must be a float [{}, 8 C'], got {} {}", op, Np, dtype_name(f.dtype), shape_str(f.shape));
  check_logits(op, in[2]);
  TESSERA_CHECK(in[2].shape[0] == Np, "op '{}': logits {} for {} parents", op, shape_str(in[2].shape), Np);
  TESSERA_CHECK(in[3].dtype == DType::i32 && in[3].shape == Shape{Np + 1},
                "op '{}': offsets must be i32 [{}] (from sparse_subdivide_offsets), got {} {}", op, Np + 1,
                dtype_name(in[3].dtype), shape_str(in[3].shape));
  const int64_t Nc = a.get_int("num_children", -1), rep = a.get_int("repeat", 1);
  TESSERA_CHECK(Nc >= 0 && Nc <= 8 * Np, "op '{}': attr num_children = {} must be in [0, 8 Np = {}] (offsets[Np])", op,
                Nc, 8 * Np);
  TESSERA_CHECK(rep >= 1 && rep <= 4096, "op '{}': attr repeat = {} must be in [1, 4096]", op, rep);
  return {{{Nc, 4}, DType::i32}, {{Nc, f.shape[1] / 8 * rep}, f.dtype}};
}

// Unique random parent coordinates (batch-major) in [N, 4].
void fill_coords(std::mt19937_64& rng, HostTensor& h, int64_t n, int batches, double density) {
  auto cs = sparse_test::random_coords(rng, n, batches, density);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 4; ++j) h.data[size_t(i * 4 + j)] = cs[size_t(i)][size_t(j)];
}

std::vector<TestCase> c2s_cases() {
  std::vector<TestCase> cs;
  auto mk = [](std::string label, int64_t np, int64_t cc, int64_t nc, int64_t rep, DType t, bool scale) {
    TestCase c{label + "/" + dtype_name(t),
               {{{np, 4}, DType::i32}, {{np, 8 * cc}, t}, {{np, 8}, t}, {{np + 1}, DType::i32}},
               Attrs().set("num_children", nc).set("repeat", rep)};
    c.scale = scale;
    c.generate = [np, nc](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      fill_coords(rng, in[0], np, np > 10 ? 2 : 1, 0.3);
      fill_logits(rng, in[2], nc);
      in[3].data[0] = 0;
      for (int64_t p = 0; p < np; ++p) {
        int n = 0;
        for (int k = 0; k < 8; ++k) n += in[2].data[size_t(p * 8 + k)] > 0;
        in[3].data[size_t(p + 1)] = in[3].data[size_t(p)] + n;
      }
    };
    return c;
  };
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    cs.push_back(mk("np100_c24_nc300", 100, 24, 300, 1, t, false));
    cs.push_back(mk("skip_np64_c16_rep4", 64, 16, 200, 4, t, false));  // C = 128 -> C' = 64: repeat 4
  }
  cs.push_back(mk("np1_all8", 1, 8, 8, 1, DType::f32, false));
  cs.push_back(mk("np5_none", 5, 8, 0, 1, DType::f32, false));
  cs.push_back(mk("np3001_c5_odd", 3001, 5, 9000, 1, DType::f16, false));
  cs.push_back(mk("np20000_c64", 20000, 64, 80000, 1, DType::f16, false));
  // 1M children; parent feats 64 MB (under lavapipe's 128 MiB binding cap)
  cs.push_back(mk("np250k_c16", 250000, 16, 1000000, 1, DType::f16, true));
  return cs;
}

// --- sparse_space_to_channel ---
std::vector<TensorDesc> infer_s2c(const std::vector<TensorDesc>& in, const Attrs& a) {
  const char* op = "sparse_space_to_channel";
  TESSERA_CHECK(in.size() == 3, "op '{}' takes feats, coords, parent; got {} inputs", op, in.size());
  const auto& f = in[0];
  TESSERA_CHECK(dtype_is_float(f.dtype) && f.shape.size() == 2, "op '{}': feats must be a float [Nc, C], got {} {}", op,
                dtype_name(f.dtype), shape_str(f.shape));
  const int64_t Nc = f.shape[0], Np = a.get_int("num_parents", -1);
  check_coords(op, in[1], Nc, "child");
  TESSERA_CHECK(in[2].dtype == DType::i32 && in[2].shape == Shape{Nc}, "op '{}': parent must be i32 [{}], got {} {}", op,
                Nc, dtype_name(in[2].dtype), shape_str(in[2].shape));
  TESSERA_CHECK(Np >= 0 && Np < (int64_t(1) << 28), "op '{}': attr num_parents = {} must be in [0, 2^28)", op, Np);
  return {{{Np, 8 * f.shape[1]}, f.dtype}};
}

std::vector<TestCase> s2c_cases() {
  std::vector<TestCase> cs;
  auto mk = [](std::string label, int64_t np, int64_t c, int64_t nc, DType t, bool scale) {
    TestCase tc{label + "/" + dtype_name(t), {{{nc, c}, t}, {{nc, 4}, DType::i32}, {{nc}, DType::i32}},
                Attrs().set("num_parents", np)};
    tc.scale = scale;
    tc.generate = [np, nc](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      auto parents = sparse_test::random_coords(rng, np, np > 10 ? 2 : 1, 0.3);
      // Every parent gets one child, then nc - np more in distinct free slots.
      std::vector<int64_t> slots(size_t(np * 8));
      std::iota(slots.begin(), slots.end(), 0);
      std::shuffle(slots.begin(), slots.end(), rng);
      std::vector<char> used(size_t(np * 8), 0);
      std::vector<int64_t> pick;
      std::uniform_int_distribution<int> k8(0, 7);
      for (int64_t p = 0; p < np; ++p) {
        int64_t s = p * 8 + k8(rng);
        used[size_t(s)] = 1;
        pick.push_back(s);
      }
      for (int64_t s : slots)
        if (int64_t(pick.size()) < nc && !used[size_t(s)]) pick.push_back(s);
      std::shuffle(pick.begin(), pick.end(), rng);
      for (int64_t c = 0; c < nc; ++c) {
        const int64_t p = pick[size_t(c)] / 8, k = pick[size_t(c)] % 8;
        const Coord& q = parents[size_t(p)];
        in[1].data[size_t(c * 4)] = q[0];
        in[1].data[size_t(c * 4 + 1)] = 2 * q[1] + (k & 1);
        in[1].data[size_t(c * 4 + 2)] = 2 * q[2] + ((k >> 1) & 1);
        in[1].data[size_t(c * 4 + 3)] = 2 * q[3] + ((k >> 2) & 1);
        in[2].data[size_t(c)] = double(p);
      }
    };
    return tc;
  };
  for (DType t : {DType::f32, DType::f16, DType::bf16}) cs.push_back(mk("np100_c24_nc300", 100, 24, 300, t, false));
  cs.push_back(mk("np1_c8_nc1", 1, 8, 1, DType::f32, false));
  cs.push_back(mk("np1_c3_nc8", 1, 3, 8, DType::f32, false));
  cs.push_back(mk("np5000_c7_nc17000", 5000, 7, 17000, DType::f16, false));
  cs.push_back(mk("np20000_c32_nc80000", 20000, 32, 80000, DType::bf16, false));
  cs.push_back(mk("np250k_c16_nc1M", 250000, 16, 1000000, DType::f16, true));
  return cs;
}

double exact(DType, const std::vector<TensorDesc>&, const Attrs&) { return 0.0; }

OpRegistrar reg_off({"sparse_subdivide_offsets",
                     "exclusive prefix sum of the per-parent count of logits > 0 (child offsets; last = child count)",
                     infer_offsets, ref::sparse_subdivide_offsets, offsets_cases, exact});
OpRegistrar reg_c2s({"sparse_channel_to_space",
                     "sparse channel->space x2 (decoder up-block): children with logit > 0, parent order then k",
                     infer_c2s, ref::sparse_channel_to_space, c2s_cases, exact});
OpRegistrar reg_s2c({"sparse_space_to_channel",
                     "sparse space->channel x2 (encoder down): [Np, 8 C], zero where a child is absent", infer_s2c,
                     ref::sparse_space_to_channel, s2c_cases, exact});

}  // namespace
}  // namespace tessera::ops
