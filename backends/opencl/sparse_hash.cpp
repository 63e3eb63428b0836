// OpenCL voxel hash map and coordinate utilities (kernels/sparse_hash.cl).
// hash_build: fill vals with -1, insert rows (32-bit CAS on the value word,
// bounded linear probing), read the status word back (Error on a full table or
// a bad coordinate), then write each slot's key. sparse_unique /
// sparse_downsample_coords: (key, row) pairs padded to a power of two, bitonic
// sort, first-of-run flags, Hillis-Steele inclusive scan (log2 n ping-pong
// passes), scatter. occupancy_to_coords: flags, scan, scatter. batch_offsets:
// atomic histogram + scan. All integer, exact and deterministic.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/sparse_hash.hpp"

namespace tessera::opencl {
namespace {

using sparse::Grid;

Launch& grid_args(Launch& l, const Grid& g) {
  return l.arg(cl_long(g.B)).arg(cl_long(g.W)).arg(cl_long(g.H)).arg(cl_long(g.D));
}

TempBuffer status_buffer(ClDevice& dev) {
  TempBuffer s = temp_buffer(dev, 4);
  dev.fill(*s.buf, 0, 4, 0u);
  return s;
}
int32_t read_status(ClDevice& dev, const TempBuffer& s) {
  int32_t v = 0;
  dev.download(*s.buf, 0, &v, 4);
  return v;
}

void hash_build(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Grid g = ref::grid_of(a.attrs);
  const Tensor& c = a.in[0];
  Tensor &keys = a.out[0], &vals = a.out[1];
  const int64_t n = c.dim(0), cap = keys.dim(0);
  dev.fill(vals.buffer(), vals.offset_bytes(), size_t(cap) * 4, 0xffffffffu);
  TempBuffer st = status_buffer(dev);
  {
    Launch l(dev, "sparse_hash", "sh_insert");
    l.tensor(c).tensor(vals).arg(cl_long(cap));
    grid_args(l, g).arg(cl_int(g.small())).arg(st.mem).run_1d(uint64_t(n));
  }
  const int32_t s = read_status(dev, st);
  if (s) throw Error(sparse::status_message("hash_build", "opencl", s, n, cap, g));
  Launch l(dev, "sparse_hash", "sh_fill_keys");
  l.tensor(c).tensor(vals).tensor(keys);
  grid_args(l, g).run_1d(uint64_t(cap));
}

void hash_probe(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Grid g = ref::grid_of(a.attrs);
  Launch l(dev, "sparse_hash", "sh_probe_rows");
  l.tensor(a.in[0]).tensor(a.in[1]).arg(cl_long(a.in[0].dim(0))).tensor(a.in[2]).tensor(a.out[0]);
  grid_args(l, g).arg(cl_int(g.small())).run_1d(uint64_t(a.in[2].dim(0)));
}

void neighbour_map(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Grid g = ref::grid_of(a.attrs);
  const int64_t k = a.attrs.get_int("kernel_size", 3), dil = a.attrs.get_int("dilation", 1);
  Launch l(dev, "sparse_hash", "sh_neighbour");
  l.tensor(a.in[0]).tensor(a.in[1]).tensor(a.in[2]).arg(cl_long(a.in[1].dim(0))).tensor(a.out[0]);
  grid_args(l, g).arg(cl_int(g.small())).arg(cl_int(k)).arg(cl_int(dil)).run_1d(uint64_t(a.out[0].numel()));
}

// Inclusive scan of n ints in `a` (clobbers a); returns the buffer holding the result (a or b).
cl_mem inclusive_scan(ClDevice& dev, cl_mem a, cl_mem b, uint64_t n) {
  for (uint64_t s = 1; s < n; s <<= 1) {
    Launch(dev, "sparse_hash", "sh_scan_step").arg(a).arg(b).arg(cl_ulong(s)).run_1d(n);
    std::swap(a, b);
  }
  return a;
}

void unique_impl(Device& d, OpArgs& a, const char* op, int64_t f, bool with_sub) {
  ClDevice& dev = as_cl(d);
  const Grid g = ref::grid_of(a.attrs);
  Grid pg = g;
  pg.W = (g.W + f - 1) / f;
  pg.H = (g.H + f - 1) / f;
  pg.D = (g.D + f - 1) / f;
  const Tensor& c = a.in[0];
  const uint64_t n = uint64_t(c.dim(0));
  Tensor &uc = a.out[0], &inv = a.out[1], &count = a.out.back();
  dev.fill(uc.buffer(), uc.offset_bytes(), uc.nbytes(), 0xffffffffu);
  if (n == 0) {
    dev.fill(count.buffer(), count.offset_bytes(), 4, 0u);
    return;
  }
  uint64_t np = 1;
  while (np < n) np <<= 1;
  TempBuffer skey = temp_buffer(dev, size_t(np) * 8), sidx = temp_buffer(dev, size_t(np) * 4);
  TempBuffer st = status_buffer(dev);
  {
    Launch l(dev, "sparse_hash", "sh_sort_init");
    l.tensor(c).arg(cl_long(n));
    grid_args(l, g).arg(cl_int(f)).arg(cl_long(pg.W)).arg(cl_long(pg.H)).arg(cl_long(pg.D));
    l.arg(skey.mem).arg(sidx.mem).arg(st.mem).run_1d(np);
  }
  const int32_t s = read_status(dev, st);
  if (s) throw Error(sparse::status_message(op, "opencl", s, int64_t(n), 0, g));
  for (uint64_t kk = 2; kk <= np; kk <<= 1)
    for (uint64_t j = kk >> 1; j > 0; j >>= 1)
      Launch(dev, "sparse_hash", "sh_bitonic").arg(skey.mem).arg(sidx.mem).arg(cl_ulong(j)).arg(cl_ulong(kk)).run_1d(np);
  TempBuffer fa = temp_buffer(dev, size_t(n) * 4), fb = temp_buffer(dev, size_t(n) * 4);
  Launch(dev, "sparse_hash", "sh_flags").arg(skey.mem).arg(fa.mem).run_1d(n);
  cl_mem scan = inclusive_scan(dev, fa.mem, fb.mem, n);
  {
    Launch l(dev, "sparse_hash", "sh_unique_scatter");
    l.arg(skey.mem).arg(sidx.mem).arg(scan).arg(cl_long(g.B)).arg(cl_long(pg.W)).arg(cl_long(pg.H)).arg(cl_long(pg.D));
    l.tensor(uc).tensor(inv).tensor(count).run_1d(n);
  }
  if (with_sub)
    Launch(dev, "sparse_hash", "sh_subidx").tensor(c).arg(cl_int(f)).tensor(a.out[2]).run_1d(n);
}

void sparse_unique(Device& d, OpArgs& a) { unique_impl(d, a, "sparse_unique", 1, false); }
void sparse_downsample_coords(Device& d, OpArgs& a) {
  unique_impl(d, a, "sparse_downsample_coords", a.attrs.get_int("factor", 2), true);
}

void occupancy_to_coords(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  Tensor &out = a.out[0], &count = a.out[1];
  const uint64_t n = uint64_t(x.numel());
  dev.fill(out.buffer(), out.offset_bytes(), out.nbytes(), 0xffffffffu);
  if (n == 0) {
    dev.fill(count.buffer(), count.offset_bytes(), 4, 0u);
    return;
  }
  TempBuffer fa = temp_buffer(dev, size_t(n) * 4), fb = temp_buffer(dev, size_t(n) * 4);
  Launch(dev, "sparse_hash", std::string("sh_occ_flags_") + dtype_name(x.dtype()))
      .tensor(x)
      .arg(cl_float(sparse::threshold_f32(a.attrs.get_float("threshold", 0.0))))
      .arg(fa.mem)
      .run_1d(n);
  cl_mem scan = inclusive_scan(dev, fa.mem, fb.mem, n);
  Launch(dev, "sparse_hash", "sh_occ_scatter")
      .arg(scan)
      .arg(cl_long(x.dim(2)))
      .arg(cl_long(x.dim(3)))
      .arg(cl_long(x.dim(4)))
      .tensor(out)
      .tensor(count)
      .run_1d(n);
}

void batch_offsets(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const int64_t B = a.attrs.get_int("batch", 1), n = a.in[0].dim(0);
  const uint64_t m = uint64_t(B + 1);
  TempBuffer ca = temp_buffer(dev, size_t(m) * 4), cb = temp_buffer(dev, size_t(m) * 4);
  dev.fill(*ca.buf, 0, size_t(m) * 4, 0u);
  TempBuffer st = status_buffer(dev);
  Launch(dev, "sparse_hash", "sh_batch_hist").tensor(a.in[0]).arg(cl_int(B)).arg(ca.mem).arg(st.mem).run_1d(uint64_t(n));
  const int32_t s = read_status(dev, st);
  if (s) fail("op 'batch_offsets' (opencl): a row has a batch outside [0, {}) among {} rows", B, n);
  cl_mem r = inclusive_scan(dev, ca.mem, cb.mem, m);
  Buffer& rb = r == ca.mem ? *ca.buf : *cb.buf;
  dev.copy(rb, 0, a.out[0].buffer(), a.out[0].offset_bytes(), size_t(m) * 4);
}

// 64-bit integers (kernel_unsupported_reason) and contiguous tensors; only
// 32-bit atomics (core since OpenCL 1.1) are used.
std::string supports(const Device& dev, const OpArgs& a) { return supports_common(dev, a); }

TESSERA_REGISTER_KERNEL("hash_build", "opencl", hash_build, supports);
TESSERA_REGISTER_KERNEL("hash_probe", "opencl", hash_probe, supports);
TESSERA_REGISTER_KERNEL("neighbour_map", "opencl", neighbour_map, supports);
TESSERA_REGISTER_KERNEL("sparse_unique", "opencl", sparse_unique, supports);
TESSERA_REGISTER_KERNEL("sparse_downsample_coords", "opencl", sparse_downsample_coords, supports);
TESSERA_REGISTER_KERNEL("occupancy_to_coords", "opencl", occupancy_to_coords, supports);
TESSERA_REGISTER_KERNEL("batch_offsets", "opencl", batch_offsets, supports);

}  // namespace
}  // namespace tessera::opencl
