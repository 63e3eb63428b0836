#include <cmath>

#include "core/broadcast.hpp"
#include "ops/reference/reference.hpp"

namespace tessera::ref {

void gelu(const Ins& in, Outs& out, const Attrs& a) {
  bool tanh_form = a.get_str("approximate", "none") == "tanh";
  for (size_t i = 0; i < in[0].data.size(); ++i) {
    double x = in[0].data[i];
    out[0].data[i] = tanh_form ? 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)))
                               : 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  }
}

void silu(const Ins& in, Outs& out, const Attrs&) {
  for (size_t i = 0; i < in[0].data.size(); ++i) {
    double x = in[0].data[i];
    out[0].data[i] = x / (1 + std::exp(-x));
  }
}

void sigmoid(const Ins& in, Outs& out, const Attrs&) {
  for (size_t i = 0; i < in[0].data.size(); ++i) {
    double x = in[0].data[i];
    out[0].data[i] = x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
  }
}

void softplus(const Ins& in, Outs& out, const Attrs&) {
  for (size_t i = 0; i < in[0].data.size(); ++i) {
    double x = in[0].data[i];
    out[0].data[i] = x > 20 ? x : std::log1p(std::exp(x));
  }
}

void softmax(const Ins& in, Outs& out, const Attrs&) {
  int64_t C = in[0].shape.back(), rows = in[0].numel() / C;
  for (int64_t r = 0; r < rows; ++r) {
    const double* p = &in[0].data[r * C];
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, p[c]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(p[c] - m);
    for (int64_t c = 0; c < C; ++c) out[0].data[r * C + c] = std::exp(p[c] - m) / s;
  }
}

// Index of output element i in each input under broadcasting.
static void bcast_apply(const Ins& in, Outs& out, double (*f)(const double*)) {
  std::vector<Shape> shapes;
  for (auto& t : in) shapes.push_back(t.shape);
  auto p = broadcast_plan("ref", shapes);
  int r = int(p.dims.size());
  int64_t n = shape_numel(p.dims);
  std::vector<double> v(in.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i;
    std::vector<int64_t> off(in.size(), 0);
    for (int d = r - 1; d >= 0; --d) {
      int64_t c = rem % p.dims[d];
      rem /= p.dims[d];
      for (size_t j = 0; j < in.size(); ++j) off[j] += c * p.strides[j][d];
    }
    for (size_t j = 0; j < in.size(); ++j) v[j] = in[j].data[off[j]];
    out[0].data[i] = f(v.data());
  }
}

// y = x * (1 + scale) + shift
void modulate(const Ins& in, Outs& out, const Attrs&) {
  bcast_apply(in, out, [](const double* v) { return v[0] * (1 + v[2]) + v[1]; });
}

// y = h + gate * x
void gated_residual(const Ins& in, Outs& out, const Attrs&) {
  bcast_apply(in, out, [](const double* v) { return v[0] + v[2] * v[1]; });
}

}  // namespace tessera::ref
