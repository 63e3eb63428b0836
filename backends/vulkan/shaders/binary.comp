// add / mul with numpy broadcasting over the collapsed plan of
// core/broadcast.hpp. f32 arithmetic, result rounded to the dtype.
// 16-bit outputs: each invocation writes one whole 32-bit word (two
// elements), so no two invocations share a word.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : enable
#ifdef DENORM_PRESERVE  // keep f32 subnormals in arithmetic (devices with shaderDenormPreserveFloat32)
#extension GL_EXT_spirv_intrinsics : require
spirv_execution_mode(extensions = ["SPV_KHR_float_controls"], capabilities = [4464], 4459, 32);
#endif
#include "common.glsl"


layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DT = 0;    // dtype of a, b, out
layout(constant_id = 2) const uint OP = 0;    // 0 add, 1 mul
layout(constant_id = 3) const uint RANK = 1;  // collapsed rank (1..8)

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) buffer O { uint o[]; };
// dims[RANK], strides of a [RANK], strides of b [RANK], in elements
layout(std430, binding = 3) readonly buffer Meta { int64_t meta[]; };

layout(push_constant) uniform PC {
  uint64_t base;   // first invocation of this dispatch
  uint64_t count;  // invocations of the job (elements for f32, output words otherwise)
  uint64_t n;      // output elements
  uint64_t a_off, b_off, o_off;  // element offsets inside the bindings
} pc;

float compute(uint64_t i) {
  uint64_t ia, ib;
  if (RANK == 1) {
    ia = i * uint64_t(meta[1]);
    ib = i * uint64_t(meta[2]);
  } else if (pc.n <= 0xffffffffUL) {  // 32-bit index math (much cheaper on GPUs)
    uint r = uint(i), xa = 0u, xb = 0u;
    [[unroll]] for (int d = int(RANK) - 1; d >= 0; --d) {
      uint dim = uint(meta[d]);
      uint c = r % dim;
      r /= dim;
      xa += c * uint(meta[RANK + d]);
      xb += c * uint(meta[2 * RANK + d]);
    }
    ia = xa;
    ib = xb;
  } else {
    uint64_t r = i;
    ia = 0;
    ib = 0;
    [[unroll]] for (int d = int(RANK) - 1; d >= 0; --d) {
      uint64_t dim = uint64_t(meta[d]);
      uint64_t c = r % dim;
      r /= dim;
      ia += c * uint64_t(meta[RANK + d]);
      ib += c * uint64_t(meta[2 * RANK + d]);
    }
  }
  uint ja = uint(pc.a_off + ia), jb = uint(pc.b_off + ib);
  float x = LOAD_ELEM(a, DT, ja);
  float y = LOAD_ELEM(b, DT, jb);
  return OP == 0 ? x + y : x * y;
}

void main() {
  uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
  if (DT == DT_F32) {
    o[uint(pc.o_off + w)] = floatBitsToUint(compute(w));
    return;
  }
  uint64_t word = (pc.o_off >> 1) + w;
  int64_t e0 = int64_t(word * 2) - int64_t(pc.o_off);  // element in the low half
  bool lo_in = e0 >= 0 && e0 < int64_t(pc.n);
  bool hi_in = e0 + 1 >= 0 && e0 + 1 < int64_t(pc.n);
  uint old = (lo_in && hi_in) ? 0u : o[uint(word)];
  uint lo = lo_in ? from_f32(compute(uint64_t(e0)), DT) : (old & 0xffffu);
  uint hi = hi_in ? from_f32(compute(uint64_t(e0 + 1)), DT) : (old >> 16);
  o[uint(word)] = lo | (hi << 16);
}
