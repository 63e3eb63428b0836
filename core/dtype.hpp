// Element types and scalar conversions (f16/bf16 are stored as raw uint16 bits).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace tessera {

enum class DType : uint8_t { f32, f16, bf16, i32, i64, u8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
// Parse "f32", "float32", "f16", "float16", "half", "bf16", "bfloat16", "i32",
// "int32", "i64", "int64", "u8", "uint8". Throws Error listing the valid names.
DType dtype_from_name(const std::string& s);
bool dtype_is_float(DType t);

// IEEE binary16 <-> binary32, round-to-nearest-even, overflow -> +-inf, NaN kept.
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
// bfloat16 <-> binary32, round-to-nearest-even, NaN kept (quiet).
uint16_t f32_to_bf16(float f);
inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Read element i of a buffer of type t as double / write a double (rounded to t).
double load_as_double(const void* base, DType t, size_t i);
void store_from_double(void* base, DType t, size_t i, double v);

// Largest finite value of a float dtype (65504 for f16).
double dtype_max_finite(DType t);

}  // namespace tessera
