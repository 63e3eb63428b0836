#include "bench/bvh_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "bench/warm_up.hpp"
#include "core/tensor.hpp"
#include "ops/geometry_bvh.hpp"
#include "ops/reference/geometry_bvh.hpp"

namespace tessera::bench {

namespace {
template <typename F>
double median_ms(Device& dev, int samples, F&& fn) {
  warm_up(dev, fn, 0.5, 20);
  std::vector<double> ms;
  for (int s = 0; s < samples; ++s) {
    dev.synchronize();
    auto t0 = std::chrono::steady_clock::now();
    fn();
    dev.synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
HostTensor host(const Tensor& t) { return {t.shape(), t.dtype(), t.to_double()}; }
}  // namespace

BvhResult bench_bvh(Device& dev, int64_t faces, int64_t points, int samples) {
  BvhResult r{dev.id(), dev.info().name, 0, points};
  std::mt19937_64 rng(uint64_t(faces) * 31 + uint64_t(points));
  // 2 nu (nv - 1) triangles with nu ~ 2 nv.
  const int nv = std::max(3, int(std::lround(std::sqrt(double(faces) / 4)))), nu = std::max(3, int(faces / (2 * (nv - 1))));
  ref::Mesh m = ref::mesh_sphere(rng, nu, nv);
  r.faces = int64_t(m.f.size() / 3);
  std::vector<float> pts(size_t(3 * points));
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0.9, 1.1);
  for (int64_t i = 0; i < points; ++i) {
    double x = g(rng), y = g(rng), z = g(rng), n = std::sqrt(x * x + y * y + z * z) + 1e-30, s = u(rng) / n;
    pts[size_t(3 * i)] = float(x * s), pts[size_t(3 * i + 1)] = float(y * s), pts[size_t(3 * i + 2)] = float(z * s);
  }
  Tensor v = Tensor::from_vector(m.v, {int64_t(m.v.size() / 3), 3}, DType::f32, dev);
  Tensor f = Tensor::from_vector(m.f, {r.faces, 3}, DType::i32, dev);
  Tensor p = Tensor::from_vector(pts, {points, 3}, DType::f32, dev);
  ops::Bvh b = ops::bvh_build(v, f);  // warm-up (kernel compilation)
  r.build_ms = median_ms(dev, samples, [&] { b = ops::bvh_build(v, f); });
  r.depth = b.depth.to_vector<int32_t>()[0];
  ops::BvhClosest q = ops::bvh_query(v, f, b, p);
  r.query_ms = median_ms(dev, samples, [&] { q = ops::bvh_query(v, f, b, p); });
  r.mqueries_per_s = double(points) / (r.query_ms * 1e3);
  // 32 sampled queries against brute force (float64).
  std::vector<int64_t> rows;
  std::uniform_int_distribution<int64_t> pick(0, points - 1);
  for (int i = 0; i < 32; ++i) rows.push_back(pick(rng));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  Attrs at;
  at.set("__rows", rows);
  std::vector<HostTensor> in{host(v), host(f), host(b.boxes), host(b.nodes), host(b.depth), host(p)};
  std::vector<HostTensor> ref{{{points}, DType::i32, std::vector<double>(size_t(points))},
                              {{points, 3}, DType::f32, std::vector<double>(size_t(3 * points))},
                              {{points, 3}, DType::f32, std::vector<double>(size_t(3 * points))},
                              {{points}, DType::f32, std::vector<double>(size_t(points))}};
  ref::bvh_query(in, ref, at);
  std::string why = ref::bvh_query_check(in, {host(q.face), host(q.point), host(q.bary), host(q.distance)}, ref, at);
  r.check = why.empty() ? "ok" : why;
  return r;
}

void print_bvh_table(const std::vector<BvhResult>& rs, bool header) {
  if (header)
    std::printf("%-10s %-32s %9s %9s %5s %10s %10s %9s  %s\n", "device", "name", "faces", "points", "depth", "build_ms",
                "query_ms", "Mq/s", "check");
  for (auto& r : rs)
    std::printf("%-10s %-32.32s %9ld %9ld %5d %10.2f %10.2f %9.2f  %s\n", r.device.c_str(), r.device_name.c_str(),
                r.faces, r.points, r.depth, r.build_ms, r.query_ms, r.mqueries_per_s, r.check.c_str());
}

void write_bvh_csv(const std::vector<BvhResult>& rs, const std::string& path) {
  std::ofstream f(path);
  f << "device,name,faces,points,depth,build_ms,query_ms,mqueries_per_s,check\n";
  for (auto& r : rs)
    f << r.device << ",\"" << r.device_name << "\"," << r.faces << "," << r.points << "," << r.depth << ","
      << r.build_ms << "," << r.query_ms << "," << r.mqueries_per_s << ",\"" << r.check << "\"\n";
}

}  // namespace tessera::bench
