// Shared by the Tessera Vulkan shaders: dtype codes and bit-exact scalar
// conversions matching core/dtype.cpp (round to nearest even, f32 -> f16
// overflow to inf, NaN kept). Tensors are bound as uint[] words so that 16-bit
// dtypes need no 16-bit storage feature.
#ifndef TESSERA_COMMON_GLSL
#define TESSERA_COMMON_GLSL
#extension GL_EXT_control_flow_attributes : enable

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

// ---- Additions for the dense NN ops (wave 2) ----

// Element `i` (binding-relative) of a uint[] buffer, as raw bits, for 1-, 2-
// and 4-byte elements (es = element size). 8-byte elements: words 2i, 2i+1.
#define LOAD_BITS(buf, es, i)                                                        \
  ((es) == 4u ? buf[(i)]                                                             \
              : ((buf[((i) * (es)) >> 2] >> ((((i) * (es)) & 3u) * 8u)) & ((1u << ((es) * 8u)) - 1u)))

// Writes a 16-bit element into half of a word that another invocation may
// own the other half of (atomic read-modify-write, as the GEMM epilogues).
#define STORE_HALF_ATOMIC(buf, i, bits16)                  \
  {                                                        \
    uint sh_ = ((i) & 1u) * 16u;                           \
    atomicAnd(buf[(i) >> 1], ~(0xffffu << sh_));           \
    atomicOr(buf[(i) >> 1], ((bits16) & 0xffffu) << sh_);  \
  }

// Stores f32 value v as element i of dtype dt: f32 plain, 16-bit atomically.
#define STORE_ELEM_ATOMIC(buf, dt, i, v)                     \
  {                                                          \
    if ((dt) == DT_F32) buf[(i)] = floatBitsToUint(v);       \
    else STORE_HALF_ATOMIC(buf, (i), from_f32((v), (dt)))    \
  }

// Stores word w (binding-relative) of the 16-bit segment whose elements are
// [first, last] (binding element indices, inclusive): the whole word when
// both halves lie inside, else only the inside half, atomically (the other
// half belongs to a neighbouring segment or another tensor). FN(e) gives
// the f32 value of segment element e (segment-relative).
#define STORE_SEGMENT_WORD16(buf, dt, w, first, last, FN)                                    \
  {                                                                                          \
    uint e0_ = (w) * 2u;                                                                     \
    bool lo_ = e0_ >= (first), hi_ = e0_ + 1u <= (last);                                     \
    if (lo_ && hi_) {                                                                        \
      buf[(w)] = from_f32(FN(e0_ - (first)), dt) | (from_f32(FN(e0_ + 1u - (first)), dt) << 16); \
    } else if (lo_) {                                                                        \
      STORE_HALF_ATOMIC(buf, e0_, from_f32(FN(e0_ - (first)), dt))                           \
    } else {                                                                                 \
      STORE_HALF_ATOMIC(buf, e0_ + 1u, from_f32(FN(e0_ + 1u - (first)), dt))                 \
    }                                                                                        \
  }

#define TX_INF uintBitsToFloat(0x7f800000u)

// 2^e for e in [-126, 127], exact.
float tx_pow2i(int e) { return uintBitsToFloat(uint(e + 127) << 23); }

// Accurate f32 exp (Cephes expf: Cody-Waite reduction by ln 2 in two parts,
// degree-6 polynomial; about 1.3 ulp). Builtin exp is an approximation on
// some GPUs whose error grows with |x|.
float tx_exp(float x) {
  if (isnan(x)) return x;
  if (x > 88.72283935546875) return TX_INF;
  if (x < -103.972084045410) return 0.0;
  precise float n = floor(x * 1.44269504088896341 + 0.5);
  precise float r = x - n * 0.693359375;
  r = r - n * -2.12194440e-4;
  float z = r * r;
  float p = (((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r +
              1.6666665459e-1) * r + 5.0000001201e-1) * z + r + 1.0;
  int e = int(n);
  int e1 = e / 2;
  return p * tx_pow2i(e1) * tx_pow2i(e - e1);
}

// Accurate f32 sin and cos (Cody-Waite reduction by pi/2 in three parts,
// exact products for |x| < 2^13 * pi/2; Cephes sinf/cosf polynomials on
// [-pi/4, pi/4]); absolute error < 1e-7 for |x| up to ~1e4. Builtin sin/cos
// reduce large arguments with low precision on some GPUs.
void tx_sincos(float x, out float s, out float c) {
  precise float k = floor(x * 0.636619772367581343 + 0.5);
  precise float r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  float z = r * r;
  float sr = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  float cr = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  int q = int(k) & 3;
  if (q == 0) {
    s = sr;
    c = cr;
  } else if (q == 1) {
    s = cr;
    c = -sr;
  } else if (q == 2) {
    s = -sr;
    c = -cr;
  } else {
    s = -cr;
    c = sr;
  }
}

// Accurate f32 erfc (port of FreeBSD msun s_erff.c erfcf: rational
// approximations on [0, 0.84375), [0.84375, 1.25), [1.25, 1/0.35), [1/0.35, 28)
// with exp(-x^2) split so that z^2 is exact). Relative error ~2e-7 where the
// result is a normal f32.
float tx_erfc(float x) {
  uint hx = floatBitsToUint(x), ix = hx & 0x7fffffffu;
  bool neg = (hx >> 31) != 0u;
  if (ix >= 0x7f800000u) return isnan(x) ? x : (neg ? 2.0 : 0.0);
  if (ix < 0x3f580000u) {  // |x| < 0.84375
    if (ix < 0x33800000u) return 1.0 - x;
    float z = x * x;
    float r = 1.28379166e-01 + z * (-3.36030394e-01 + z * -1.86260219e-03);
    float s = 1.0 + z * (3.12324286e-01 + z * (2.16070302e-02 + z * -1.98859419e-03));
    float y = r / s;
    if (x < 0.25) return 1.0 - (x + x * y);
    r = x * y;
    r += x - 0.5;
    return 0.5 - r;
  }
  if (ix < 0x3fa00000u) {  // |x| < 1.25
    float s = abs(x) - 1.0;
    float P = 3.64939137e-06 + s * (4.15109694e-01 + s * (-1.65179938e-01 + s * 1.10914491e-01));
    float Q = 1.0 + s * (6.02074385e-01 + s * (5.35934687e-01 + s * (1.68576106e-01 + s * 5.62181212e-02)));
    const float erx = 8.42697144e-01;
    return neg ? 1.0 + (erx + P / Q) : (1.0 - erx) - P / Q;
  }
  if (ix < 0x41300000u) {  // |x| < 28
    float ax = abs(x), s = 1.0 / (ax * ax), R, S;
    if (ix < 0x4036db6du) {  // |x| < 1/0.35
      R = -9.87132732e-03 + s * (-5.53605914e-01 + s * (-2.17589188e+00 + s * -1.43268085e+00));
      S = 1.0 + s * (5.45995426e+00 + s * (6.69798088e+00 + s * (1.43113089e+00 + s * -5.77397496e-02)));
    } else {
      if (neg && ix >= 0x40a00000u) return 2.0;  // x < -5
      R = -9.86494310e-03 + s * (-6.25171244e-01 + s * (-6.16498327e+00 + s * (-1.66696873e+01 + s * -9.53764343e+00)));
      S = 1.0 + s * (1.26884899e+01 + s * (4.51839523e+01 + s * (4.72810211e+01 + s * 8.93033314e+00)));
    }
    float z = uintBitsToFloat(floatBitsToUint(ax) & 0xffffe000u);
    float r = tx_exp(-z * z - 0.5625) * tx_exp((z - ax) * (z + ax) + R / S);
    return neg ? 2.0 - r / ax : r / ax;
  }
  return neg ? 2.0 : 0.0;
}


// Activations shared by activation.comp and the GEMM epilogues: 1 gelu (erf
// form), 2 gelu (tanh form), 3 silu, anything else the identity. f32, with
// the accurate exp/erfc above (builtins are low precision on some GPUs).
float tx_activate(float v, uint op) {
  if (op == 1u) return 0.5 * v * tx_erfc(-v * 0.70710678118654752);  // 0.5 x (1 + erf(x / sqrt 2))
  if (op == 2u) {
    // 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)): no cancellation for x << 0
    float u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
    return v / (1.0 + tx_exp(-2.0 * u));
  }
  if (op == 3u) return v / (1.0 + tx_exp(-v));
  return v;
}

// bf16 data on f16 kernels (attention_coopmat_nv.comp IN_BF16, linear_bf16.comp):
// the exponent e of a row's or head's scale 2^-e from its largest magnitude (bf16
// bits, absmax.comp), so that its largest value lands in [2^14, 2^15); 0 for an
// all-zero, Inf or NaN one. Clamped so that 2^-e is a normal f32 (largest
// magnitudes below 2^-112 get 2^126).
int bf16_scale_exp(uint am) {
  if (am == 0u || am >= 0x7f80u) return 0;
  return clamp(int(am >> 7) - 127 - 14, -126, 126);
}
// 8 bf16 (a uvec4 of bit pairs) -> 8 f16 after multiplying by `mul`, a power of two 2^-e from
// bf16_scale_exp: exact within f16's normal range (packHalf2x16 rounds to nearest even below it).
uvec4 bf16x8_to_f16(uvec4 w, float mul) {
  uvec4 r;
  [[unroll]] for (uint p = 0u; p < 4u; ++p)
    r[p] = packHalf2x16(vec2(uintBitsToFloat(w[p] << 16), uintBitsToFloat(w[p] & 0xffff0000u)) * mul);
  return r;
}
// v 2^s for |s| <= 252, in two factors so that no intermediate overflows or flushes early.
float times_pow2(float v, int s) {
  const int s1 = s / 2;
  return v * exp2(float(s1)) * exp2(float(s - s1));
}

#endif
