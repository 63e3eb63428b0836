// cast (OP 0) and scale (OP 1): out = [alpha *] x, computed in f32 and
// rounded to the output dtype. 16-bit outputs: one whole word per invocation.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : enable
#ifdef DENORM_PRESERVE  // keep f32 subnormals in arithmetic (devices with shaderDenormPreserveFloat32)
#extension GL_EXT_spirv_intrinsics : require
spirv_execution_mode(extensions = ["SPV_KHR_float_controls"], capabilities = [4464], 4459, 32);
#endif
#include "common.glsl"


layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint IN_DT = 0;
layout(constant_id = 2) const uint OUT_DT = 0;
layout(constant_id = 3) const uint OP = 0;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer O { uint o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations (elements for f32 out, words otherwise)
  uint64_t n;      // elements
  uint64_t x_off, o_off;
  float alpha;
} pc;

float compute(uint64_t i) {
  uint j = uint(pc.x_off + i);
  float v = LOAD_ELEM(x, IN_DT, j);
  return OP == 1 ? pc.alpha * v : v;
}

void main() {
  uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
  if (OUT_DT == DT_F32) {
    o[uint(pc.o_off + w)] = floatBitsToUint(compute(w));
    return;
  }
  uint64_t word = (pc.o_off >> 1) + w;
  int64_t e0 = int64_t(word * 2) - int64_t(pc.o_off);
  bool lo_in = e0 >= 0 && e0 < int64_t(pc.n);
  bool hi_in = e0 + 1 >= 0 && e0 + 1 < int64_t(pc.n);
  uint old = (lo_in && hi_in) ? 0u : o[uint(word)];
  uint lo = lo_in ? from_f32(compute(uint64_t(e0)), OUT_DT) : (old & 0xffffu);
  uint hi = hi_in ? from_f32(compute(uint64_t(e0 + 1)), OUT_DT) : (old >> 16);
  o[uint(word)] = lo | (hi << 16);
}
