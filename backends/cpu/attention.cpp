// CPU sdpa: flash-style tiling. Each TBB task owns (sequence, head, block of
// 32 query rows) and streams key/value blocks of 128 rows through an online
// softmax (running max m, running sum l, f32 accumulator O), so memory stays
// O(block) whatever the sequence length. The inner loops are written to
// auto-vectorise over contiguous data; target_clones picks AVX-512/AVX2 at
// run time without requiring them.
#include <cmath>
#include <vector>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/attention.hpp"

namespace tessera::cpu {
namespace {

constexpr int64_t BQ = 32, BK = 128;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TESSERA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TESSERA_CLONES
#endif

// S[i][j] = sum_d Q[i][d] * Kt[d][j]   (Q: nq x D, Kt: D x nk, S: nq x BK)
TESSERA_CLONES void scores(const float* Q, int64_t nq, const float* Kt, int64_t nk, int64_t D, float* S) {
  for (int64_t i = 0; i < nq; ++i) {
    float* s = S + i * BK;
    for (int64_t j = 0; j < nk; ++j) s[j] = 0.f;
    for (int64_t d = 0; d < D; ++d) {
      const float q = Q[i * D + d];
      const float* kt = Kt + d * BK;
      for (int64_t j = 0; j < nk; ++j) s[j] += q * kt[j];
    }
  }
}

// O[i][c] += sum_j P[i][j] * V[j][c]   (V rows strided by vs)
TESSERA_CLONES void accumulate(const float* P, int64_t nq, const float* V, int64_t vs, int64_t nk, int64_t Dv,
                               float* O) {
  for (int64_t i = 0; i < nq; ++i) {
    float* o = O + i * Dv;
    for (int64_t j = 0; j < nk; ++j) {
      const float p = P[i * BK + j];
      const float* v = V + j * vs;
      for (int64_t c = 0; c < Dv; ++c) o[c] += p * v[c];
    }
  }
}

const float* as_f32(const Tensor& t, std::vector<float>& tmp) {
  if (t.dtype() == DType::f32) return data<float>(t);
  tmp.resize(size_t(t.numel()));
  to_f32(data<char>(t), t.dtype(), tmp.data(), t.numel());
  return tmp.data();
}

struct Seq {
  int64_t q0, nq, k0, nk;
};

std::vector<Seq> sequences(const OpArgs& a, const ops::SdpaDims& d) {
  std::vector<Seq> seqs;
  if (!d.varlen) {
    for (int64_t b = 0; b < d.B; ++b) seqs.push_back({b * d.Nq, d.Nq, b * d.Nk, d.Nk});
    return seqs;
  }
  const int32_t* cq = data<int32_t>(a.in[3]);
  const int32_t* ck = data<int32_t>(a.in[4]);
  TESSERA_CHECK(cq[0] == 0 && ck[0] == 0 && cq[d.B] == d.Nq && ck[d.B] == d.Nk,
                "op 'sdpa': cu_seqlens must start at 0 and end at the row counts ({} q rows, {} k rows); got "
                "q [{}..{}], k [{}..{}]",
                d.Nq, d.Nk, cq[0], cq[d.B], ck[0], ck[d.B]);
  for (int64_t s = 0; s < d.B; ++s) {
    TESSERA_CHECK(cq[s + 1] >= cq[s] && ck[s + 1] >= ck[s], "op 'sdpa': cu_seqlens decrease at sequence {}", s);
    seqs.push_back({cq[s], cq[s + 1] - cq[s], ck[s], ck[s + 1] - ck[s]});
  }
  return seqs;
}

void sdpa(Device&, OpArgs& a) {
  std::vector<Shape> shapes;
  for (auto& t : a.in) shapes.push_back(t.shape());
  const auto d = ops::sdpa_dims(shapes, a.attrs);
  const auto seqs = sequences(a, d);
  std::vector<float> tq, tk, tv, to;
  const float* q = as_f32(a.in[0], tq);
  const float* k = as_f32(a.in[1], tk);
  const float* v = as_f32(a.in[2], tv);
  Tensor& out = a.out[0];
  float* o = out.dtype() == DType::f32 ? data<float>(out) : (to.resize(size_t(out.numel())), to.data());
  const int64_t group = d.H / d.Hk;
  struct Task {
    int64_t seq, h, i0;
  };
  std::vector<Task> tasks;
  for (int64_t s = 0; s < int64_t(seqs.size()); ++s)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t i0 = 0; i0 < seqs[s].nq; i0 += BQ) tasks.push_back({s, h, i0});
  const float scale = float(d.scale);
  tbb::parallel_for(size_t(0), tasks.size(), [&](size_t ti) {
    const Task t = tasks[ti];
    const Seq& s = seqs[t.seq];
    const int64_t nq = std::min(BQ, s.nq - t.i0), hk = t.h / group;
    std::vector<float> Q(nq * d.D), Kt(d.D * BK), S(nq * BK), O(nq * d.Dv, 0.f), m(nq, -INFINITY), l(nq, 0.f);
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t c = 0; c < d.D; ++c) Q[i * d.D + c] = q[((s.q0 + t.i0 + i) * d.H + t.h) * d.D + c] * scale;
    for (int64_t j0 = 0; j0 < s.nk; j0 += BK) {
      const int64_t nk = std::min(BK, s.nk - j0);
      for (int64_t j = 0; j < nk; ++j)
        for (int64_t c = 0; c < d.D; ++c) Kt[c * BK + j] = k[((s.k0 + j0 + j) * d.Hk + hk) * d.D + c];
      scores(Q.data(), nq, Kt.data(), nk, d.D, S.data());
      for (int64_t i = 0; i < nq; ++i) {  // online softmax update
        float* sr = &S[i * BK];
        float mx = m[i];
        for (int64_t j = 0; j < nk; ++j) mx = std::max(mx, sr[j]);
        const float alpha = std::exp(m[i] - mx);  // exp(-inf) = 0 on the first block
        float sum = 0.f;
        for (int64_t j = 0; j < nk; ++j) sum += (sr[j] = std::exp(sr[j] - mx));
        l[i] = l[i] * alpha + sum;
        m[i] = mx;
        for (int64_t c = 0; c < d.Dv; ++c) O[i * d.Dv + c] *= alpha;
      }
      accumulate(S.data(), nq, v + ((s.k0 + j0) * d.Hk + hk) * d.Dv, d.Hk * d.Dv, nk, d.Dv, O.data());
    }
    for (int64_t i = 0; i < nq; ++i) {
      const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;  // an empty key sequence gives 0
      float* orow = o + ((s.q0 + t.i0 + i) * d.H + t.h) * d.Dv;
      for (int64_t c = 0; c < d.Dv; ++c) orow[c] = O[i * d.Dv + c] * inv;
    }
  });
  if (out.dtype() != DType::f32) from_f32(o, data<char>(out), out.dtype(), out.numel());
}

TESSERA_REGISTER_KERNEL("sdpa", "cpu", sdpa);

}  // namespace
}  // namespace tessera::cpu
