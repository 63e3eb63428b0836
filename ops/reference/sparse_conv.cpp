#include "ops/reference/sparse_conv.hpp"

#include "core/error.hpp"
#include "ops/sparse_conv.hpp"

namespace tessera::ref {

// out[i, co] = bias[co] + sum_v sum_ci W[co, v, ci] feats[nbr[i, v], ci]: a dense
// convolution restricted to the active sites, the neighbours given by the map.
void sparse_conv3d(const Ins& in, Outs& out, const Attrs& a) {
  const auto &f = in[0], &nbr = in[1], &w = in[2];
  const int64_t N = f.shape[0], Ci = f.shape[1], K = nbr.shape[1], Co = w.shape[0];
  const ops::SparseConvInputs has(in.size(), in.back().dtype);  // the order input changes nothing
  std::vector<int64_t> rows = a.has("__rows") ? a.get_ints("__rows") : std::vector<int64_t>();
  if (rows.empty())
    for (int64_t i = 0; i < N; ++i) rows.push_back(i);
  for (int64_t i : rows)
    for (int64_t co = 0; co < Co; ++co) {
      double acc = has.bias ? in[3].data[size_t(co)] : 0.0;
      for (int64_t v = 0; v < K; ++v) {
        const double j = nbr.data[size_t(i * K + v)];
        if (j < 0 || j >= double(N)) continue;
        const double* fr = &f.data[size_t(int64_t(j) * Ci)];
        const double* wr = &w.data[size_t((co * K + v) * Ci)];
        for (int64_t ci = 0; ci < Ci; ++ci) acc += wr[ci] * fr[ci];
      }
      out[0].data[size_t(i * Co + co)] = acc;
    }
}

void sparse_conv_order(const Ins& in, Outs& out, const Attrs&) {
  const int64_t N = in[0].shape[0];
  std::vector<int32_t> nbr(in[0].data.begin(), in[0].data.end());
  const auto o = ops::sparse_conv_order_host(nbr, N);
  out[0].data.assign(o.begin(), o.end());
}

void sparse_subdivide_offsets(const Ins& in, Outs& out, const Attrs&) {
  const auto& l = in[0];
  const int64_t Np = l.shape[0];
  double o = 0;
  out[0].data[0] = 0;
  for (int64_t p = 0; p < Np; ++p) {
    for (int k = 0; k < 8; ++k) o += l.data[size_t(p * 8 + k)] > 0 ? 1 : 0;
    out[0].data[size_t(p + 1)] = o;
  }
}

// Children from the logits (the definition), not from the offsets input.
void sparse_channel_to_space(const Ins& in, Outs& out, const Attrs& a) {
  const auto &coords = in[0], &f = in[1], &l = in[2];
  const int64_t Np = coords.shape[0], Cc = f.shape[1] / 8, rep = a.get_int("repeat", 1);
  const int64_t Nc = a.get_int("num_children"), Co = Cc * rep;
  int64_t c = 0;
  for (int64_t p = 0; p < Np; ++p)
    for (int64_t k = 0; k < 8; ++k) {
      if (!(l.data[size_t(p * 8 + k)] > 0)) continue;
      TESSERA_CHECK(c < Nc, "ref sparse_channel_to_space: more children than num_children = {}", Nc);
      const double* pc = &coords.data[size_t(p * 4)];
      double* cc = &out[0].data[size_t(c * 4)];
      cc[0] = pc[0];
      cc[1] = 2 * pc[1] + double(k & 1);
      cc[2] = 2 * pc[2] + double((k >> 1) & 1);
      cc[3] = 2 * pc[3] + double((k >> 2) & 1);
      for (int64_t j = 0; j < Co; ++j)
        out[1].data[size_t(c * Co + j)] = f.data[size_t(p * 8 * Cc + k * Cc + j / rep)];
      ++c;
    }
  TESSERA_CHECK(c == Nc, "ref sparse_channel_to_space: {} children, num_children = {}", c, Nc);
}

void sparse_space_to_channel(const Ins& in, Outs& out, const Attrs& a) {
  const auto &f = in[0], &coords = in[1], &par = in[2];
  const int64_t Nc = f.shape[0], C = f.shape[1], Np = a.get_int("num_parents");
  std::vector<char> used(size_t(Np * 8), 0);
  std::fill(out[0].data.begin(), out[0].data.end(), 0.0);
  for (int64_t c = 0; c < Nc; ++c) {
    const int64_t p = int64_t(par.data[size_t(c)]);
    TESSERA_CHECK(p >= 0 && p < Np, "ref sparse_space_to_channel: child {} has parent {} outside [0, {})", c, p, Np);
    const double* cc = &coords.data[size_t(c * 4)];
    const int64_t k = (int64_t(cc[1]) & 1) + 2 * (int64_t(cc[2]) & 1) + 4 * (int64_t(cc[3]) & 1);
    TESSERA_CHECK(!used[size_t(p * 8 + k)], "ref sparse_space_to_channel: two children in slot {} of parent {}", k, p);
    used[size_t(p * 8 + k)] = 1;
    for (int64_t j = 0; j < C; ++j) out[0].data[size_t(p * 8 * C + k * C + j)] = f.data[size_t(c * C + j)];
  }
}

}  // namespace tessera::ref
