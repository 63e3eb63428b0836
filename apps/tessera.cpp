// tessera: command-line tool.
//   tessera devices                      every device of every backend
//   tessera ops                          the op x backend matrix, read from the registry
//   tessera check [--op NAME|all] [--backends LIST] [--scale]
//                                        parity of ops vs their float64 reference on each device
//   tessera bench gemm [--backends LIST] [--dtypes f32,f16] [--sizes 4096,MxNxK] [--csv FILE]
//   tessera bench bvh [--backends LIST] [--faces 1000000,8000000] [--points 10000000] [--csv FILE]
//   tessera bench sdpa [--backends LIST] [--dtypes f32,bf16] [--tokens 4096,16384] [--heads 12] [--head-dims 128]
//                      [--all-sizes]
//   tessera bench sparse-conv [--backends LIST] [--configs 256x128,512x64,512x128,1024x64] [--res R,..]
//                             [--channels C,..] [--orders planned,storage,none] [--dtypes f16] [--csv FILE]
//   tessera tune [NAME --backends LIST [--size N] [--fraction F]]
//                                        run a backend's parameter search (no NAME: list the tuners)
//   tessera make-checkpoint --model trellis2 --config tiny|released|PRESET.json -o DIR [--seed S] [--dtype f16|bf16|f32]
// LIST: comma-separated backends or devices (cpu, opencl, vulkan:0, vulkan:NVIDIA).
// Global: --fallback cpu (run ops a backend lacks on the CPU, logged once per op).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bvh_bench.hpp"
#include "bench/gemm_bench.hpp"
#include "bench/raster_bench.hpp"
#include "bench/sdpa_bench.hpp"
#include "bench/sparse_conv_bench.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "core/tuner.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "ops/parity.hpp"
#include "apps/cli.hpp"

using namespace tessera;

namespace {

using namespace tessera::cli;

std::string gib(uint64_t b) { return fmt::format("{:.1f} GiB", b / 1073741824.0); }

int cmd_devices() {
  for (auto* b : BackendRegistry::get().backends()) {
    auto devs = b->devices();
    if (devs.empty()) {
      std::printf("%-10s (no device: %s)\n", b->name().c_str(), b->unavailable_reason().c_str());
      continue;
    }
    for (auto* d : devs) {
      auto& i = d->info();
      std::printf("%-10s %s%s\n", d->id().c_str(), i.name.c_str(), i.software ? "  [software]" : "");
      std::printf("           driver: %s | api: %s | vendor: %s\n", i.driver.c_str(), i.api.c_str(), i.vendor.c_str());
      std::printf("           memory: %s (max alloc %s) | compute units: %u | subgroup: %u\n",
                  gib(i.memory_bytes).c_str(), gib(i.max_alloc_bytes).c_str(), i.compute_units, i.subgroup_size);
      std::printf("           fp16: %s | bf16: %s | int64: %s | int64 atomics: %s | coopmat: %s | coopmat2: %s\n",
                  i.fp16 ? "yes" : "no", i.bf16 ? "yes" : "no", i.int64 ? "yes" : "no", i.int64_atomics ? "yes" : "no",
                  i.coopmat ? "yes" : "no", i.coopmat2 ? "yes" : "no");
      if (!i.notes.empty()) std::printf("           notes: %s\n", i.notes.c_str());
    }
  }
  return 0;
}

int cmd_ops() {
  auto& reg = OpRegistry::get();
  auto backends = BackendRegistry::get().backends();
  int w = 16;
  for (auto& op : reg.op_names()) w = std::max(w, int(op.size()));
  std::printf("%-*s", w, "op");
  for (auto* b : backends) std::printf(" %-8s", b->name().c_str());
  std::printf(" summary\n");
  for (auto& op : reg.op_names()) {
    std::printf("%-*s", w, op.c_str());
    for (auto* b : backends) std::printf(" %-8s", reg.has_kernel(op, b->name()) ? "yes" : "-");
    std::printf(" %s\n", reg.op(op).summary.c_str());
  }
  return 0;
}

int cmd_check(const Args& a) {
  auto devs = select_devices(a.get("backends"));
  auto& reg = OpRegistry::get();
  std::string which = a.get("op", "all");
  std::vector<std::string> ops = which == "all" ? reg.op_names() : split(which);
  for (auto& o : ops)
    if (!reg.has_op(o)) throw UsageError(fmt::format("unknown op '{}'; see `tessera ops`", o));
  int failed = 0, passed = 0, declined = 0;
  std::printf("%-10s %-12s %-28s %-10s %-10s %s\n", "device", "op", "case", "nmse", "tol", "result");
  for (auto* d : devs)
    for (auto& o : ops) {
      if (!reg.has_kernel(o, d->backend())) continue;
      for (auto& c : reg.op(o).cases()) {
        if (c.scale != a.flag("scale")) continue;
        auto r = run_parity_case(*d, reg.op(o), c, parity_seed(o, c.label, 20261122));
        if (!r.supported) {
          declined++;
          continue;
        }
        (r.passed ? passed : failed)++;
        std::printf("%-10s %-12s %-28s %-10.3g %-10.1g %s\n", d->id().c_str(), o.c_str(), c.label.c_str(), r.nmse,
                    r.tolerance, r.passed ? "ok" : ("FAIL " + r.message).c_str());
      }
    }
  std::printf("%d passed, %d failed, %d declined by supports()\n", passed, failed, declined);
  return failed ? 1 : 0;
}

std::vector<DType> parse_dtypes(const std::string& list) {
  std::vector<DType> dtypes;
  for (auto& s : split(list)) {
    try {
      dtypes.push_back(dtype_from_name(s));
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  return dtypes;
}

std::vector<int64_t> parse_ints(const std::string& list) {
  std::vector<int64_t> out;
  for (auto& s : split(list)) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!end || *end || v <= 0) throw UsageError(fmt::format("bad number '{}'", s));
    out.push_back(v);
  }
  return out;
}

int cmd_bench_sdpa(const Args& a) {
  auto devs = select_devices(a.get("backends"));
  auto dtypes = parse_dtypes(a.get("dtypes", "f32,bf16"));
  auto tokens = parse_ints(a.get("tokens", "4096,16384"));
  auto heads = parse_ints(a.get("heads", "12"));
  auto dims = parse_ints(a.get("head-dims", "128"));
  std::vector<bench::SdpaResult> rs;
  for (auto* d : devs)
    for (auto t : dtypes)
      for (auto h : heads)
        for (auto hd : dims)
          for (auto n : tokens) {
            if ((d->backend() == "cpu" || d->info().software) && n * n * h > (int64_t(8192) * 8192 * 2) &&
                !a.flag("all-sizes")) {
              std::fprintf(stderr, "skip N=%ld heads=%ld on %s (too slow for a CPU device; --all-sizes runs it)\n", n, h,
                           d->id().c_str());
              continue;
            }
            try {
              rs.push_back(bench::bench_sdpa(*d, t, n, h, hd));
              bench::print_sdpa_table({rs.back()}, rs.size() == 1);
              std::fflush(stdout);
            } catch (const Error& e) {
              std::fprintf(stderr, "%s %s N=%ld: %s\n", d->id().c_str(), dtype_name(t), n, e.what());
            }
          }
  std::printf("\nsummary\n");
  bench::print_sdpa_table(rs);
  if (a.flag("csv")) bench::write_sdpa_csv(rs, a.get("csv"));
  return 0;
}

// tessera bench sparse-conv: sphere shells (res x channels configs; --res/--channels give their product).
int cmd_bench_sparse_conv(const Args& a) {
  auto devs = select_devices(a.get("backends"));
  auto dtypes = parse_dtypes(a.get("dtypes", "f16"));
  std::vector<std::pair<int64_t, int64_t>> cfg;
  if (a.flag("res") || a.flag("channels")) {
    for (auto r : parse_ints(a.get("res", "256")))
      for (auto c : parse_ints(a.get("channels", "64"))) cfg.push_back({r, c});
  } else {
    std::stringstream ss(a.get("configs", "256x128,512x64,512x128,1024x64"));
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto x = item.find('x');
      if (x == std::string::npos) throw UsageError(fmt::format("bad config '{}' (RESxC)", item));
      cfg.push_back({parse_ints(item.substr(0, x))[0], parse_ints(item.substr(x + 1))[0]});
    }
  }
  std::vector<std::string> orders;
  {
    std::stringstream ss(a.get("orders", "planned"));
    std::string o;
    while (std::getline(ss, o, ',')) {
      if (o != "planned" && o != "storage" && o != "none") throw UsageError("--orders: planned, storage or none");
      orders.push_back(o);
    }
  }
  std::vector<bench::SparseConvResult> rs;
  for (auto* d : devs)
    for (auto t : dtypes)
      for (auto [res, c] : cfg)
        for (auto& o : orders) {
          if ((d->backend() == "cpu" || d->info().software) && res > 256) {
            std::fprintf(stderr, "skip res %ld on %s (too slow for a CPU device)\n", res, d->id().c_str());
            continue;
          }
          try {
            rs.push_back(bench::bench_sparse_conv(*d, t, res, c, o));
            bench::print_sparse_conv_table({rs.back()}, rs.size() == 1);
            std::fflush(stdout);
          } catch (const Error& e) {
            std::fprintf(stderr, "%s %s res %ld C %ld: %s\n", d->id().c_str(), dtype_name(t), res, c, e.what());
          }
        }
  std::printf("\nsummary\n");
  bench::print_sparse_conv_table(rs);
  if (a.flag("csv")) bench::write_sparse_conv_csv(rs, a.get("csv"));
  return 0;
}

// tessera bench raster [--backends LIST] [--sizes 1024,4096] [--triangles 1000000] [--tri-px 8]
int cmd_bench_raster(const Args& a) {
  auto devs = select_devices(a.get("backends"));
  auto sizes = parse_ints(a.get("sizes", "1024,4096"));
  auto tris = parse_ints(a.get("triangles", "1000000"));
  const double tri_px = std::stod(a.get("tri-px", "8"));
  std::vector<bench::RasterResult> rs;
  for (auto* d : devs)
    for (auto n : sizes)
      for (auto f : tris) {
        try {
          rs.push_back(bench::bench_raster(*d, n, f, tri_px));
          bench::print_raster_table({rs.back()}, rs.size() == 1);
          std::fflush(stdout);
        } catch (const Error& e) {
          std::fprintf(stderr, "%s %ld^2 %ld triangles: %s\n", d->id().c_str(), long(n), long(f), e.what());
        }
      }
  std::printf("\nsummary\n");
  bench::print_raster_table(rs);
  return 0;
}

int cmd_bench_bvh(const Args& a) {
  auto devs = select_devices(a.get("backends"));
  auto faces = parse_ints(a.get("faces", "1000000,8000000"));
  auto points = parse_ints(a.get("points", "10000000"));
  std::vector<bench::BvhResult> rs;
  for (auto* d : devs)
    for (auto np : points)
      for (auto nf : faces) {
        try {
          rs.push_back(bench::bench_bvh(*d, nf, np));
          bench::print_bvh_table({rs.back()}, rs.size() == 1);
          std::fflush(stdout);
        } catch (const Error& e) {
          std::fprintf(stderr, "%s faces=%ld points=%ld: %s\n", d->id().c_str(), nf, np, e.what());
        }
      }
  std::printf("\nsummary\n");
  bench::print_bvh_table(rs);
  if (a.flag("csv")) bench::write_bvh_csv(rs, a.get("csv"));
  return 0;
}

int cmd_bench(const Args& a) {
  if (a.pos.size() >= 2 && a.pos[1] == "raster") return cmd_bench_raster(a);
  if (a.pos.size() >= 2 && a.pos[1] == "sdpa") return cmd_bench_sdpa(a);
  if (a.pos.size() >= 2 && a.pos[1] == "bvh") return cmd_bench_bvh(a);
  if (a.pos.size() >= 2 && a.pos[1] == "sparse-conv") return cmd_bench_sparse_conv(a);
  if (a.pos.size() < 2 || a.pos[1] != "gemm")
    throw UsageError("usage: tessera bench gemm|sdpa|bvh|raster|sparse-conv [--backends LIST] ... (see tessera --help)");
  auto devs = select_devices(a.get("backends"));
  auto dtypes = parse_dtypes(a.get("dtypes", "f32,f16"));
  std::vector<bench::GemmShape> shapes;
  for (auto& s : split(a.get("sizes", "1024,4096"))) {
    int64_t m, n, k;
    if (std::sscanf(s.c_str(), "%ldx%ldx%ld", &m, &n, &k) == 3) shapes.push_back({m, n, k});
    else if (std::sscanf(s.c_str(), "%ld", &m) == 1) shapes.push_back({m, m, m});
    else throw UsageError(fmt::format("bad size '{}'; use N or MxNxK", s));
  }
  std::vector<bench::GemmResult> rs;
  for (auto* d : devs)
    for (auto t : dtypes)
      for (auto s : shapes) {
        if ((d->backend() == "cpu" || d->info().software) && s.m * s.n * s.k > (int64_t(2048) << 22)) {
          std::fprintf(stderr, "skip %s %ldx%ldx%ld on %s (too slow for a CPU device; pass smaller --sizes)\n",
                       dtype_name(t), s.m, s.n, s.k, d->id().c_str());
          continue;
        }
        try {
          rs.push_back(bench::bench_gemm(*d, t, s));
          bench::print_gemm_table({rs.back()}, rs.size() == 1);
          std::fflush(stdout);
        } catch (const Error& e) {
          std::fprintf(stderr, "%s %s: %s\n", d->id().c_str(), dtype_name(t), e.what());
        }
      }
  std::printf("\nsummary\n");
  bench::print_gemm_table(rs);
  if (a.flag("csv")) bench::write_gemm_csv(rs, a.get("csv"));
  return 0;
}

// tessera tune: list the tuners, or run one on the named devices.
int cmd_tune(const Args& a) {
  if (a.pos.size() < 2) {
    for (auto& t : tuners()) std::printf("%-10s %-8s %s\n", t.name.c_str(), t.backend.c_str(), t.summary.c_str());
    return 0;
  }
  const TunerDef* def = nullptr;
  std::string names;
  for (auto& t : tuners()) {
    names += (names.empty() ? "" : ", ") + t.name;
    if (t.name == a.pos[1]) def = &t;
  }
  if (!def) throw UsageError(fmt::format("unknown tuner '{}'; valid: {}", a.pos[1], names.empty() ? "(none built)" : names));
  Attrs o;
  if (a.flag("size")) o.set("size", int64_t(std::stoll(a.get("size"))));
  if (a.flag("fraction")) o.set("fraction", std::stod(a.get("fraction")));
  auto devs = select_devices(a.get("backends", def->backend));
  for (auto* d : devs) {
    if (d->backend() != def->backend)
      throw UsageError(fmt::format("tuner '{}' tunes {} devices, not {}", def->name, def->backend, d->id()));
    std::printf("%s\n", def->run(*d, o).c_str());
  }
  return 0;
}

// --- make-checkpoint (models/trellis2/checkpoint.hpp) ---
int cmd_make_checkpoint(const Args& a) {
  const std::string model = a.get("model", "trellis2");
  if (model != "trellis2") throw UsageError(fmt::format("unknown --model '{}'; valid: trellis2", model));
  if (!a.flag("config")) throw UsageError("make-checkpoint needs --config tiny|released|PRESET.json");
  std::string dir = a.get("o", a.get("out"));
  if (dir.empty()) throw UsageError("make-checkpoint needs -o DIR");
  models::trellis2::MakeCheckpointOptions o;
  if (a.flag("seed")) {
    char* end = nullptr;
    const std::string s = a.get("seed");
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || !end || *end) throw UsageError(fmt::format("bad --seed '{}'", s));
    o.seed = v;
  }
  if (a.flag("dtype")) {
    const std::string d = a.get("dtype");
    if (d == "f16") o.dtype = DType::f16;
    else if (d == "bf16") o.dtype = DType::bf16;
    else if (d == "f32") o.dtype = DType::f32;
    else throw UsageError(fmt::format("bad --dtype '{}'; valid: f16, bf16, f32", d));
  }
  auto written = models::trellis2::make_checkpoint(a.get("config"), dir, o);
  int64_t total = 0;
  for (const auto& w : written) {
    std::printf("%-28s %12ld params  %s\n", w.role.c_str(), long(w.params), w.safetensors.c_str());
    total += w.params;
  }
  std::printf("wrote %s/pipeline.json and %zu models (%ld parameters)\n", dir.c_str(), written.size(), long(total));
  return 0;
}

void usage() {
  std::printf(
      "usage: tessera <command> [options]\n"
      "  devices                              list every device of every backend\n"
      "  ops                                  op x backend matrix from the registry\n"
      "  check [--op NAME|all] [--backends LIST] [--scale]\n"
      "                                       parity vs float64 references\n"
      "  bench gemm [--backends LIST] [--dtypes f32,f16] [--sizes 4096,MxNxK] [--csv FILE]\n"
      "  bench sdpa [--backends LIST] [--dtypes f32,bf16] [--tokens 4096,16384] [--heads 12]\n"
      "             [--head-dims 128] [--all-sizes] [--csv FILE]   (--all-sizes: no CPU size cap)\n"
      "  tune [NAME --backends LIST [--size N] [--fraction F]]\n"
      "                                       backend parameter search (no NAME: list tuners)\n"
      "  make-checkpoint --model trellis2 --config tiny|released|PRESET.json -o DIR [--seed S]\n"
      "             [--dtype f16|bf16|f32]   a model directory with seeded random weights\n"
      "  bench bvh [--backends LIST] [--faces 1000000,8000000] [--points 10000000] [--csv FILE]\n"
      "  bench sparse-conv [--backends LIST] [--configs 256x128,512x64,512x128,1024x64] [--res R,..]\n"
      "        [--channels C,..] [--orders planned,storage,none] [--dtypes f16] [--csv FILE]\n"
      "  bench raster [--backends LIST] [--sizes 1024,4096] [--triangles 1000000] [--tri-px 8]\n"
      "  generate --model trellis2 --weights DIR --image IMG [--resolution 512|1024|1536]\n"
      "             [--pipeline-type 512|1024|1024_cascade|1536_cascade] [--backend cpu|opencl|vulkan]\n"
      "             [--device N] [--seed S] [--steps N] [--precision auto|f32] [--max-tokens N]\n"
      "             [--dump DIR] [--quiet] [--structure sphere-shell] -o OUTDIR   image -> O-Voxel + mesh (PLY/OBJ)\n"
      "  compare DIR_A DIR_B [--tol NMSE]     stage-by-stage comparison of two --dump directories\n"
      "  compare --model trellis2 --weights DIR --image IMG --backends cpu,vulkan [generate options]\n"
      "                                       run on each backend and compare with the first\n"
      "  demo [--backends LIST] [--dir DIR] [--steps N]\n"
      "                                       the whole pipeline on a tiny generated checkpoint on\n"
      "                                       every backend, compared stage by stage with the CPU\n"
      "options: --fallback cpu   run ops a backend lacks on the CPU (logged once per op)\n"
      "env: TESSERA_LOG=trace|debug|info|warn|error  TESSERA_FALLBACK=cpu\n");
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.pos.empty() || a.flag("help")) {
    usage();
    return a.pos.empty() && !a.flag("help") ? 2 : 0;
  }
  try {
    if (a.flag("fallback")) {
      if (a.get("fallback") != "cpu" && a.get("fallback") != "none")
        throw UsageError(fmt::format("unknown fallback '{}'; valid: cpu, none", a.get("fallback")));
      OpRegistry::get().set_fallback(a.get("fallback") == "cpu" ? FallbackPolicy::cpu : FallbackPolicy::error);
    }
    const std::string& c = a.pos[0];
    if (c == "devices") return cmd_devices();
    if (c == "ops") return cmd_ops();
    if (c == "check") return cmd_check(a);
    if (c == "bench") return cmd_bench(a);
    if (c == "tune") return cmd_tune(a);
    if (c == "make-checkpoint") return cmd_make_checkpoint(a);
    if (c == "generate") return cmd_generate(a);
    if (c == "compare") return cmd_compare(a);
    if (c == "demo") return cmd_demo(a);
    throw UsageError(fmt::format(
        "unknown command '{}'; valid: devices, ops, check, bench, tune, make-checkpoint, generate, compare, demo", c));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "tessera: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "tessera: %s\n", e.what());
    return 1;
  }
}
