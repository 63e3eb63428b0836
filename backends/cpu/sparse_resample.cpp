// CPU sparse_subdivide_offsets (serial prefix sum), sparse_channel_to_space
// (parallel over parents: each writes its children at offsets[p]) and
// sparse_space_to_channel (occupancy check, then a parallel scatter). Features
// are moved as raw elements (no rounding).
#include <cstring>
#include <vector>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

void subdivide_offsets(Device&, OpArgs& a) {
  const Tensor& l = a.in[0];
  const int64_t Np = l.dim(0);
  const char* lp = data<char>(l);
  int32_t* o = data<int32_t>(a.out[0]);
  int32_t s = 0;
  o[0] = 0;
  for (int64_t p = 0; p < Np; ++p) {
    for (int k = 0; k < 8; ++k) s += ld(lp, l.dtype(), p * 8 + k) > 0.f ? 1 : 0;
    o[p + 1] = s;
  }
}

void channel_to_space(Device&, OpArgs& a) {
  const Tensor &co = a.in[0], &f = a.in[1], &l = a.in[2], &off = a.in[3];
  const int64_t Np = co.dim(0), Cc = f.dim(1) / 8, rep = a.attrs.get_int("repeat", 1), Nc = a.out[0].dim(0);
  const int64_t Co = Cc * rep;
  const size_t es = dtype_size(f.dtype());
  const int32_t* pc = data<int32_t>(co);
  const int32_t* po = data<int32_t>(off);
  const char* fp = data<char>(f);
  const char* lp = data<char>(l);
  int32_t* cc = data<int32_t>(a.out[0]);
  char* yp = data<char>(a.out[1]);
  TESSERA_CHECK(po[Np] == Nc, "sparse_channel_to_space (cpu): offsets[Np] = {} but num_children = {}", po[Np], Nc);
  tbb::parallel_for(int64_t(0), Np, [&](int64_t p) {
    int64_t c = po[p];
    for (int k = 0; k < 8; ++k) {
      if (!(ld(lp, l.dtype(), p * 8 + k) > 0.f)) continue;
      if (c < 0 || c >= Nc) return;  // inconsistent offsets: never write out of bounds
      cc[c * 4] = pc[p * 4];
      cc[c * 4 + 1] = 2 * pc[p * 4 + 1] + (k & 1);
      cc[c * 4 + 2] = 2 * pc[p * 4 + 2] + ((k >> 1) & 1);
      cc[c * 4 + 3] = 2 * pc[p * 4 + 3] + ((k >> 2) & 1);
      const char* src = fp + size_t(p * 8 * Cc + k * Cc) * es;
      char* dst = yp + size_t(c * Co) * es;
      if (rep == 1) std::memcpy(dst, src, size_t(Cc) * es);
      else
        for (int64_t j = 0; j < Co; ++j) std::memcpy(dst + size_t(j) * es, src + size_t(j / rep) * es, es);
      ++c;
    }
  });
}

void space_to_channel(Device&, OpArgs& a) {
  const Tensor &f = a.in[0], &co = a.in[1], &par = a.in[2];
  Tensor& y = a.out[0];
  const int64_t Nc = f.dim(0), C = f.dim(1), Np = y.dim(0);
  const size_t es = dtype_size(f.dtype());
  const int32_t* pc = data<int32_t>(co);
  const int32_t* pp = data<int32_t>(par);
  std::vector<int32_t> slot(static_cast<size_t>(Nc));
  std::vector<uint8_t> used(static_cast<size_t>(Np * 8), 0);
  for (int64_t c = 0; c < Nc; ++c) {
    const int64_t p = pp[c];
    TESSERA_CHECK(p >= 0 && p < Np, "sparse_space_to_channel (cpu): child {} has parent {} outside [0, {})", c, p, Np);
    const int k = (pc[c * 4 + 1] & 1) + 2 * (pc[c * 4 + 2] & 1) + 4 * (pc[c * 4 + 3] & 1);
    TESSERA_CHECK(!used[size_t(p * 8 + k)],
                  "sparse_space_to_channel (cpu): two children map to the same slot {} of parent {} (duplicate child "
                  "coordinates?)",
                  k, p);
    used[size_t(p * 8 + k)] = 1;
    slot[size_t(c)] = int32_t(p * 8 + k);
  }
  char* yp = data<char>(y);
  std::memset(yp, 0, y.nbytes());
  const char* fp = data<char>(f);
  tbb::parallel_for(int64_t(0), Nc, [&](int64_t c) {
    std::memcpy(yp + size_t(slot[size_t(c)]) * size_t(C) * es, fp + size_t(c * C) * es, size_t(C) * es);
  });
}

TESSERA_REGISTER_KERNEL("sparse_subdivide_offsets", "cpu", subdivide_offsets);
TESSERA_REGISTER_KERNEL("sparse_channel_to_space", "cpu", channel_to_space);
TESSERA_REGISTER_KERNEL("sparse_space_to_channel", "cpu", space_to_channel);

}  // namespace
}  // namespace tessera::cpu
