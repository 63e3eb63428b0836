// Configure-time probe: does glslc compile GL_NV_cooperative_matrix?
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_NV_cooperative_matrix : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer A { uvec4 a4[]; };
layout(std430, binding = 1) buffer C { float c[]; };
void main() {
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a;
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
  coopMatLoadNV(a, a4, 0, 2, false);
  acc = coopMatMulAddNV(a, a, acc);
  coopMatStoreNV(acc, c, 0, 16, false);
}
