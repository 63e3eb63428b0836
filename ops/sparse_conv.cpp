// sparse_conv3d: declaration, validation and parity cases (ops/sparse_conv.hpp).
#include "ops/sparse_conv.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/sparse_conv.hpp"
#include "ops/sparse_test_data.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor sparse_conv3d(const Tensor& feats, const Tensor& nbr, const Tensor& weight, const Tensor* bias,
                     const Tensor* order) {
  std::vector<Tensor> in{feats, nbr, weight};
  if (bias) in.push_back(*bias);
  if (order) in.push_back(*order);
  return OpRegistry::get().call("sparse_conv3d", in)[0];
}

Tensor sparse_conv_order(const Tensor& nbr) { return OpRegistry::get().call("sparse_conv_order", {nbr})[0]; }

namespace {

std::vector<TensorDesc> infer_conv(const std::vector<TensorDesc>& in, const Attrs&) {
  TESSERA_CHECK(in.size() >= 3 && in.size() <= 5,
                "op 'sparse_conv3d' takes feats, nbr, weight, optional bias, optional order; got {} inputs", in.size());
  const SparseConvInputs has(in.size(), in.back().dtype);
  TESSERA_CHECK(in.size() == 3 + size_t(has.bias) + size_t(has.order),
                "op 'sparse_conv3d': 5 inputs must be feats, nbr, weight, bias (f32), order (i32)");
  const auto &f = in[0], &n = in[1], &w = in[2];
  TESSERA_CHECK(dtype_is_float(f.dtype) && f.shape.size() == 2,
                "op 'sparse_conv3d': feats must be a float [N, Cin], got {} {}", dtype_name(f.dtype), shape_str(f.shape));
  TESSERA_CHECK(w.dtype == f.dtype && w.shape.size() == 5 && w.shape[4] == f.shape[1] && w.shape[1] % 2 == 1 &&
                    w.shape[1] == w.shape[2] && w.shape[2] == w.shape[3],
                "op 'sparse_conv3d': weight must be {} [Cout, k, k, k, {}] with odd k (FlexGEMM layout), got {} {}",
                dtype_name(f.dtype), f.shape[1], dtype_name(w.dtype), shape_str(w.shape));
  const int64_t k = w.shape[1], K = k * k * k;
  TESSERA_CHECK(n.dtype == DType::i32 && n.shape == (Shape{f.shape[0], K}),
                "op 'sparse_conv3d': nbr must be i32 [{}, {}] (N, k^3), got {} {}", f.shape[0], K, dtype_name(n.dtype),
                shape_str(n.shape));
  TESSERA_CHECK(f.shape[0] < (int64_t(1) << 31), "op 'sparse_conv3d': N = {} rows reaches 2^31 (i32 neighbour map)",
                f.shape[0]);
  if (has.order)
    TESSERA_CHECK(in.back().shape == Shape{f.shape[0]}, "op 'sparse_conv3d': order must be i32 [{}], got {}", f.shape[0],
                  shape_str(in.back().shape));
  if (has.bias)
    TESSERA_CHECK(in[3].dtype == DType::f32 && in[3].shape == Shape{w.shape[0]},
                  "op 'sparse_conv3d': bias must be f32 [{}], got {} {}", w.shape[0], dtype_name(in[3].dtype),
                  shape_str(in[3].shape));
  return {{{f.shape[0], w.shape[0]}, f.dtype}};
}

struct ConvSpec {
  std::string label;
  int64_t n, cin, cout;
  int k = 3;
  DType t = DType::f32;
  bool bias = true;
  double density = 0.3;  // fraction of the bounding cube that is active
  int batches = 1;
  double empty_rows = 0;  // fraction of rows whose whole map row is -1
  int64_t sample_rows = 0;
  bool scale = false;
  int order = 0;  // 1: pass sparse_conv_order's order, 2: a random permutation as order
};

TestCase conv_case(const ConvSpec& s) {
  TestCase c;
  c.label = s.label + "/" + dtype_name(s.t);
  const int64_t K = int64_t(s.k) * s.k * s.k;
  c.inputs = {{{s.n, s.cin}, s.t}, {{s.n, K}, DType::i32}, {{s.cout, s.k, s.k, s.k, s.cin}, s.t}};
  if (s.bias) c.inputs.push_back({{s.cout}, DType::f32});
  if (s.order) {
    c.inputs.push_back({{s.n}, DType::i32});
    c.label += s.order == 1 ? "/order" : "/randperm";
  }
  c.sample_rows = s.sample_rows;
  c.scale = s.scale;
  c.generate = [s](std::mt19937_64& rng, std::vector<HostTensor>& in) {
    auto coords = sparse_test::random_coords(rng, s.n, s.batches, s.density);
    auto nbr = sparse_test::neighbour_map(coords, s.k);
    const size_t K = nbr.size() / size_t(s.n);
    std::uniform_real_distribution<double> u(0, 1);
    for (int64_t i = 0; i < s.n; ++i)
      if (u(rng) < s.empty_rows)
        for (size_t v = 0; v < K; ++v) nbr[size_t(i) * K + v] = -1;
    in[1].data.assign(nbr.begin(), nbr.end());
    if (s.order) {
      std::vector<int32_t> o = s.order == 1 ? sparse_conv_order_host(nbr, s.n) : std::vector<int32_t>();
      if (s.order == 2) {
        o.resize(size_t(s.n));
        std::iota(o.begin(), o.end(), 0);
        std::shuffle(o.begin(), o.end(), rng);
      }
      in.back().data.assign(o.begin(), o.end());
    }
  };
  return c;
}

std::vector<TestCase> conv_cases() {
  std::vector<TestCase> cs;
  const DType f32 = DType::f32, f16 = DType::f16, bf16 = DType::bf16;
  for (DType t : {f32, f16, bf16}) {
    cs.push_back(conv_case({"n1_c16to16", 1, 16, 16, 3, t}));
    cs.push_back(conv_case({"n37_c24to72", 37, 24, 72, 3, t}));
    cs.push_back(conv_case({"n2000_c72to24_2batch_nobias", 2000, 72, 24, 3, t, false, 0.4, 2}));
  }
  cs.push_back(conv_case({"n3000_c16to16_sparse_emptyrows", 3000, 16, 16, 3, f32, true, 0.05, 1, 0.2}));
  cs.push_back(conv_case({"n500_c17to33_dense", 500, 17, 33, 3, f32, true, 1.0}));
  cs.push_back(conv_case({"n300_k1_c40to8", 300, 40, 8, 1, f32}));
  cs.push_back(conv_case({"n400_k5_c8to12", 400, 8, 12, 5, f32, true, 0.5}));
  cs.push_back(conv_case({"n200_c1024to40", 200, 1024, 40, 3, f16, true, 0.5}));
  cs.push_back(conv_case({"n150_c32to1024", 150, 32, 1024, 3, bf16, true, 0.5}));
  cs.push_back(conv_case({"n20000_c64to64_sampled", 20000, 64, 64, 3, f16, true, 0.3, 1, 0.01, 300}));
  // Explicit row orders (the op's optional last input): the planned order and arbitrary permutations.
  for (DType t : {f32, f16, bf16}) {
    cs.push_back(conv_case({"n3000_c64to64_2batch", 3000, 64, 64, 3, t, true, 0.2, 2, 0.05, 0, false, 1}));
    cs.push_back(conv_case({"n1000_c40to136_nobias", 1000, 40, 136, 3, t, false, 0.3, 1, 0.05, 0, false, 2}));
  }
  cs.push_back(conv_case({"n5000_c128to128", 5000, 128, 128, 3, f16, true, 0.3, 1, 0, 0, false, 1}));
  cs.push_back(conv_case({"n600_k5_c24to16", 600, 24, 16, 5, f32, true, 0.5, 1, 0, 0, false, 1}));
  // Scale: decoder-sized channels and voxel counts (sampled rows; sized so that
  // lavapipe, ~1 GFLOP/s here, finishes each in about a minute).
  cs.push_back(conv_case({"n10k_c256to256_sampled", 10000, 256, 256, 3, f16, true, 0.15, 1, 0, 200, true}));
  cs.push_back(conv_case({"n50k_c72to136_2batch_sampled", 50000, 72, 136, 3, f32, true, 0.2, 2, 0.01, 200, true}));
  cs.push_back(conv_case({"n200k_c32to32_sampled", 200000, 32, 32, 3, bf16, true, 0.15, 1, 0, 200, true}));
  cs.push_back(conv_case({"n1M_c16to16_sampled", 1000000, 16, 16, 3, f16, false, 0.1, 1, 0, 200, true}));
  return cs;
}

std::vector<TensorDesc> infer_order(const std::vector<TensorDesc>& in, const Attrs&) {
  TESSERA_CHECK(in.size() == 1 && in[0].dtype == DType::i32 && in[0].shape.size() == 2,
                "op 'sparse_conv_order' takes nbr i32 [N, K]; got {} inputs{}", in.size(),
                in.empty() ? "" : fmt::format(", the first {} {}", dtype_name(in[0].dtype), shape_str(in[0].shape)));
  TESSERA_CHECK(in[0].shape[0] < (int64_t(1) << 31), "op 'sparse_conv_order': N = {} reaches 2^31", in[0].shape[0]);
  return {{{in[0].shape[0]}, DType::i32}};
}

// Maps from random coordinates; some rows emptied, some entries out of range (>= N or < -1: no neighbour).
TestCase order_case(const std::string& label, int64_t n, int k, double density, double bad, bool scale = false) {
  TestCase c;
  c.label = label;
  const int64_t K = int64_t(k) * k * k;
  c.inputs = {{{n, K}, DType::i32}};
  c.scale = scale;
  c.generate = [=](std::mt19937_64& rng, std::vector<HostTensor>& in) {
    auto coords = sparse_test::random_coords(rng, n, 2, density);
    auto nbr = sparse_test::neighbour_map(coords, k);
    std::uniform_real_distribution<double> u(0, 1);
    for (auto& e : nbr)
      if (u(rng) < bad) e = u(rng) < 0.5 ? int32_t(n + int64_t(u(rng) * 5)) : -int32_t(2 + int64_t(u(rng) * 5));
    for (int64_t i = 0; i < n; ++i)
      if (u(rng) < 0.1)
        for (int64_t v = 0; v < K; ++v) nbr[size_t(i * K + v)] = -1;
    in[0].data.assign(nbr.begin(), nbr.end());
  };
  return c;
}

std::vector<TestCase> order_cases() {
  return {order_case("n1_k3", 1, 3, 0.3, 0), order_case("n37_k1", 37, 1, 0.5, 0.1),
          order_case("n3000_k3", 3000, 3, 0.2, 0.01), order_case("n2000_k5", 2000, 5, 0.4, 0.01),
          order_case("n70000_k3", 70000, 3, 0.3, 0.001), order_case("n1M_k3", 1000000, 3, 0.3, 0, true)};
}

OpRegistrar reg_order({"sparse_conv_order",
                       "row order for sparse_conv3d: rows stably sorted by neighbour-mask key (once per map)",
                       infer_order, ref::sparse_conv_order, order_cases,
                       [](DType, const std::vector<TensorDesc>&, const Attrs&) { return 0.0; }});

OpRegistrar reg({"sparse_conv3d",
                 "submanifold sparse 3-D convolution over a neighbour map, FlexGEMM weight layout, f32 accumulation",
                 infer_conv, ref::sparse_conv3d, conv_cases,
                 [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                   return tol::for_output(out, tol::kReduceF32);
                 }});

}  // namespace
}  // namespace tessera::ops
