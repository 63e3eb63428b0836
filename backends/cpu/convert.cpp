// Bulk dtype conversion for the CPU kernels (to_f32 / from_f32 / as_f32, cpu_device.hpp).
// f16 uses the F16C instructions when the CPU has them (8 values per
// instruction, round to nearest even, NaN kept quiet with its top payload bits:
// the same results as the scalar f16_to_f32 / f32_to_f16 in core/dtype.cpp,
// which remain the fallback); bf16 is a shift and vectorises as written.
#include <cstring>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/dtype.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TESSERA_F16C 1
#endif

namespace tessera::cpu {
namespace {

#ifdef TESSERA_F16C
bool has_f16c() {
  static const bool yes = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return yes;
}

__attribute__((target("avx,f16c"))) int64_t f16_to_f32_f16c(const uint16_t* s, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
  return i;
}

__attribute__((target("avx,f16c"))) int64_t f32_to_f16_f16c(const float* s, uint16_t* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return i;
}
#endif

void f16_to_f32_span(const uint16_t* s, float* d, int64_t n) {
  int64_t i = 0;
#ifdef TESSERA_F16C
  if (has_f16c()) i = f16_to_f32_f16c(s, d, n);
#endif
  for (; i < n; ++i) d[i] = f16_to_f32(s[i]);
}

void f32_to_f16_span(const float* s, uint16_t* d, int64_t n) {
  int64_t i = 0;
#ifdef TESSERA_F16C
  if (has_f16c()) i = f32_to_f16_f16c(s, d, n);
#endif
  for (; i < n; ++i) d[i] = f32_to_f16(s[i]);
}

}  // namespace

void to_f32(const void* src, DType t, float* dst, int64_t n) {
  if (t == DType::f32) {
    std::memcpy(dst, src, size_t(n) * 4);
    return;
  }
  auto* s = static_cast<const uint16_t*>(src);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 1 << 14), [&](const tbb::blocked_range<int64_t>& r) {
    if (t == DType::f16)
      f16_to_f32_span(s + r.begin(), dst + r.begin(), r.end() - r.begin());
    else
      for (int64_t i = r.begin(); i < r.end(); ++i) dst[i] = bf16_to_f32(s[i]);
  });
}

void from_f32(const float* src, void* dst, DType t, int64_t n) {
  if (t == DType::f32) {
    std::memcpy(dst, src, size_t(n) * 4);
    return;
  }
  auto* d = static_cast<uint16_t*>(dst);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 1 << 14), [&](const tbb::blocked_range<int64_t>& r) {
    if (t == DType::f16)
      f32_to_f16_span(src + r.begin(), d + r.begin(), r.end() - r.begin());
    else
      for (int64_t i = r.begin(); i < r.end(); ++i) d[i] = f32_to_bf16(src[i]);
  });
}

const float* as_f32(const Tensor& t, std::vector<float>& tmp) {
  if (t.dtype() == DType::f32) return data<float>(t);
  tmp.resize(size_t(t.numel()));
  to_f32(data<char>(t), t.dtype(), tmp.data(), t.numel());
  return tmp.data();
}

}  // namespace tessera::cpu
