// Data movement for every dtype (element size ES = 1, 2, 4 or 8 bytes):
// each invocation assembles one whole 32-bit word of the output, so 1- and
// 2-byte elements never race and need no atomics. MODE picks the source of
// output element e:
//   0 strided : permute / slice: in0[base + sum_d coord_d(e) * stride_d]
//   1 concat  : up to 6 inputs (bindings 0..5) along one dim; elements that
//               come from inputs outside this dispatch keep their contents
//   2 pixel_shuffle_3d, 3 upsample_nearest_3d (NCDHW)
//   4 gather  : rows of in0 [V, C] at index in1 (i32, or i64 with IDX64);
//               zero rows for indices outside [0, V)
// Output bytes of a partial first/last word that lie outside the tensor are
// kept. Element indices are 32-bit: every tensor fits one binding (< 4 GiB).
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : enable
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ES = 4;
layout(constant_id = 2) const uint MODE = 0;
layout(constant_id = 3) const uint RANK = 1;   // MODE 0: collapsed rank (1..8)
layout(constant_id = 4) const uint NIN = 1;    // MODE 1: inputs in this dispatch (1..6)
layout(constant_id = 5) const bool IDX64 = false;

layout(std430, binding = 0) readonly buffer I0 { uint in0[]; };
layout(std430, binding = 1) readonly buffer I1 { uint in1[]; };
layout(std430, binding = 2) readonly buffer I2 { uint in2[]; };
layout(std430, binding = 3) readonly buffer I3 { uint in3[]; };
layout(std430, binding = 4) readonly buffer I4 { uint in4[]; };
layout(std430, binding = 5) readonly buffer I5 { uint in5[]; };
layout(std430, binding = 6) buffer O { uint o[]; };
// MODE 0: dims[RANK], strides[RANK], base
// MODE 1: out row length (total * inner), then per input: start, length (x inner), element offset
// MODE 2/3: out dims N, C, D, H, W (5), in dims (5), factor r, in element offset
// MODE 4: V, C, table element offset, index element offset
layout(std430, binding = 7) readonly buffer Meta { int64_t meta[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // output words
  uint n;          // output elements
  uint o_off;      // output element offset in its binding
} pc;

// Raw bits of element i (binding-relative) of input j; for ES 8, word `part` of it.
uint load(uint j, uint i, uint part) {
  if (ES == 8u) {
    uint k = 2u * i + part;
    switch (j) {
      case 0u: return in0[k];
      case 1u: return in1[k];
      case 2u: return in2[k];
      case 3u: return in3[k];
      case 4u: return in4[k];
      default: return in5[k];
    }
  }
  switch (j) {
    case 0u: return LOAD_BITS(in0, ES, i);
    case 1u: return LOAD_BITS(in1, ES, i);
    case 2u: return LOAD_BITS(in2, ES, i);
    case 3u: return LOAD_BITS(in3, ES, i);
    case 4u: return LOAD_BITS(in4, ES, i);
    default: return LOAD_BITS(in5, ES, i);
  }
}

// Bits of output element e (word `part` for ES 8); false: keep the output's contents.
bool source(uint e, uint part, out uint bits) {
  bits = 0u;
  if (MODE == 0u) {
    uint r = e, s = uint(meta[2 * RANK]);
    [[unroll]] for (int d = int(RANK) - 1; d >= 0; --d) {
      uint dim = uint(meta[d]);
      s += (r % dim) * uint(meta[RANK + d]);
      r /= dim;
    }
    bits = load(0u, s, part);
    return true;
  }
  if (MODE == 1u) {
    uint row_len = uint(meta[0]);
    uint row = e / row_len, rem = e % row_len;
    [[unroll]] for (uint j = 0u; j < NIN; ++j) {
      uint start = uint(meta[1 + 3 * j]), len = uint(meta[2 + 3 * j]);
      if (rem >= start && rem - start < len) {
        bits = load(j, uint(meta[3 + 3 * j]) + row * len + (rem - start), part);
        return true;
      }
    }
    return false;
  }
  if (MODE == 2u || MODE == 3u) {
    uint W = uint(meta[4]), H = uint(meta[3]), D = uint(meta[2]), C = uint(meta[1]);
    uint xw = e % W, t = e / W;
    uint yh = t % H;
    t /= H;
    uint zd = t % D;
    t /= D;
    uint c = t % C, nb = t / C;
    uint Ci = uint(meta[6]), Di = uint(meta[7]), Hi = uint(meta[8]), Wi = uint(meta[9]), f = uint(meta[10]);
    uint ci = MODE == 2u ? c * f * f * f + ((zd % f) * f + yh % f) * f + xw % f : c;
    uint s = (((nb * Ci + ci) * Di + zd / f) * Hi + yh / f) * Wi + xw / f;
    bits = load(0u, uint(meta[11]) + s, part);
    return true;
  }
  // MODE 4: gather
  uint C = uint(meta[1]), row = e / C, c = e % C;
  uint ii = uint(meta[3]) + row;
  int64_t idx = IDX64 ? int64_t(uint64_t(in1[2u * ii]) | (uint64_t(in1[2u * ii + 1u]) << 32)) : int64_t(int(in1[ii]));
  if (idx < 0 || idx >= meta[0]) return true;  // zero row
  bits = load(0u, uint(meta[2]) + uint(idx) * C + c, part);
  return true;
}

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint ob = pc.o_off * ES;  // the tensor's first byte in the binding
  const uint W = (ob >> 2) + uint(g);
  uint bits;
  if (ES >= 4u) {
    uint rel = W * 4u - ob;  // ob is a multiple of 4 here
    if (source(rel / ES, (rel / 4u) & 1u, bits)) o[W] = bits;
    return;
  }
  const uint EPW = 4u / ES, MASK = (1u << (8u * ES)) - 1u;
  uint word = 0u, keep = 0u;
  [[unroll]] for (uint j = 0u; j < EPW; ++j) {
    uint byte = W * 4u + j * ES;
    uint sh = j * ES * 8u;
    if (byte >= ob && byte - ob < pc.n * ES && source((byte - ob) / ES, 0u, bits)) word |= (bits & MASK) << sh;
    else keep |= MASK << sh;
  }
  if (keep == 0xffffffffu) return;
  if (keep != 0u) word |= o[W] & keep;
  o[W] = word;
}
