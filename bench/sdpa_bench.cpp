#include "bench/sdpa_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "bench/warm_up.hpp"
#include "core/op_registry.hpp"
#include "core/tensor.hpp"
#include "ops/parity.hpp"

namespace tessera::bench {

SdpaResult bench_sdpa(Device& dev, DType dtype, int64_t n, int64_t heads, int64_t d, int samples) {
  SdpaResult r{dev.id(), dev.info().name, dtype, n, heads, d};
  std::mt19937_64 rng(n * 131 + heads * 7 + d);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<std::vector<double>> host(3);
  Tensor qkv[3];
  for (int i = 0; i < 3; ++i) {
    std::vector<char> raw(size_t(n * heads * d) * dtype_size(dtype));
    host[i].resize(size_t(n * heads * d));
    for (size_t j = 0; j < host[i].size(); ++j) {
      store_from_double(raw.data(), dtype, j, u(rng));
      host[i][j] = load_as_double(raw.data(), dtype, j);
    }
    qkv[i] = Tensor::from_host(raw.data(), {n, heads, d}, dtype, dev);
  }
  std::vector<int32_t> cu{0, int32_t(n)};
  Tensor cq = Tensor::from_vector(cu, {2}, DType::i32, dev);
  Tensor out = Tensor::empty({n, heads, d}, dtype, dev);
  auto run = [&] {
    OpArgs a;
    a.in = {qkv[0], qkv[1], qkv[2], cq, cq};
    a.out = {out};
    OpRegistry::get().dispatch("sdpa", a);
  };
  dev.synchronize();
  dev.allocator().reset_peak();
  run();
  dev.synchronize();
  // Correctness on 4 sampled rows, all heads.
  {
    auto got = out.to_double();
    std::vector<double> g, ref;
    const double scale = 1.0 / std::sqrt(double(d));
    for (int64_t i : {int64_t(0), n / 3, n / 2, n - 1})
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> s(static_cast<size_t>(n));
        double m = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t c = 0; c < d; ++c) acc += host[0][(i * heads + h) * d + c] * host[1][(j * heads + h) * d + c];
          m = std::max(m, s[j] = acc * scale);
        }
        for (auto& x : s) sum += (x = std::exp(x - m));
        for (int64_t c = 0; c < d; ++c) {
          double o = 0;
          for (int64_t j = 0; j < n; ++j) o += s[j] * host[2][(j * heads + h) * d + c];
          ref.push_back(o / sum);
          g.push_back(got[(i * heads + h) * d + c]);
        }
      }
    r.nmse = nmse(g, ref);
  }
  const double flop = 4.0 * double(n) * double(n) * double(d) * double(heads);
  int reps = int(std::clamp(5e12 / flop, 1.0, 20.0));
  if (dev.backend() == "cpu" || dev.info().software) reps = 1;
  warm_up(dev, run, 1.0, 200);  // the host reference above left the GPU idle
  std::vector<double> ms;
  for (int s = 0; s < samples; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) run();
    dev.synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps);
  }
  std::sort(ms.begin(), ms.end());
  r.median_ms = ms[ms.size() / 2];
  r.tflops = flop / (r.median_ms * 1e-3) / 1e12;
  r.peak_mib = dev.allocator().stats().peak / 1048576.0;
  return r;
}

void print_sdpa_table(const std::vector<SdpaResult>& rs, bool header) {
  if (header)
    std::printf("%-10s %-32s %-5s %7s %5s %4s %10s %9s %9s %9s\n", "device", "name", "dtype", "N", "heads", "d", "ms",
                "TFLOP/s", "peakMiB", "nmse");
  for (auto& r : rs)
    std::printf("%-10s %-32.32s %-5s %7ld %5ld %4ld %10.3f %9.2f %9.1f %9.2g\n", r.device.c_str(),
                r.device_name.c_str(), dtype_name(r.dtype), r.n, r.heads, r.head_dim, r.median_ms, r.tflops,
                r.peak_mib, r.nmse);
}

void write_sdpa_csv(const std::vector<SdpaResult>& rs, const std::string& path) {
  std::ofstream f(path);
  f << "device,name,dtype,n,heads,head_dim,median_ms,tflops,peak_mib,nmse\n";
  for (auto& r : rs)
    f << r.device << ",\"" << r.device_name << "\"," << dtype_name(r.dtype) << "," << r.n << "," << r.heads << ","
      << r.head_dim << "," << r.median_ms << "," << r.tflops << "," << r.peak_mib << "," << r.nmse << "\n";
}

}  // namespace tessera::bench
