// CPU sparse_conv3d: gather-GEMM-scatter per kernel offset. Rows are handled
// in chunks; for each offset v the rows of the chunk with a neighbour there are
// gathered (widened to f32) into G [n_v, Cin], multiplied by W_v^T (OpenBLAS
// SGEMM, W_v = weight[:, v, :] read in place with leading dimension K Cin) and
// the product is added into the chunk's f32 accumulator. Offsets without any
// neighbour cost nothing. SGEMM runs outside TBB regions (cpu_device.hpp).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"
#include "ops/sparse_conv.hpp"

namespace tessera::cpu {
namespace {

void sparse_conv3d(Device&, OpArgs& a) {
  const Tensor &f = a.in[0], &nbr_t = a.in[1], &w = a.in[2];
  Tensor& y = a.out[0];
  const int64_t N = f.dim(0), Ci = f.dim(1), K = nbr_t.dim(1), Co = w.dim(0);
  if (N == 0 || Co == 0) return;
  std::vector<float> wf(size_t(w.numel()));
  to_f32(data<char>(w), w.dtype(), wf.data(), w.numel());
  // The optional order input only matters to the GPU kernels' tiling.
  const ops::SparseConvInputs has(a.in.size(), a.in.back().dtype());
  const float* bias = has.bias ? data<float>(a.in[3]) : nullptr;
  const int32_t* nbr = data<int32_t>(nbr_t);
  const char* fp = data<char>(f);
  DType t = f.dtype();
  // f16/bf16 features are widened once when that copy is small enough (<= 1 GiB),
  // so the gathers below are plain row copies; else each gathered row is widened.
  std::vector<float> f32;
  if (t != DType::f32 && N * Ci <= (int64_t(1) << 28)) {
    f32.resize(size_t(N * Ci));
    to_f32(fp, t, f32.data(), N * Ci);
    fp = reinterpret_cast<const char*>(f32.data());
    t = DType::f32;
  }
  // Chunk rows so that the accumulator, the gather and the product stay ~192 MiB.
  const int64_t R = std::min<int64_t>(N, std::max<int64_t>(256, (int64_t(16) << 20) / std::max<int64_t>(1, Ci + 2 * Co)));
  std::vector<float> acc(static_cast<size_t>(R * Co)), g(static_cast<size_t>(R * Ci)), prod(static_cast<size_t>(R * Co));
  std::vector<int32_t> rows(static_cast<size_t>(R)), src(static_cast<size_t>(R));
  char* yp = data<char>(y);
  for (int64_t r0 = 0; r0 < N; r0 += R) {
    const int64_t nr = std::min(R, N - r0);
    tbb::parallel_for(int64_t(0), nr, [&](int64_t i) {
      float* ar = &acc[size_t(i * Co)];
      if (bias) std::copy(bias, bias + Co, ar);
      else std::fill(ar, ar + Co, 0.f);
    });
    for (int64_t v = 0; v < K; ++v) {
      int64_t nv = 0;
      for (int64_t i = 0; i < nr; ++i) {
        const int32_t j = nbr[(r0 + i) * K + v];
        if (j < 0 || j >= N) continue;  // -1 (and any invalid entry): no neighbour
        rows[size_t(nv)] = int32_t(i);
        src[size_t(nv++)] = j;
      }
      if (nv == 0) continue;
      tbb::parallel_for(int64_t(0), nv, [&](int64_t r) {
        float* gr = &g[size_t(r * Ci)];
        const int64_t base = int64_t(src[size_t(r)]) * Ci;
        if (t == DType::f32) std::copy(reinterpret_cast<const float*>(fp) + base,
                                       reinterpret_cast<const float*>(fp) + base + Ci, gr);
        else
          for (int64_t c = 0; c < Ci; ++c) gr[c] = ld(fp, t, base + c);
      });
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(nv), int(Co), int(Ci), 1.f, g.data(), int(Ci),
                  wf.data() + v * Ci, int(K * Ci), 0.f, prod.data(), int(Co));
      tbb::parallel_for(int64_t(0), nv, [&](int64_t r) {
        float* ar = &acc[size_t(rows[size_t(r)]) * size_t(Co)];
        const float* pr = &prod[size_t(r * Co)];
        for (int64_t c = 0; c < Co; ++c) ar[c] += pr[c];
      });
    }
    from_f32(acc.data(), yp + size_t(r0 * Co) * dtype_size(y.dtype()), y.dtype(), nr * Co);
  }
}

void sparse_conv_order(Device&, OpArgs& a) {
  const Tensor& nbr = a.in[0];
  const int64_t N = nbr.dim(0), K = nbr.dim(1);
  if (N == 0) return;
  const int32_t* p = data<int32_t>(nbr);
  const auto o = ops::sparse_conv_order_host(std::vector<int32_t>(p, p + N * K), N);
  std::copy(o.begin(), o.end(), data<int32_t>(a.out[0]));
}

TESSERA_REGISTER_KERNEL("sparse_conv_order", "cpu", sparse_conv_order);
TESSERA_REGISTER_KERNEL("sparse_conv3d", "cpu", sparse_conv3d);

}  // namespace
}  // namespace tessera::cpu
