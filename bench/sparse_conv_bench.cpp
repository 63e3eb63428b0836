#include "bench/sparse_conv_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>

#include "bench/warm_up.hpp"
#include "core/tensor.hpp"
#include "ops/parity.hpp"
#include "ops/sparse_conv.hpp"
#include "ops/sparse_hash.hpp"
#include "ops/sparse_test_data.hpp"

namespace tessera::bench {

std::vector<int32_t> sphere_shell_coords(int64_t res) {
  return sparse_test::sphere_shell(res, 0.4 * double(res), 2.0);
}

namespace {
// Median ms of `fn` (synchronised per sample, `reps` calls per sample).
double time_ms(Device& dev, const std::function<void()>& fn, int samples, int reps) {
  std::vector<double> ms;
  for (int s = 0; s < samples; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) fn();
    dev.synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
}  // namespace

SparseConvResult bench_sparse_conv(Device& dev, DType dtype, int64_t res, int64_t C, const std::string& order_mode,
                                   int samples) {
  SparseConvResult r{dev.id(), dev.info().name, order_mode, dtype, res, C};
  const bool gpu = dev.backend() != "cpu" && !dev.info().software;
  const auto host_coords = sphere_shell_coords(res);
  const int64_t N = int64_t(host_coords.size() / 4), K = 27;
  r.voxels = N;
  Tensor coords = Tensor::from_vector(host_coords, {N, 4}, DType::i32, dev);
  const std::array<int64_t, 3> shape{res, res, res};
  // Hash build and neighbour map (each timed; the last results are kept).
  ops::HashTable table;
  r.hash_ms = time_ms(dev, [&] { table = ops::hash_build(coords, shape, 1); }, 5, 1);
  r.hash_keys_per_s = double(N) / (r.hash_ms * 1e-3);
  Tensor nbr;
  r.nbr_ms = time_ms(dev, [&] { nbr = ops::neighbour_map(coords, table, 3); }, 5, 1);
  Tensor order;
  if (order_mode == "planned") {
    r.order_ms = time_ms(dev, [&] { order = ops::sparse_conv_order(nbr); }, 5, 1);
  } else if (order_mode == "storage") {
    std::vector<int32_t> id(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) id[size_t(i)] = int32_t(i);
    order = Tensor::from_vector(id, {N}, DType::i32, dev);
  }
  const auto host_nbr = nbr.to_vector<int32_t>();
  for (int32_t j : host_nbr) r.active_pairs += j >= 0;
  // Features and weight: uniform [-1, 1], rounded to dtype (host copies kept raw).
  std::mt19937_64 rng(uint64_t(res * 1000 + C));
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<char> fraw(size_t(N * C) * dtype_size(dtype)), wraw(size_t(C * K * C) * dtype_size(dtype));
  for (size_t i = 0; i < size_t(N * C); ++i) store_from_double(fraw.data(), dtype, i, u(rng));
  for (size_t i = 0; i < size_t(C * K * C); ++i) store_from_double(wraw.data(), dtype, i, u(rng) / std::sqrt(double(K * C)));
  Tensor feats = Tensor::from_host(fraw.data(), {N, C}, dtype, dev);
  Tensor weight = Tensor::from_host(wraw.data(), {C, 3, 3, 3, C}, dtype, dev);
  Tensor y;
  auto run = [&] { y = ops::sparse_conv3d(feats, nbr, weight, nullptr, order.defined() ? &order : nullptr); };
  run();
  dev.synchronize();
  {  // 64 sampled rows vs float64
    std::vector<double> got, ref;
    const auto yall = y.to_double();
    std::mt19937_64 pick(5);
    for (int s = 0; s < 64; ++s) {
      const int64_t i = int64_t(pick() % uint64_t(N));
      for (int64_t co = 0; co < C; ++co) {
        double acc = 0;
        for (int64_t v = 0; v < K; ++v) {
          const int32_t j = host_nbr[size_t(i * K + v)];
          if (j < 0) continue;
          for (int64_t ci = 0; ci < C; ++ci)
            acc += load_as_double(wraw.data(), dtype, size_t((co * K + v) * C + ci)) *
                   load_as_double(fraw.data(), dtype, size_t(int64_t(j) * C + ci));
        }
        ref.push_back(acc);
        got.push_back(yall[size_t(i * C + co)]);
      }
    }
    r.nmse = nmse(got, ref);
  }
  const double flop = 2.0 * double(r.active_pairs) * double(C) * double(C);
  int reps = int(std::clamp(2e12 / flop, 1.0, 50.0));
  if (!gpu) reps = 1;
  warm_up(dev, run);
  r.median_ms = time_ms(dev, run, gpu ? samples : 3, reps);
  r.tflops = flop / (r.median_ms * 1e-3) / 1e12;
  return r;
}

void print_sparse_conv_table(const std::vector<SparseConvResult>& rs, bool header) {
  if (header)
    std::printf("%-10s %-24s %-5s %-8s %5s %5s %9s %10s %9s %8s %9s %10s %8s %9s %9s\n", "device", "name", "dtype",
                "order", "res", "C", "voxels", "pairs", "ms", "TFLOP/s", "hash_ms", "Mkeys/s", "nbr_ms", "order_ms",
                "nmse");
  for (auto& r : rs)
    std::printf("%-10s %-24.24s %-5s %-8s %5ld %5ld %9ld %10ld %9.3f %8.2f %9.3f %10.1f %8.3f %9.3f %9.2g\n",
                r.device.c_str(), r.device_name.c_str(), dtype_name(r.dtype), r.order.c_str(), r.res, r.channels,
                r.voxels, r.active_pairs, r.median_ms, r.tflops, r.hash_ms, r.hash_keys_per_s / 1e6, r.nbr_ms,
                r.order_ms, r.nmse);
}

void write_sparse_conv_csv(const std::vector<SparseConvResult>& rs, const std::string& path) {
  std::ofstream f(path);
  f << "device,name,dtype,order,res,channels,voxels,active_pairs,median_ms,tflops,hash_ms,hash_keys_per_s,nbr_ms,"
       "order_ms,nmse\n";
  for (auto& r : rs)
    f << r.device << ",\"" << r.device_name << "\"," << dtype_name(r.dtype) << "," << r.order << "," << r.res << ","
      << r.channels << "," << r.voxels << "," << r.active_pairs << "," << r.median_ms << "," << r.tflops << ","
      << r.hash_ms << "," << r.hash_keys_per_s << "," << r.nbr_ms << "," << r.order_ms << "," << r.nmse << "\n";
}

}  // namespace tessera::bench
