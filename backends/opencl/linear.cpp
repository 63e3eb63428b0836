// OpenCL linear: y[M,N] = x[M,K] · w[N,K]ᵀ + bias[N] with CLBlast SGEMM on the
// device's own queue. f16/bf16 operands are first widened to f32 in temporary
// device buffers (exact), so every product and sum is f32 (CLBlast's HGEMM,
// which accumulates in f16, is never used). The bias is written into the f32
// result rows first and the GEMM accumulates into it (beta = 1); without a
// bias the result is zero-filled first (so poisoned memory never leaks in).
// A non-f32 output is rounded (nearest even) from the f32 result at the end.
#include <clblast.h>

#include "backends/opencl/cl_error.hpp"
#include "backends/opencl/cl_launch.hpp"
#include "backends/opencl/clblast_tuning.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/linear.hpp"

namespace tessera::opencl {
namespace {

const char* clblast_status_name(clblast::StatusCode s) {
  using S = clblast::StatusCode;
  switch (s) {
    case S::kSuccess: return "kSuccess";
    case S::kOpenCLCompilerNotAvailable: return "kOpenCLCompilerNotAvailable";
    case S::kTempBufferAllocFailure: return "kTempBufferAllocFailure";
    case S::kOpenCLOutOfResources: return "kOpenCLOutOfResources";
    case S::kOpenCLOutOfHostMemory: return "kOpenCLOutOfHostMemory";
    case S::kOpenCLBuildProgramFailure: return "kOpenCLBuildProgramFailure";
    case S::kInvalidValue: return "kInvalidValue";
    case S::kInvalidCommandQueue: return "kInvalidCommandQueue";
    case S::kInvalidMemObject: return "kInvalidMemObject";
    case S::kInvalidBinary: return "kInvalidBinary";
    case S::kInvalidBuildOptions: return "kInvalidBuildOptions";
    case S::kInvalidProgram: return "kInvalidProgram";
    case S::kInvalidProgramExecutable: return "kInvalidProgramExecutable";
    case S::kInvalidKernelName: return "kInvalidKernelName";
    case S::kInvalidKernelDefinition: return "kInvalidKernelDefinition";
    case S::kInvalidKernel: return "kInvalidKernel";
    case S::kInvalidArgIndex: return "kInvalidArgIndex";
    case S::kInvalidArgValue: return "kInvalidArgValue";
    case S::kInvalidArgSize: return "kInvalidArgSize";
    case S::kInvalidKernelArgs: return "kInvalidKernelArgs";
    case S::kInvalidLocalNumDimensions: return "kInvalidLocalNumDimensions";
    case S::kInvalidLocalThreadsTotal: return "kInvalidLocalThreadsTotal";
    case S::kInvalidLocalThreadsDim: return "kInvalidLocalThreadsDim";
    case S::kInvalidGlobalOffset: return "kInvalidGlobalOffset";
    case S::kInvalidEventWaitList: return "kInvalidEventWaitList";
    case S::kInvalidEvent: return "kInvalidEvent";
    case S::kInvalidOperation: return "kInvalidOperation";
    case S::kInvalidBufferSize: return "kInvalidBufferSize";
    case S::kInvalidGlobalWorkSize: return "kInvalidGlobalWorkSize";
    case S::kNotImplemented: return "kNotImplemented";
    case S::kInvalidMatrixA: return "kInvalidMatrixA";
    case S::kInvalidMatrixB: return "kInvalidMatrixB";
    case S::kInvalidMatrixC: return "kInvalidMatrixC";
    case S::kInvalidDimension: return "kInvalidDimension";
    case S::kInvalidLeadDimA: return "kInvalidLeadDimA";
    case S::kInvalidLeadDimB: return "kInvalidLeadDimB";
    case S::kInvalidLeadDimC: return "kInvalidLeadDimC";
    case S::kInsufficientMemoryA: return "kInsufficientMemoryA";
    case S::kInsufficientMemoryB: return "kInsufficientMemoryB";
    case S::kInsufficientMemoryC: return "kInsufficientMemoryC";
    case S::kInsufficientMemoryTemp: return "kInsufficientMemoryTemp";
    case S::kInvalidLocalMemUsage: return "kInvalidLocalMemUsage";
    case S::kNoHalfPrecision: return "kNoHalfPrecision";
    case S::kNoDoublePrecision: return "kNoDoublePrecision";
    case S::kDatabaseError: return "kDatabaseError";
    case S::kUnknownError: return "kUnknownError";
    case S::kUnexpectedError: return "kUnexpectedError";
    default: return "unlisted status";
  }
}

// An f32 view of a float tensor: the tensor itself when it is f32, else a
// temporary widened copy (kept alive by `tmp` until the function returns; the
// caching allocator only hands it out again for work queued after ours).
struct F32Operand {
  cl_mem mem = nullptr;
  uint64_t offset = 0;  // elements
  std::shared_ptr<Buffer> tmp;
};

F32Operand as_f32(ClDevice& dev, const Tensor& t) {
  F32Operand r;
  if (t.dtype() == DType::f32) {
    r.mem = mem_of(t);
    r.offset = elem_offset(t);
    return r;
  }
  r.tmp = dev.allocate(size_t(t.numel()) * 4);
  r.mem = mem_of_buffer(*r.tmp, dev.id());
  enqueue_cast(dev, mem_of(t), elem_offset(t), t.dtype(), r.mem, 0, DType::f32, uint64_t(t.numel()));
  return r;
}

void linear(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  const Tensor& w = a.in[1];
  const bool has_bias = a.in.size() > 2 && a.in[2].defined();
  Tensor& y = a.out[0];
  // M = product of x's leading dims, computed here rather than with
  // ops::linear_dims, which returns M = 0 when K = 0 (y must still be the bias).
  const Shape& xs = x.shape();
  const uint64_t M = uint64_t(shape_numel(Shape(xs.begin(), xs.end() - 1)));
  const uint64_t N = uint64_t(w.shape()[0]), K = uint64_t(w.shape()[1]);
  if (M == 0 || N == 0) return;

  // CLBlast's kernels index with 32-bit ints (offsets included): a GEMM whose
  // x or y reaches 2^31 elements (f16 x of [4M, 512], found on the H100 as
  // CL error -9999) runs in row blocks through temporaries at offset 0.
  const uint64_t kIntLimit = uint64_t(1) << 31;
  TESSERA_CHECK(N * K < kIntLimit, "op 'linear' on {}: w [{}, {}] reaches 2^31 elements, beyond CLBlast's 32-bit "
                "indexing", dev.id(), N, K);
  if (elem_offset(x) + M * K >= kIntLimit || elem_offset(y) + M * N >= kIntLimit) {
    const uint64_t rows = std::max<uint64_t>(1, (uint64_t(1) << 28) / std::max<uint64_t>({K, N, 1}));
    const size_t xs = dtype_size(x.dtype()), ys = dtype_size(y.dtype());
    for (uint64_t m0 = 0; m0 < M; m0 += rows) {
      const uint64_t mb = std::min(rows, M - m0);
      OpArgs sub;
      sub.attrs = a.attrs;
      sub.in = a.in;
      sub.in[0] = Tensor::empty({int64_t(mb), int64_t(K)}, x.dtype(), dev);
      if (K) dev.copy(x.buffer(), x.offset_bytes() + m0 * K * xs, sub.in[0].buffer(), 0, mb * K * xs);
      sub.out = {Tensor::empty({int64_t(mb), int64_t(N)}, y.dtype(), dev)};
      linear(d, sub);
      dev.copy(sub.out[0].buffer(), 0, y.buffer(), y.offset_bytes() + m0 * N * ys, mb * N * ys);
    }
    return;
  }

  // f32 result: y itself, or a temporary rounded into y at the end.
  F32Operand c;
  if (y.dtype() == DType::f32) {
    c.mem = mem_of(y);
    c.offset = elem_offset(y);
  } else {
    c.tmp = dev.allocate(size_t(M * N) * 4);
    c.mem = mem_of_buffer(*c.tmp, dev.id());
  }

  if (has_bias) {
    const Tensor& b = a.in[2];
    Launch(dev, "linear", std::string("bias_rows_") + dtype_name(b.dtype()))
        .tensor(b)
        .buffer(c.mem, c.offset)
        .arg(cl_ulong(N))
        .run_1d(M * N);
  } else {
    const cl_float zero = 0.f;
    cl_check(clEnqueueFillBuffer(dev.queue(), c.mem, &zero, sizeof(zero), c.offset * 4, M * N * 4, 0, nullptr,
                                 nullptr),
             "clEnqueueFillBuffer (linear output) on " + dev.id());
  }

  if (K > 0) {
    apply_clblast_tuning(dev);
    F32Operand xf = as_f32(dev, x);
    F32Operand wf = as_f32(dev, w);
    clblast::StatusCode s = clblast::StatusCode::kUnexpectedError;
    std::string exc;
    try {
      // Row-major C[M,N] = 1 · X[M,K] · W[N,K]ᵀ + 1 · C.
      s = clblast::Gemm<float>(clblast::Layout::kRowMajor, clblast::Transpose::kNo, clblast::Transpose::kYes, M, N,
                               K, 1.0f, xf.mem, xf.offset, K, wf.mem, wf.offset, K, 1.0f, c.mem, c.offset, N,
                               dev.queue_ptr(), nullptr);
    } catch (const std::exception& e) {
      exc = e.what();
    }
    if (s != clblast::StatusCode::kSuccess) {
      std::string msg = fmt::format("op 'linear' on {} ({}): CLBlast SGEMM M={} N={} K={} failed with status {} ({}){}",
                                    dev.id(), dev.info().name, M, N, K, clblast_status_name(s), int(s),
                                    exc.empty() ? "" : ": " + exc);
      if (s == clblast::StatusCode::kTempBufferAllocFailure || s == clblast::StatusCode::kOpenCLOutOfResources ||
          s == clblast::StatusCode::kOpenCLOutOfHostMemory)
        throw OutOfMemory(msg);
      throw Error(msg);
    }
  }

  // Fused epilogue: in place on the f32 result, before the one rounding.
  static const char* kAct[] = {nullptr, "gelu_erf_f32", "gelu_tanh_f32", "silu_f32"};
  if (const char* k = kAct[uint32_t(ops::linear_activation(a.attrs))])
    Launch(dev, "activation", k).buffer(c.mem, c.offset).buffer(c.mem, c.offset).run_1d(M * N);

  if (y.dtype() != DType::f32)
    enqueue_cast(dev, c.mem, 0, DType::f32, mem_of(y), elem_offset(y), y.dtype(), M * N);
}

std::string supports(const Device& dev, const OpArgs& a) {
  for (auto& t : a.in)
    if (t.defined() && !dtype_is_float(t.dtype()))
      return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(t.dtype()));
  if (!dtype_is_float(a.out[0].dtype())) return fmt::format("output dtype {}", dtype_name(a.out[0].dtype()));
  if (a.attrs.get_str("acc", "f32") != "f32") return "only f32 accumulation";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("linear", "opencl", linear, supports);

}  // namespace
}  // namespace tessera::opencl
