// Shared by the Tessera Vulkan shaders: dtype codes and bit-exact scalar
// conversions matching core/dtype.cpp (round to nearest even, f32 -> f16
// overflow to inf, NaN kept). Tensors are bound as uint[] words so that 16-bit
// dtypes need no 16-bit storage feature.
#ifndef TESSERA_COMMON_GLSL
#define TESSERA_COMMON_GLSL

const uint DT_F32 = 0u;
const uint DT_F16 = 1u;
const uint DT_BF16 = 2u;

uint f32_to_f16_bits(float f) {
  uint x = floatBitsToUint(f);
  uint sign = (x >> 16) & 0x8000u;
  uint e8 = (x >> 23) & 0xffu;
  uint man = x & 0x7fffffu;
  if (e8 == 0xffu) return sign | 0x7c00u | (man != 0u ? (0x200u | (man >> 13)) : 0u);
  int e = int(e8) - 127 + 15;
  if (e >= 31) return sign | 0x7c00u;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000u;
    uint shift = uint(14 - e);
    uint h = man >> shift;
    uint rem = man & ((1u << shift) - 1u);
    uint mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (h & 1u) != 0u)) h++;
    return sign | h;
  }
  uint h = sign | (uint(e) << 10) | (man >> 13);
  uint rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) h++;
  return h;
}

float f16_bits_to_f32(uint h) {
  uint sign = (h & 0x8000u) << 16;
  uint e = (h >> 10) & 0x1fu;
  uint man = h & 0x3ffu;
  if (e == 0u) {
    // zero or subnormal: man * 2^-24 is exact in f32 (a normal number)
    float v = float(man) * 5.9604644775390625e-8;
    return uintBitsToFloat(floatBitsToUint(v) | sign);
  }
  if (e == 31u) return uintBitsToFloat(sign | 0x7f800000u | (man << 13));
  return uintBitsToFloat(sign | ((e + 112u) << 23) | (man << 13));
}

uint f32_to_bf16_bits(float f) {
  uint x = floatBitsToUint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (x >> 16) | 0x40u;  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return x >> 16;
}

float bf16_bits_to_f32(uint b) { return uintBitsToFloat(b << 16); }

// `bits`: the raw element (low 16 bits for f16/bf16).
float to_f32(uint bits, uint dt) {
  if (dt == DT_F32) return uintBitsToFloat(bits);
  if (dt == DT_F16) return f16_bits_to_f32(bits & 0xffffu);
  return bf16_bits_to_f32(bits & 0xffffu);
}

uint from_f32(float v, uint dt) {
  if (dt == DT_F32) return floatBitsToUint(v);
  if (dt == DT_F16) return f32_to_f16_bits(v);
  return f32_to_bf16_bits(v);
}

// Element `i` (binding-relative, uint) of a uint[] buffer holding dtype `dt`.
#define LOAD_ELEM(buf, dt, i) \
  ((dt) == DT_F32 ? uintBitsToFloat(buf[(i)]) : to_f32(buf[(i) >> 1] >> (((i) & 1u) * 16u), (dt)))

// 1-D job index: see launch_1d in vk_kernel.hpp.
#define GLOBAL_ID_1D(base) \
  ((base) + uint64_t(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * uint64_t(gl_WorkGroupSize.x) + \
   uint64_t(gl_LocalInvocationID.x))

#endif
