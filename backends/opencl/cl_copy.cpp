// enqueue_strided_copy: the one data-movement kernel behind permute, slice,
// concat, pixel_shuffle_3d and upsample_nearest_3d (kernels/copy.cl).
#include <algorithm>

#include "backends/opencl/cl_error.hpp"
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"

namespace tessera::opencl {
namespace {

struct CopyPlan {
  std::vector<int64_t> dims, ss, ds;  // collapsed, outermost first
  uint64_t soff = 0, doff = 0;         // in units
  size_t unit = 1;                     // bytes
  bool empty = false;
};

CopyPlan plan_copy(uint64_t soff, uint64_t doff, size_t es, const std::vector<int64_t>& dims,
                   const std::vector<int64_t>& ss, const std::vector<int64_t>& ds) {
  TESSERA_CHECK(dims.size() == ss.size() && dims.size() == ds.size(), "strided copy: {} dims, {} and {} strides",
                dims.size(), ss.size(), ds.size());
  CopyPlan p;
  for (size_t k = 0; k < dims.size(); ++k) {
    TESSERA_CHECK(dims[k] >= 0 && ss[k] >= 0 && ds[k] >= 0, "strided copy: negative dim or stride");
    if (dims[k] == 0) p.empty = true;
    if (dims[k] == 1) continue;
    if (!p.dims.empty() && p.ss.back() == ss[k] * dims[k] && p.ds.back() == ds[k] * dims[k]) {
      p.dims.back() *= dims[k];
      p.ss.back() = ss[k];
      p.ds.back() = ds[k];
    } else {
      p.dims.push_back(dims[k]);
      p.ss.push_back(ss[k]);
      p.ds.push_back(ds[k]);
    }
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.ss = {1};
    p.ds = {1};
  }
  p.unit = es;
  p.soff = soff;
  p.doff = doff;
  const size_t r = p.dims.size();
  if (p.ss[r - 1] == 1 && p.ds[r - 1] == 1) {
    const uint64_t inner = uint64_t(p.dims[r - 1]) * es;
    for (size_t u : {size_t(16), size_t(8), size_t(4), size_t(2)}) {
      if (u <= es) break;
      bool ok = inner % u == 0 && (soff * es) % u == 0 && (doff * es) % u == 0;
      for (size_t k = 0; ok && k + 1 < r; ++k) ok = (uint64_t(p.ss[k]) * es) % u == 0 && (uint64_t(p.ds[k]) * es) % u == 0;
      if (!ok) continue;
      p.unit = u;
      p.dims[r - 1] = int64_t(inner / u);
      for (size_t k = 0; k + 1 < r; ++k) {
        p.ss[k] = int64_t(uint64_t(p.ss[k]) * es / u);
        p.ds[k] = int64_t(uint64_t(p.ds[k]) * es / u);
      }
      p.soff = soff * es / u;
      p.doff = doff * es / u;
      break;
    }
  }
  return p;
}

}  // namespace

std::string strided_copy_unsupported(std::vector<int64_t> dims, std::vector<int64_t> ss, std::vector<int64_t> ds) {
  CopyPlan p = plan_copy(0, 0, 1, dims, ss, ds);
  if (p.dims.size() > 8) return fmt::format("the copy needs {} dimensions after collapsing (at most 8)", p.dims.size());
  return "";
}

void enqueue_strided_copy(ClDevice& dev, cl_mem src, uint64_t src_off, cl_mem dst, uint64_t dst_off, size_t es,
                          std::vector<int64_t> dims, std::vector<int64_t> ss, std::vector<int64_t> ds) {
  CopyPlan p = plan_copy(src_off, dst_off, es, dims, ss, ds);
  if (p.empty) return;
  const int rank = int(p.dims.size());
  TESSERA_CHECK(rank <= 8, "strided copy on {}: {} dimensions after collapsing (at most 8)", dev.id(), rank);
  uint64_t n = 1, smax = 0, dmax = 0;
  for (int k = 0; k < rank; ++k) {
    n *= uint64_t(p.dims[k]);
    smax += uint64_t(p.dims[k] - 1) * uint64_t(p.ss[k]);
    dmax += uint64_t(p.dims[k] - 1) * uint64_t(p.ds[k]);
  }
  // One contiguous run: a plain buffer copy (unless it overlaps itself).
  if (rank == 1 && p.ss[0] == 1 && p.ds[0] == 1) {
    const uint64_t so = p.soff * p.unit, d = p.doff * p.unit, bytes = n * p.unit;
    if (src != dst || so + bytes <= d || d + bytes <= so) {
      if (src == dst && so == d) return;
      cl_check(clEnqueueCopyBuffer(dev.queue(), src, dst, so, d, bytes, 0, nullptr, nullptr),
               "clEnqueueCopyBuffer (strided copy) on " + dev.id());
      return;
    }
  }
  // Transposing plans (the destination's innermost dim is strided in the
  // source, another dim is contiguous there): tiles through local memory.
  int pdim = -1;
  for (int k = 0; k + 1 < rank; ++k)
    if (p.ss[size_t(k)] == 1) pdim = k;
  if (pdim >= 0 && p.ds[size_t(rank - 1)] == 1 && p.ss[size_t(rank - 1)] != 1 && p.dims[size_t(pdim)] >= 8 &&
      p.dims[size_t(rank - 1)] >= 8) {
    const int q = rank - 1;
    std::vector<int64_t> bd, bs, bdd;
    for (int k = 0; k < rank; ++k)
      if (k != pdim && k != q) {
        bd.push_back(p.dims[size_t(k)]);
        bs.push_back(p.ss[size_t(k)]);
        bdd.push_back(p.ds[size_t(k)]);
      }
    const int brank = int(bd.size());
    uint64_t nbatch = 1;
    for (auto v : bd) nbatch *= uint64_t(v);
    cl_long8 bdv, bsv, bdsv;
    for (int s = 0; s < 8; ++s) {
      int k = s - (8 - brank);
      bdv.s[s] = k >= 0 ? bd[size_t(k)] : 1;
      bsv.s[s] = k >= 0 ? bs[size_t(k)] : 0;
      bdsv.s[s] = k >= 0 ? bdd[size_t(k)] : 0;
    }
    const uint64_t P = uint64_t(p.dims[size_t(pdim)]), Q = uint64_t(p.dims[size_t(q)]);
    const uint64_t tp = (P + 31) / 32, tq = (Q + 31) / 32;
    Launch(dev, "copy", fmt::format("transpose_copy_{}", p.unit))
        .buffer(src, p.soff)
        .buffer(dst, p.doff)
        .arg(cl_int(brank))
        .arg(bdv)
        .arg(bsv)
        .arg(bdsv)
        .arg(cl_ulong(P))
        .arg(cl_ulong(Q))
        .arg(cl_ulong(p.ss[size_t(q)]))
        .arg(cl_ulong(p.ds[size_t(pdim)]))
        .arg(cl_ulong(tp))
        .arg(cl_ulong(tq))
        .run_groups(nbatch * tp * tq, 1, 256);
    return;
  }
  const uint64_t lim = uint64_t(1) << 32;
  const cl_int small = n < lim && smax < lim && dmax < lim;
  cl_long8 dv, sv, dsv;
  for (int s = 0; s < 8; ++s) {
    int k = s - (8 - rank);
    dv.s[s] = k >= 0 ? p.dims[k] : 1;
    sv.s[s] = k >= 0 ? p.ss[k] : 0;
    dsv.s[s] = k >= 0 ? p.ds[k] : 0;
  }
  Launch(dev, "copy", fmt::format("strided_copy_{}", p.unit))
      .buffer(src, p.soff)
      .buffer(dst, p.doff)
      .arg(cl_int(rank))
      .arg(small)
      .arg(dv)
      .arg(sv)
      .arg(dsv)
      .run_1d(n);
}

}  // namespace tessera::opencl
