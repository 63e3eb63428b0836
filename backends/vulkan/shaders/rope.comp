// rope: x [T, H, D] rotated pairwise by angles [T - skip, D/2] (f32), tokens
// >= skip only (the host copies the unrotated prefix when out != x).
// In place safe (out may alias x): every element is read and written only by
// the invocation that owns its pair, which reads both before writing.
// One invocation per pair; WIDE (16-bit "half" style with even D/2 and even
// offsets): two adjacent pairs p, p+1 (p even) per invocation, so that both
// halves of each touched word belong to it and it writes whole words. 16-bit
// interleaved pairs at even offsets are whole words too; otherwise the
// 16-bit halves are written atomically (the other half is another pair's).
// sin/cos: accurate range reduction (tx_sincos), angles reach ~1e3 rad.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool HALF = false;  // pairs (p, p + D/2); else (2p, 2p + 1)
layout(constant_id = 3) const bool WIDE = false;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer A { float ang[]; };
layout(std430, binding = 2) buffer O { uint o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations: rotated tokens * H * (P or P/2)
  uint H, D, P, skip;
  uint x_off, a_off, o_off;
} pc;

vec2 rotate(vec2 uv, float th) {
  float s, c;
  tx_sincos(th, s, c);
  return vec2(uv.x * c - uv.y * s, uv.x * s + uv.y * c);
}

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint per_tok = WIDE ? pc.H * (pc.P / 2u) : pc.H * pc.P;
  const uint q = uint(g);
  const uint tr = q / per_tok, rem = q % per_tok;  // rotated token index, (head, pair) within it
  const uint np = WIDE ? pc.P / 2u : pc.P;
  const uint h = rem / np, p = WIDE ? (rem % np) * 2u : rem % np;
  const uint row = ((pc.skip + tr) * pc.H + h) * pc.D;
  const uint i0 = row + (HALF ? p : 2u * p), i1 = i0 + (HALF ? pc.P : 1u);
  const uint arow = pc.a_off + tr * pc.P;
  if (WIDE) {
    // pairs p and p + 1: elements (i0, i0 + 1) and (i1, i1 + 1), two whole words
    uint wx0 = x[(pc.x_off + i0) >> 1], wx1 = x[(pc.x_off + i1) >> 1];
    vec2 r0 = rotate(vec2(to_f32(wx0, DT), to_f32(wx1, DT)), ang[arow + p]);
    vec2 r1 = rotate(vec2(to_f32(wx0 >> 16, DT), to_f32(wx1 >> 16, DT)), ang[arow + p + 1u]);
    o[(pc.o_off + i0) >> 1] = from_f32(r0.x, DT) | (from_f32(r1.x, DT) << 16);
    o[(pc.o_off + i1) >> 1] = from_f32(r0.y, DT) | (from_f32(r1.y, DT) << 16);
    return;
  }
  vec2 r = rotate(vec2(LOAD_ELEM(x, DT, pc.x_off + i0), LOAD_ELEM(x, DT, pc.x_off + i1)), ang[arow + p]);
  const uint j0 = pc.o_off + i0, j1 = pc.o_off + i1;
  if (DT == DT_F32) {
    o[j0] = floatBitsToUint(r.x);
    o[j1] = floatBitsToUint(r.y);
  } else if (!HALF && (j0 & 1u) == 0u) {
    o[j0 >> 1] = from_f32(r.x, DT) | (from_f32(r.y, DT) << 16);
  } else {
    STORE_HALF_ATOMIC(o, j0, from_f32(r.x, DT))
    STORE_HALF_ATOMIC(o, j1, from_f32(r.y, DT))
  }
}
