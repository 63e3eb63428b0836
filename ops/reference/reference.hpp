// float64 reference implementations: the one definition of each op's meaning.
// Inputs arrive already rounded to their storage dtype; outputs are float64.
#pragma once
#include "core/op_registry.hpp"

namespace tessera::ref {

using Ins = std::vector<HostTensor>;
using Outs = std::vector<HostTensor>;

void add(const Ins& in, Outs& out, const Attrs& a);
void mul(const Ins& in, Outs& out, const Attrs& a);
void scale(const Ins& in, Outs& out, const Attrs& a);
void axpby(const Ins& in, Outs& out, const Attrs& a);
void cast(const Ins& in, Outs& out, const Attrs& a);
void linear(const Ins& in, Outs& out, const Attrs& a);

}  // namespace tessera::ref

namespace tessera::ref {
void layer_norm(const Ins& in, Outs& out, const Attrs& a);
void rms_norm(const Ins& in, Outs& out, const Attrs& a);
void group_norm(const Ins& in, Outs& out, const Attrs& a);
void gelu(const Ins& in, Outs& out, const Attrs& a);
void silu(const Ins& in, Outs& out, const Attrs& a);
void sigmoid(const Ins& in, Outs& out, const Attrs& a);
void softplus(const Ins& in, Outs& out, const Attrs& a);
void softmax(const Ins& in, Outs& out, const Attrs& a);
void modulate(const Ins& in, Outs& out, const Attrs& a);
void gated_residual(const Ins& in, Outs& out, const Attrs& a);
}  // namespace tessera::ref

namespace tessera::ref {
void sdpa(const Ins& in, Outs& out, const Attrs& a);
}

namespace tessera::ref {
void rope(const Ins& in, Outs& out, const Attrs& a);
void timestep_embedding(const Ins& in, Outs& out, const Attrs& a);
void conv3d(const Ins& in, Outs& out, const Attrs& a);
void pixel_shuffle_3d(const Ins& in, Outs& out, const Attrs& a);
void upsample_nearest_3d(const Ins& in, Outs& out, const Attrs& a);
void permute(const Ins& in, Outs& out, const Attrs& a);
void slice(const Ins& in, Outs& out, const Attrs& a);
void concat(const Ins& in, Outs& out, const Attrs& a);
void gather(const Ins& in, Outs& out, const Attrs& a);
}  // namespace tessera::ref

namespace tessera::ref {
void moments(const Ins& in, Outs& out, const Attrs& a);
}
