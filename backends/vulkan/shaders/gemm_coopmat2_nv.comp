// NOT BUILT (reference for a follow-up): the GL_NV_cooperative_matrix2 GEMM
// measured on the H100 by a standalone probe (GEMM_NOTES.md, run 3: 128x256x64
// with 256 invocations = 232 TFLOP/s at 4096^3, 201-241 on the model shapes,
// 1.3-1.4x gemm_cm_128x128k64_s1p1_w16). To use it in Tessera:
//  * compiler: Debian 12's glslc (shaderc 2023.2 / glslang 11) cannot compile
//    it; glslang >= 15 (Debian trixie's glslang-tools 15.1) can. CMake would
//    probe for such a glslang and build it only then (CI keeps the v1 path).
//  * device: vk_context must enable VK_KHR_cooperative_matrix and
//    VK_NV_cooperative_matrix2 (cooperativeMatrixWorkgroupScope,
//    cooperativeMatrixTensorAddressing, ...; the H100 driver reports all of
//    them, workgroup scope up to 256 invocations) and 16-bit storage.
//  * shader: Tessera binds uint[] words with element offsets; this probe binds
//    float16_t[] from offset 0, needs divisible shapes (M % BM, N % BN, K % BK)
//    and has no bias / dtype handling (clamped tensor layouts would give the
//    ragged edges; coopMatPerElementNV or a scratch epilogue the bias).
// y[M,N] = x[M,K] . w[N,K]^T, f16 in, f32 accumulate, f16 out; the driver
// stages the workgroup-scope tiles itself.
#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : enable
#extension GL_KHR_cooperative_matrix : enable
#extension GL_NV_cooperative_matrix2 : enable
#ifndef BM
#define BM 128
#define BN 256
#define BK 64
#define NT 256
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
layout(local_size_x = NT) in;
layout(std430, binding = 0) readonly buffer X { float16_t x[]; };
layout(std430, binding = 1) readonly buffer W { float16_t w[]; };
layout(std430, binding = 2) buffer Y { float16_t y[]; };
layout(push_constant) uniform PC { uint M, N, K; } pc;
void main() {
  const uint ir = gl_WorkGroupID.y, ic = gl_WorkGroupID.x;
  uint K = pc.K & ~7u;  // alignment hint (K % 8 == 0)
  tensorLayoutNV<2> tA = createTensorLayoutNV(2);
  tensorLayoutNV<2> tB = createTensorLayoutNV(2);
  tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> tD = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
  tA = setTensorLayoutDimensionNV(tA, pc.M, K);
  tA = setTensorLayoutStrideNV(tA, K, 1);
  tB = setTensorLayoutDimensionNV(tB, pc.N, K);
  tB = setTensorLayoutStrideNV(tB, K, 1);
  tD = setTensorLayoutDimensionNV(tD, pc.M, pc.N);
  tD = setTensorLayoutStrideNV(tD, pc.N & ~7u, 1);
  tensorViewNV<2, false, 1, 0> tT = createTensorViewNV(2, false, 1, 0);
  coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator> sum =
      coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(0.0);
  uint k = 0;
  const uint iters = K / (BK * UNROLL);
  for (uint i = 0; i < iters; ++i) {
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) {
      coopmat<float16_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA> a;
      coopmat<float16_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB> b;
      coopMatLoadTensorNV(a, x, 0, sliceTensorLayoutNV(tA, ir * BM, BM, k, BK));
      coopMatLoadTensorNV(b, w, 0, sliceTensorLayoutNV(tB, ic * BN, BN, k, BK), tT);
      sum = coopMatMulAdd(a, b, sum);
      k += BK;
    }
  }
  while (k < K) {
    coopmat<float16_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA> a;
    coopmat<float16_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB> b;
    coopMatLoadTensorNV(a, x, 0, sliceTensorLayoutNV(tA, ir * BM, BM, k, BK));
    coopMatLoadTensorNV(b, w, 0, sliceTensorLayoutNV(tB, ic * BN, BN, k, BK), tT);
    sum = coopMatMulAdd(a, b, sum);
    k += BK;
  }
  coopmat<float16_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator> d =
      coopmat<float16_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(sum);
  coopMatStoreTensorNV(d, y, 0, sliceTensorLayoutNV(tD, ir * BM, BM, ic * BN, BN));
}
