// CPU conv3d: im2col over a slab of output depth planes, then one OpenBLAS
// SGEMM per slab: out[Cout, plane] = W[Cout, Cin k^3] · col[Cin k^3, plane].
// The column buffer is built with TBB; SGEMM runs outside any TBB region.
#include <cblas.h>

#include <vector>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

void conv3d(Device&, OpArgs& a) {
  const Tensor &x = a.in[0], &w = a.in[1];
  const int64_t N = x.dim(0), Ci = x.dim(1), D = x.dim(2), H = x.dim(3), W = x.dim(4);
  const int64_t Co = w.dim(0), k = w.dim(2), p = k / 2, K = Ci * k * k * k, HW = H * W;
  std::vector<float> wf(size_t(w.numel()));
  to_f32(data<char>(w), w.dtype(), wf.data(), w.numel());
  const float* bias = a.in.size() > 2 ? data<float>(a.in[2]) : nullptr;
  const DType t = x.dtype();
  const char* xp = data<char>(x);
  // Slab of output planes such that the column buffer stays under ~64 MiB.
  const int64_t planes = std::max<int64_t>(1, std::min<int64_t>(D, (int64_t(16) << 20) / std::max<int64_t>(1, K * HW)));
  std::vector<float> col(size_t(K * planes * HW)), out(size_t(Co * planes * HW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t z0 = 0; z0 < D; z0 += planes) {
      const int64_t nz = std::min(planes, D - z0), L = nz * HW;
      tbb::parallel_for(int64_t(0), K, [&](int64_t kk) {
        const int64_t ci = kk / (k * k * k), dz = (kk / (k * k)) % k - p, dy = (kk / k) % k - p, dx = kk % k - p;
        float* c = &col[kk * L];
        for (int64_t z = 0; z < nz; ++z)
          for (int64_t y = 0; y < H; ++y)
            for (int64_t xx = 0; xx < W; ++xx) {
              const int64_t zz = z0 + z + dz, yy = y + dy, x3 = xx + dx;
              const bool in = zz >= 0 && zz < D && yy >= 0 && yy < H && x3 >= 0 && x3 < W;
              c[(z * H + y) * W + xx] = in ? ld(xp, t, (((n * Ci + ci) * D + zz) * H + yy) * W + x3) : 0.f;
            }
      });
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(Co), int(L), int(K), 1.f, wf.data(), int(K),
                  col.data(), int(L), 0.f, out.data(), int(L));
      char* yp = data<char>(a.out[0]);
      tbb::parallel_for(int64_t(0), Co, [&](int64_t co) {
        const float b = bias ? bias[co] : 0.f;
        for (int64_t i = 0; i < L; ++i) st(yp, t, ((n * Co + co) * D + z0) * HW + i, out[co * L + i] + b);
      });
    }
}

TESSERA_REGISTER_KERNEL("conv3d", "cpu", conv3d);

}  // namespace
}  // namespace tessera::cpu
