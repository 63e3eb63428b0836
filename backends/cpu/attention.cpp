// CPU sdpa: flash-style tiling with an online softmax (running max m, running
// sum l, f32 accumulator O): the N x N scores are never materialised. Two
// schedules, picked per (sequence, head) job:
//  * large jobs (both lengths >= kBlasMin): the head's K and V are packed
//    contiguous (O(N·D) per job, like the inputs), query chunks of RQ rows
//    stream key blocks of BKL rows; S = scale·Q·Kᵀ and O += P·V are OpenBLAS
//    SGEMMs (OpenBLAS owns the cores; cpu_device.hpp), the softmax between
//    them runs on the calling thread with a vectorised exp.
//  * small jobs (short or varlen-packed sequences): TBB tasks of 32 query rows
//    x 128 keys with auto-vectorised loops, no BLAS inside TBB.
// target_clones picks AVX-512/AVX2 code at run time without requiring them.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/attention.hpp"

namespace tessera::cpu {
namespace {

constexpr int64_t BQ = 32, BK = 128;         // small-job tiles (TBB)
constexpr int64_t RQ = 1024, BKL = 512;      // large-job tiles (SGEMM): S is RQ x BKL f32 = 2 MiB
constexpr int64_t kBlasMin = 256;            // a job takes the SGEMM path when nq and nk are at least this

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TESSERA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TESSERA_CLONES
#endif

// x[j] = exp(x[j] - sub) for j < n, returns the sum. exp(y) = 2^t with t = y·log2(e)
// split as t = k + f (k integer, |f| <= 1/2): 2^f by its degree-7 Taylor polynomial
// (relative error < 6e-9), 2^k added to the exponent bits. y < -87 gives 0, NaN stays NaN.
// Written branch-free over 8 partial sums so that GCC vectorises it.
TESSERA_CLONES float exp_sub_sum(float* x, int64_t n, float sub) {
  constexpr float L2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;
  constexpr float C1 = LN2, C2 = C1 * LN2 / 2, C3 = C2 * LN2 / 3, C4 = C3 * LN2 / 4, C5 = C4 * LN2 / 5,
                  C6 = C5 * LN2 / 6, C7 = C6 * LN2 / 7;
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int u = 0; u < 8; ++u) {
      const float t = (x[j + u] - sub) * L2E;
      const float tc = t < -126.f ? -126.f : t;
      const float k = (tc + 12582912.f) - 12582912.f;  // round to nearest (|tc| < 2^22)
      const float f = tc - k;
      const float p = 1.f + f * (C1 + f * (C2 + f * (C3 + f * (C4 + f * (C5 + f * (C6 + f * C7))))));
      int32_t bits;
      std::memcpy(&bits, &p, 4);
      bits += int32_t(k) * (1 << 23);
      float r;
      std::memcpy(&r, &bits, 4);
      r = t < -126.f ? 0.f : r;
      r = t != t ? t : r;
      x[j + u] = r;
      part[u] += r;
    }
  }
  float s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  for (; j < n; ++j) s += (x[j] = std::exp(x[j] - sub));
  return s;
}

TESSERA_CLONES float row_max(const float* x, int64_t n, float init) {
  float part[8] = {init, init, init, init, init, init, init, init};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int u = 0; u < 8; ++u) part[u] = x[j + u] > part[u] ? x[j + u] : part[u];
  float m = init;
  for (int u = 0; u < 8; ++u) m = std::max(m, part[u]);
  for (; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

TESSERA_CLONES void scale_row(float* x, int64_t n, float a) {
  for (int64_t j = 0; j < n; ++j) x[j] *= a;
}

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

// One online-softmax step for the rows of S (ld columns apart, nk keys): P in place,
// O rows (Dv wide) rescaled when their max moves.
void softmax_step(float* S, int64_t ld, int64_t rows, int64_t nk, float* m, float* l, float* O, int64_t Dv) {
  for (int64_t i = 0; i < rows; ++i) {
    float* sr = S + i * ld;
    const float mx = row_max(sr, nk, m[i]);
    const float alpha = std::exp(m[i] - mx);  // exp(-inf) = 0 on the first block
    const float sum = exp_sub_sum(sr, nk, mx);
    l[i] = l[i] * alpha + sum;
    m[i] = mx;
    if (alpha != 1.f) scale_row(O + i * Dv, Dv, alpha);
  }
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

struct Job {
  const float *q, *k, *v;
  float* o;
  const ops::SdpaDims& d;
};

// Output rows = O / l (0 for an empty key sequence).
void finish_rows(const float* O, const float* l, int64_t rows, int64_t Dv, float* out, int64_t out_stride) {
  for (int64_t i = 0; i < rows; ++i) {
    const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;
    for (int64_t c = 0; c < Dv; ++c) out[i * out_stride + c] = O[i * Dv + c] * inv;
  }
}

// Rows [r0, r0 + n) of head h of a [T, heads, width] tensor, packed contiguous into dst (TBB: plain copies).
void pack_head(const float* src, int64_t r0, int64_t n, int64_t heads, int64_t h, int64_t width, float* dst) {
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 256), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i)
      std::copy_n(src + ((r0 + i) * heads + h) * width, width, dst + i * width);
  });
}

// Large job: one (sequence, head) through SGEMMs, on the calling thread (OpenBLAS threads inside).
// The head's K and V (and each query chunk) are packed contiguous first: their rows lie heads x D
// floats apart in the [T, heads, D] layout, and at 12+ heads every row of a strided GEMM operand
// touched a new page (the SGEMMs ran at half speed).
void large_job(const Job& j, const Seq& s, int64_t h, std::vector<float>& S, std::vector<float>& O) {
  const auto& d = j.d;
  const int64_t hk = h / (d.H / d.Hk), ldo = d.H * d.Dv;
  std::vector<float> m(RQ), l(RQ), Q(size_t(RQ * d.D)), K(size_t(s.nk * d.D)), V(size_t(s.nk * d.Dv));
  pack_head(j.k, s.k0, s.nk, d.Hk, hk, d.D, K.data());
  pack_head(j.v, s.k0, s.nk, d.Hk, hk, d.Dv, V.data());
  for (int64_t i0 = 0; i0 < s.nq; i0 += RQ) {
    const int64_t rows = std::min(RQ, s.nq - i0);
    std::fill(m.begin(), m.end(), -INFINITY);
    std::fill(l.begin(), l.end(), 0.f);
    std::fill(O.begin(), O.begin() + rows * d.Dv, 0.f);
    pack_head(j.q, s.q0 + i0, rows, d.H, h, d.D, Q.data());
    for (int64_t j0 = 0; j0 < s.nk; j0 += BKL) {
      const int64_t nk = std::min(BKL, s.nk - j0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(nk), int(d.D), float(d.scale), Q.data(),
                  int(d.D), K.data() + j0 * d.D, int(d.D), 0.f, S.data(), int(BKL));
      softmax_step(S.data(), BKL, rows, nk, m.data(), l.data(), O.data(), d.Dv);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(d.Dv), int(nk), 1.f, S.data(), int(BKL),
                  V.data() + j0 * d.Dv, int(d.Dv), 1.f, O.data(), int(d.Dv));
    }
    finish_rows(O.data(), l.data(), rows, d.Dv, j.o + (s.q0 + i0) * ldo + h * d.Dv, ldo);
  }
}

// Small jobs: TBB tasks of BQ query rows streaming BK keys, loops vectorised by the compiler.
void small_jobs(const Job& j, const std::vector<Seq>& seqs, const std::vector<int64_t>& which) {
  const auto& d = j.d;
  struct Task {
    int64_t seq, h, i0;
  };
  std::vector<Task> tasks;
  for (int64_t si : which)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t i0 = 0; i0 < seqs[size_t(si)].nq; i0 += BQ) tasks.push_back({si, h, i0});
  const float scale = float(d.scale);
  const int64_t group = d.H / d.Hk;
  tbb::parallel_for(size_t(0), tasks.size(), [&](size_t ti) {
    const Task t = tasks[ti];
    const Seq& s = seqs[size_t(t.seq)];
    const int64_t nq = std::min(BQ, s.nq - t.i0), hk = t.h / group;
    std::vector<float> Q(nq * d.D), Kt(d.D * BK), S(nq * BK), O(nq * d.Dv, 0.f), m(nq, -INFINITY), l(nq, 0.f);
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t c = 0; c < d.D; ++c) Q[i * d.D + c] = j.q[((s.q0 + t.i0 + i) * d.H + t.h) * d.D + c] * scale;
    for (int64_t j0 = 0; j0 < s.nk; j0 += BK) {
      const int64_t nk = std::min(BK, s.nk - j0);
      for (int64_t jj = 0; jj < nk; ++jj)
        for (int64_t c = 0; c < d.D; ++c) Kt[c * BK + jj] = j.k[((s.k0 + j0 + jj) * d.Hk + hk) * d.D + c];
      scores(Q.data(), nq, Kt.data(), nk, d.D, S.data());
      softmax_step(S.data(), BK, nq, nk, m.data(), l.data(), O.data(), d.Dv);
      accumulate(S.data(), nq, j.v + ((s.k0 + j0) * d.Hk + hk) * d.Dv, d.Hk * d.Dv, nk, d.Dv, O.data());
    }
    finish_rows(O.data(), l.data(), nq, d.Dv, j.o + ((s.q0 + t.i0) * d.H + t.h) * d.Dv, d.H * d.Dv);
  });
}

void sdpa(Device&, OpArgs& a) {
  std::vector<Shape> shapes;
  for (auto& t : a.in) shapes.push_back(t.shape());
  const auto d = ops::sdpa_dims(shapes, a.attrs);
  const auto seqs = sequences(a, d);
  std::vector<float> tq, tk, tv, to;
  Tensor& out = a.out[0];
  float* o = out.dtype() == DType::f32 ? data<float>(out) : (to.resize(size_t(out.numel())), to.data());
  const Job job{as_f32(a.in[0], tq), as_f32(a.in[1], tk), as_f32(a.in[2], tv), o, d};
  std::vector<int64_t> small, large;
  for (int64_t s = 0; s < int64_t(seqs.size()); ++s)
    (seqs[size_t(s)].nq >= kBlasMin && seqs[size_t(s)].nk >= kBlasMin ? large : small).push_back(s);
  if (!small.empty()) small_jobs(job, seqs, small);
  if (!large.empty()) {
    std::vector<float> S(size_t(RQ * BKL)), O(size_t(RQ * d.Dv));
    for (int64_t s : large)
      for (int64_t h = 0; h < d.H; ++h) large_job(job, seqs[size_t(s)], h, S, O);
  }
  if (out.dtype() != DType::f32) from_f32(o, data<char>(out), out.dtype(), out.numel());
}

std::string supports(const Device&, const OpArgs& a) {
  std::vector<Shape> shapes;
  for (auto& t : a.in) shapes.push_back(t.shape());
  const auto d = ops::sdpa_dims(shapes, a.attrs);
  if (d.H * std::max(d.D, d.Dv) > INT32_MAX) return "heads x head dim exceeds OpenBLAS's 32-bit leading dimension";
  return "";
}

TESSERA_REGISTER_KERNEL("sdpa", "cpu", sdpa, supports);

}  // namespace
}  // namespace tessera::cpu
