#include <functional>

#include "core/broadcast.hpp"
#include "ops/reference/reference.hpp"

namespace tessera::ref {

static void binary(const Ins& in, Outs& out, const std::function<double(double, double)>& f) {
  auto p = broadcast_plan("ref", {in[0].shape, in[1].shape});
  int r = int(p.dims.size());
  int64_t n = shape_numel(p.dims);
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t a = 0, b = 0, rem = i;
    for (int d = r - 1; d >= 0; --d) {
      int64_t c = rem % p.dims[d];
      rem /= p.dims[d];
      a += c * p.strides[0][d];
      b += c * p.strides[1][d];
    }
    out[0].data[i] = f(in[0].data[a], in[1].data[b]);
  }
}

void add(const Ins& in, Outs& out, const Attrs&) { binary(in, out, [](double x, double y) { return x + y; }); }
void mul(const Ins& in, Outs& out, const Attrs&) { binary(in, out, [](double x, double y) { return x * y; }); }

void scale(const Ins& in, Outs& out, const Attrs& a) {
  double alpha = a.get_float("alpha", 1.0);
  for (size_t i = 0; i < in[0].data.size(); ++i) out[0].data[i] = alpha * in[0].data[i];
}

void axpby(const Ins& in, Outs& out, const Attrs& a) {
  double alpha = a.get_float("alpha", 1.0), beta = a.get_float("beta", 1.0);
  for (size_t i = 0; i < in[0].data.size(); ++i) out[0].data[i] = alpha * in[0].data[i] + beta * in[1].data[i];
}

void cast(const Ins& in, Outs& out, const Attrs&) { out[0].data = in[0].data; }

}  // namespace tessera::ref
