#include "bench/raster_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "bench/warm_up.hpp"
#include "ops/raster.hpp"

namespace tessera::bench {

RasterResult bench_raster(Device& dev, int64_t size, int64_t triangles, double tri_px, int runs) {
  std::mt19937_64 r(1234);
  std::uniform_real_distribution<float> u(-1.f, 1.f), w(0.5f, 2.f);
  // Half-extent of a triangle in NDC so that its area is about tri_px pixels.
  const float sz = float(std::sqrt(tri_px) * 2.0 / double(size));
  std::vector<float> pos;
  std::vector<int32_t> faces;
  pos.reserve(size_t(triangles) * 12);
  for (int64_t f = 0; f < triangles; ++f) {
    const float cx = u(r), cy = u(r), z = 0.9f * u(r);
    for (int k = 0; k < 3; ++k) {
      const float ww = w(r);
      for (float c : {cx + sz * u(r), cy + sz * u(r), z, 1.f}) pos.push_back(c * ww);
      faces.push_back(int32_t(3 * f + k));
    }
  }
  Tensor tp = Tensor::from_vector(pos, {3 * triangles, 4}, DType::f32, dev);
  Tensor tf = Tensor::from_vector(faces, {triangles, 3}, DType::i32, dev);
  RasterResult res{dev.id(), size, triangles};
  auto out = ops::rasterize(tp, tf, size, size);  // warm-up
  dev.synchronize();
  auto ids = out[0].to_double();
  res.covered = double(std::count_if(ids.begin(), ids.end(), [](double v) { return v >= 0; })) / double(ids.size());
  warm_up(dev, [&] { ops::rasterize(tp, tf, size, size); }, 0.5, 20);
  std::vector<double> ts;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto o = ops::rasterize(tp, tf, size, size);
    dev.synchronize();
    ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ts.begin(), ts.end());
  res.seconds = ts[ts.size() / 2];
  return res;
}

void print_raster_table(const std::vector<RasterResult>& rs, bool header) {
  if (header)
    std::printf("%-12s %7s %10s %10s %12s %12s %8s\n", "device", "size", "triangles", "ms", "Mtri/s", "Mpix/s",
                "covered");
  for (const auto& r : rs)
    std::printf("%-12s %7ld %10ld %10.2f %12.2f %12.1f %7.1f%%\n", r.device.c_str(), long(r.size), long(r.triangles),
                r.seconds * 1e3, double(r.triangles) / r.seconds / 1e6, double(r.size * r.size) / r.seconds / 1e6,
                100 * r.covered);
}

}  // namespace tessera::bench
