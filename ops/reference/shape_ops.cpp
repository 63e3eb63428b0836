#include "ops/reference/reference.hpp"

namespace tessera::ref {

void permute(const Ins& in, Outs& out, const Attrs& a) {
  auto dims = a.get_ints("dims");
  const auto& s = in[0].shape;
  Shape is = contiguous_strides(s), os = out[0].shape;
  int r = int(s.size());
  for (int64_t i = 0; i < out[0].numel(); ++i) {
    int64_t rem = i, src = 0;
    for (int d = r - 1; d >= 0; --d) {
      int64_t c = rem % os[d];
      rem /= os[d];
      src += c * is[dims[d]];
    }
    out[0].data[i] = in[0].data[src];
  }
}

void slice(const Ins& in, Outs& out, const Attrs& a) {
  const auto& s = in[0].shape;
  int64_t d = a.get_int("dim", 0);
  if (d < 0) d += int64_t(s.size());
  int64_t st = a.get_int("start", 0);
  if (st < 0) st += s[d];
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= s[i];
  for (size_t i = d + 1; i < s.size(); ++i) inner *= s[i];
  int64_t n = out[0].shape[d];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < inner; ++k)
        out[0].data[(o * n + j) * inner + k] = in[0].data[(o * s[d] + st + j) * inner + k];
}

void concat(const Ins& in, Outs& out, const Attrs& a) {
  const auto& s = out[0].shape;
  int64_t d = a.get_int("dim", 0);
  if (d < 0) d += int64_t(s.size());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= s[i];
  for (size_t i = d + 1; i < s.size(); ++i) inner *= s[i];
  int64_t off = 0;
  for (auto& t : in) {
    int64_t n = t.shape[d];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < inner; ++k)
          out[0].data[(o * s[d] + off + j) * inner + k] = t.data[(o * n + j) * inner + k];
    off += n;
  }
}

}  // namespace tessera::ref
