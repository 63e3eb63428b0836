#include <algorithm>
#include <cmath>

#include "ops/attention.hpp"
#include "ops/reference/reference.hpp"

namespace tessera::ref {

// Plain softmax attention in float64, row by row (or only the rows listed in
// attr "__rows", the token index of q's first dim, for sampled scale checks).
void sdpa(const Ins& in, Outs& out, const Attrs& a) {
  std::vector<Shape> shapes;
  for (auto& t : in) shapes.push_back(t.shape);
  auto d = ops::sdpa_dims(shapes, a);
  const auto &q = in[0].data, &k = in[1].data, &v = in[2].data;
  auto& o = out[0].data;
  std::fill(o.begin(), o.end(), NAN);
  std::vector<int64_t> rows = a.get_ints("__rows");
  // (q row begin, q rows, k row begin, k rows) per sequence, in token units.
  struct Seq {
    int64_t q0, nq, k0, nk;
  };
  std::vector<Seq> seqs;
  if (d.varlen)
    for (int64_t s = 0; s < d.B; ++s)
      seqs.push_back({int64_t(in[3].data[s]), int64_t(in[3].data[s + 1] - in[3].data[s]), int64_t(in[4].data[s]),
                      int64_t(in[4].data[s + 1] - in[4].data[s])});
  else
    for (int64_t b = 0; b < d.B; ++b) seqs.push_back({b * d.Nq, d.Nq, b * d.Nk, d.Nk});
  std::vector<double> sc;
  for (auto& s : seqs) {
    for (int64_t i = s.q0; i < s.q0 + s.nq; ++i) {
      if (!rows.empty() && !std::binary_search(rows.begin(), rows.end(), d.varlen ? i : i / d.Nq)) continue;
      for (int64_t h = 0; h < d.H; ++h) {
        int64_t hk = h / (d.H / d.Hk);
        const double* qr = &q[(i * d.H + h) * d.D];
        sc.assign(size_t(s.nk), 0.0);
        double m = -INFINITY;
        for (int64_t j = 0; j < s.nk; ++j) {
          const double* kr = &k[((s.k0 + j) * d.Hk + hk) * d.D];
          double acc = 0;
          for (int64_t c = 0; c < d.D; ++c) acc += qr[c] * kr[c];
          sc[j] = acc * d.scale;
          m = std::max(m, sc[j]);
        }
        double sum = 0;
        for (auto& x : sc) sum += (x = std::exp(x - m));
        double* orow = &o[(i * d.H + h) * d.Dv];
        for (int64_t c = 0; c < d.Dv; ++c) orow[c] = 0;
        for (int64_t j = 0; j < s.nk; ++j) {
          const double* vr = &v[((s.k0 + j) * d.Hk + hk) * d.Dv];
          double p = sc[j] / sum;
          for (int64_t c = 0; c < d.Dv; ++c) orow[c] += p * vr[c];
        }
      }
    }
  }
}

}  // namespace tessera::ref
