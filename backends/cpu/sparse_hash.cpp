// CPU voxel hash map and coordinate utilities (ops/sparse_hash.hpp).
// hash_build inserts rows concurrently (TBB): a slot is claimed by a
// compare-and-swap of its value word from -1 to the row; a slot's key is the
// packed key of the row it holds (coords are read-only), so only 32-bit
// atomics are needed. A weak CAS that fails while the slot still reads empty
// is retried on the SAME slot (never treated as "taken"). A slot holding the
// same key keeps the smallest row (atomic min). Each probe loop is bounded by
// the capacity; a full table or a bad coordinate sets a status bit and the
// host throws. Sorting (unique / downsample) uses tbb::parallel_sort on
// (key, row) pairs: a total order, so the result is deterministic.
#include <algorithm>
#include <atomic>
#include <vector>

#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/sparse_hash.hpp"

namespace tessera::cpu {
namespace {

using sparse::Grid;

Grid grid(const OpArgs& a) { return ref::grid_of(a.attrs); }

int64_t key_of(const Grid& g, const int32_t* c) { return g.pack(c[0], c[1], c[2], c[3]); }

void throw_status(const char* op, int32_t st, int64_t rows, int64_t cap, const Grid& g) {
  if (st) throw Error(sparse::status_message(op, "cpu", st, rows, cap, g));
}

// Row of `key` in the table (-1 when missing), at most cap probes.
int32_t probe(const int64_t* keys, const int32_t* vals, int64_t cap, bool small, int64_t key) {
  if (key < 0) return -1;
  int64_t s = sparse::home_slot(key, small, cap);
  for (int64_t t = 0; t < cap; ++t) {
    const int64_t k = keys[s];
    if (k == sparse::kEmptyKey) return -1;
    if (k == key) return vals[s];
    if (++s == cap) s = 0;
  }
  return -1;
}

void hash_build(Device&, OpArgs& a) {
  const Grid g = grid(a);
  const int32_t* c = data<int32_t>(a.in[0]);
  const int64_t n = a.in[0].dim(0), cap = a.out[0].dim(0);
  int64_t* keys = data<int64_t>(a.out[0]);
  int32_t* vals = data<int32_t>(a.out[1]);
  std::fill(vals, vals + cap, sparse::kEmptyVal);
  std::atomic<int32_t> status{0};
  const bool small = g.small();
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    const int64_t key = key_of(g, c + 4 * i);
    if (key < 0) {
      status.fetch_or(sparse::kStatusBadCoord);
      return;
    }
    int64_t s = sparse::home_slot(key, small, cap);
    for (int64_t t = 0; t < cap; ++t) {
      int32_t prev = sparse::kEmptyVal;
      // Weak CAS: a spurious failure leaves prev == -1 and the same slot is tried again.
      bool won = false;
      for (int retry = 0; retry < (1 << 20); ++retry) {
        prev = sparse::kEmptyVal;
        if (__atomic_compare_exchange_n(&vals[s], &prev, int32_t(i), /*weak=*/true, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
          won = true;
          break;
        }
        if (prev != sparse::kEmptyVal) break;
      }
      if (won) return;
      if (prev != sparse::kEmptyVal && key_of(g, c + 4 * int64_t(prev)) == key) {
        // Same key: keep the smallest row (atomic min by CAS loop).
        int32_t cur = __atomic_load_n(&vals[s], __ATOMIC_ACQUIRE);
        while (int32_t(i) < cur &&
               !__atomic_compare_exchange_n(&vals[s], &cur, int32_t(i), true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        }
        return;
      }
      if (prev == sparse::kEmptyVal) {  // CAS never succeeded in 2^20 tries: report, never spin forever
        status.fetch_or(sparse::kStatusFull);
        return;
      }
      if (++s == cap) s = 0;
    }
    status.fetch_or(sparse::kStatusFull);
  });
  throw_status("hash_build", status.load(), n, cap, g);
  tbb::parallel_for(int64_t(0), cap, [&](int64_t s) {
    keys[s] = vals[s] < 0 ? sparse::kEmptyKey : key_of(g, c + 4 * int64_t(vals[s]));
  });
}

void hash_probe(Device&, OpArgs& a) {
  const Grid g = grid(a);
  const int64_t* keys = data<int64_t>(a.in[0]);
  const int32_t* vals = data<int32_t>(a.in[1]);
  const int32_t* q = data<int32_t>(a.in[2]);
  int32_t* out = data<int32_t>(a.out[0]);
  const int64_t cap = a.in[0].dim(0), m = a.in[2].dim(0);
  const bool small = g.small();
  tbb::parallel_for(int64_t(0), m, [&](int64_t i) { out[i] = probe(keys, vals, cap, small, key_of(g, q + 4 * i)); });
}

void neighbour_map(Device&, OpArgs& a) {
  const Grid g = grid(a);
  const int32_t* c = data<int32_t>(a.in[0]);
  const int64_t* keys = data<int64_t>(a.in[1]);
  const int32_t* vals = data<int32_t>(a.in[2]);
  int32_t* out = data<int32_t>(a.out[0]);
  const int64_t n = a.in[0].dim(0), cap = a.in[1].dim(0);
  const int64_t k = a.attrs.get_int("kernel_size", 3), d = a.attrs.get_int("dilation", 1), V = k * k * k, h = k / 2;
  const bool small = g.small();
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    const int32_t* p = c + 4 * i;
    for (int64_t v = 0; v < V; ++v) {
      const int64_t da = (v / (k * k) - h) * d, db = (v / k % k - h) * d, dc = (v % k - h) * d;
      out[i * V + v] = v == V / 2 ? int32_t(i)
                                  : probe(keys, vals, cap, small, g.pack(p[0], p[1] + da, p[2] + db, p[3] + dc));
    }
  });
}

// Shared by sparse_unique (f = 1, no subidx) and sparse_downsample_coords.
void unique_impl(OpArgs& a, const char* op, int64_t f, bool with_sub) {
  const Grid g = grid(a);
  Grid pg = g;
  pg.W = (g.W + f - 1) / f;
  pg.H = (g.H + f - 1) / f;
  pg.D = (g.D + f - 1) / f;
  const int32_t* c = data<int32_t>(a.in[0]);
  const int64_t n = a.in[0].dim(0);
  std::vector<std::pair<int64_t, int32_t>> kr(static_cast<size_t>(n));
  std::atomic<int32_t> status{0};
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    const int32_t* p = c + 4 * i;
    if (!g.inside(p[0], p[1], p[2], p[3])) status.fetch_or(sparse::kStatusBadCoord);
    kr[size_t(i)] = {g.inside(p[0], p[1], p[2], p[3]) ? pg.pack(p[0], p[1] / f, p[2] / f, p[3] / f) : 0, int32_t(i)};
  });
  throw_status(op, status.load(), n, 0, g);
  tbb::parallel_sort(kr.begin(), kr.end());
  int32_t* uc = data<int32_t>(a.out[0]);
  int32_t* inv = data<int32_t>(a.out[1]);
  std::fill(uc, uc + 4 * n, -1);
  int64_t u = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || kr[size_t(i)].first != kr[size_t(i - 1)].first) pg.unpack(kr[size_t(i)].first, uc + 4 * ++u);
    inv[kr[size_t(i)].second] = int32_t(u);
  }
  if (with_sub) {
    int32_t* sub = data<int32_t>(a.out[2]);
    tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
      const int32_t* p = c + 4 * i;
      sub[i] = int32_t(p[1] % f + (p[2] % f) * f + (p[3] % f) * f * f);
    });
  }
  data<int32_t>(a.out.back())[0] = int32_t(u + 1);
}

void sparse_unique(Device&, OpArgs& a) { unique_impl(a, "sparse_unique", 1, false); }
void sparse_downsample_coords(Device&, OpArgs& a) {
  unique_impl(a, "sparse_downsample_coords", a.attrs.get_int("factor", 2), true);
}

void occupancy_to_coords(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t X = x.dim(2), Y = x.dim(3), Z = x.dim(4), n = x.numel();
  const double thr_d = a.attrs.get_float("threshold", 0.0);
  const char* xp = data<char>(x);
  int32_t* out = data<int32_t>(a.out[0]);
  std::fill(out, out + 4 * n, -1);
  int64_t r = 0;
  for (int64_t i = 0; i < n; ++i)
    if (double(ld(xp, x.dtype(), i)) > thr_d) {
      out[4 * r] = int32_t(i / (X * Y * Z));
      out[4 * r + 1] = int32_t(i / (Y * Z) % X);
      out[4 * r + 2] = int32_t(i / Z % Y);
      out[4 * r + 3] = int32_t(i % Z);
      r++;
    }
  data<int32_t>(a.out[1])[0] = int32_t(r);
}

void batch_offsets(Device&, OpArgs& a) {
  const int64_t B = a.attrs.get_int("batch", 1), n = a.in[0].dim(0);
  const int32_t* c = data<int32_t>(a.in[0]);
  int32_t* out = data<int32_t>(a.out[0]);
  std::fill(out, out + B + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t b = c[4 * i];
    if (b < 0 || b >= B)
      fail("op 'batch_offsets' (cpu): row {} has batch {} outside [0, {})", i, b, B);
    out[b + 1]++;
  }
  for (int64_t b = 0; b < B; ++b) out[b + 1] += out[b];
}

std::string supports(const Device&, const OpArgs& a) {
  for (const auto& t : a.in)
    if (!t.is_contiguous()) return "non-contiguous input";
  return "";
}

TESSERA_REGISTER_KERNEL("hash_build", "cpu", hash_build, supports);
TESSERA_REGISTER_KERNEL("hash_probe", "cpu", hash_probe, supports);
TESSERA_REGISTER_KERNEL("neighbour_map", "cpu", neighbour_map, supports);
TESSERA_REGISTER_KERNEL("sparse_unique", "cpu", sparse_unique, supports);
TESSERA_REGISTER_KERNEL("sparse_downsample_coords", "cpu", sparse_downsample_coords, supports);
TESSERA_REGISTER_KERNEL("occupancy_to_coords", "cpu", occupancy_to_coords, supports);
TESSERA_REGISTER_KERNEL("batch_offsets", "cpu", batch_offsets, supports);

}  // namespace
}  // namespace tessera::cpu
