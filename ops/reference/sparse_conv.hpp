// float64 references of the sparse convolution / resampling ops (ops/sparse_conv.hpp).
#pragma once
#include "ops/reference/reference.hpp"

namespace tessera::ref {
void sparse_conv3d(const Ins& in, Outs& out, const Attrs& a);
void sparse_conv_order(const Ins& in, Outs& out, const Attrs& a);
void sparse_subdivide_offsets(const Ins& in, Outs& out, const Attrs& a);
void sparse_channel_to_space(const Ins& in, Outs& out, const Attrs& a);
void sparse_space_to_channel(const Ins& in, Outs& out, const Attrs& a);
}  // namespace tessera::ref
