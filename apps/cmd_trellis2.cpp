// tessera generate / compare / demo: the TRELLIS.2 pipeline from the command line.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "apps/cli.hpp"
#include "core/image.hpp"
#include "core/op_registry.hpp"
#include "models/common/stage_dump.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/pipeline.hpp"
#include "models/trellis2/pipeline_output.hpp"

namespace fs = std::filesystem;
using namespace tessera::models::trellis2;

namespace tessera::cli {

namespace {

void require_model(const Args& a) {
  const std::string m = a.get("model", "trellis2");
  if (m != "trellis2") throw UsageError(fmt::format("unknown --model '{}'; valid: trellis2", m));
}

// The generate options shared by generate, compare and demo; the defaults of
// --pipeline-type and --precision differ per command.
GenerateOptions generate_options(const Args& a, const std::string& default_type = "",
                                 const std::string& default_precision = "auto") {
  GenerateOptions o;
  o.pipeline_type = default_type;
  if (a.flag("pipeline-type")) o.pipeline_type = a.get("pipeline-type");
  else if (a.flag("resolution")) {
    try {
      o.pipeline_type = pipeline_type_for_resolution(int(a.get_int("resolution", 1024)));
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  o.seed = uint64_t(a.get_int("seed", 42));
  o.steps = int(a.get_int("steps", 0));
  if (o.steps < 0) throw UsageError("--steps must be >= 0");
  o.max_num_tokens = a.get_int("max-tokens", 49152);
  const std::string prec = a.get("precision", default_precision);
  if (prec == "f32") o.precision = DType::f32;
  else if (prec != "auto") throw UsageError(fmt::format("bad --precision '{}'; valid: auto (the checkpoints' dtypes), f32", prec));
  o.preprocess = !a.flag("no-preprocess");
  if (a.flag("structure")) {
    // Benchmarks: a synthetic sparse structure instead of the SS decoder's
    // (random weights give no realistic shape).
    if (a.get("structure") != "sphere-shell")
      throw UsageError(fmt::format("bad --structure '{}'; valid: sphere-shell", a.get("structure")));
    const std::string t = o.pipeline_type.empty() ? "1024_cascade" : o.pipeline_type;
    o.structure_override = sphere_shell_structure(t == "1024" ? 64 : 32);
  }
  return o;
}

Device& pick_device(const Args& a) {
  std::string name = a.get("backend", "");
  if (name.empty()) {
    // The first GPU-API device that is not a software one, else the CPU.
    for (Device* d : select_devices(""))
      if (d->backend() != "cpu" && !d->info().software) return *d;
    return *select_devices("cpu").at(0);
  }
  if (a.flag("device") && name.find(':') == std::string::npos) name += ":" + a.get("device");
  auto devs = select_devices(name);
  if (devs.empty()) throw UsageError(fmt::format("--backend {}: no device", name));
  return *devs[0];
}

// Progress: one line per stage and per sampling step on stderr.
ProgressFn progress_printer(bool quiet, const std::string& tag) {
  if (quiet) return nullptr;
  auto t0 = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [t0, tag](const ProgressEvent& e) {
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - *t0).count();
    if (e.done)
      std::fprintf(stderr, "[%s %7.1fs] %-16s done in %.2fs\n", tag.c_str(), total, e.stage.c_str(), e.stage_elapsed_s);
    else if (e.steps > 0)
      std::fprintf(stderr, "[%s %7.1fs] %-16s step %d/%d  elapsed %.1fs  eta %.1fs\n", tag.c_str(), total,
                   e.stage.c_str(), e.step, e.steps, e.stage_elapsed_s, e.eta_s);
    else
      std::fprintf(stderr, "[%s %7.1fs] %-16s ...\n", tag.c_str(), total, e.stage.c_str());
  };
}

Trellis2Output run_one(const std::string& weights, const Image& img, Device& dev, const GenerateOptions& o,
                       const std::string& dump_dir, bool quiet) {
  Trellis2ImageTo3D pipe(weights, dev);
  std::unique_ptr<models::StageDumpWriter> w;
  DumpFn dump;
  if (!dump_dir.empty()) {
    w = std::make_unique<models::StageDumpWriter>(dump_dir, dev.id());
    dump = [&](const std::string& stage, const StageTensors& t, double seconds) { w->write(stage, t, seconds); };
  }
  return pipe.run(img, o, progress_printer(quiet, dev.id()), dump);
}

void print_timings(const Trellis2Output& out, const std::string& dev) {
  std::printf("%s: pipeline %s, O-Voxel %ld^3, %ld voxels, mesh %zu vertices / %zu faces\n", dev.c_str(),
              out.pipeline_type.c_str(), long(out.resolution), long(out.voxel_coords.dim(0)),
              out.mesh_positions.size() / 3, out.mesh_faces.size() / 3);
  double total = 0;
  for (const auto& t : out.timings) {
    std::printf("  %-16s %9.3f s  peak %8.1f MiB\n", t.stage.c_str(), t.seconds, t.peak_bytes / 1048576.0);
    total += t.seconds;
  }
  std::printf("  %-16s %9.3f s\n", "total", total);
}

// Runs the pipeline on every device (dumps under root/dump_<backend>_<index>;
// with out_root, outputs under out_root/out_<backend>), then compares each
// device's dump with the first's. True when every comparison passes.
bool run_and_compare(const std::string& weights, const Image& img, const std::vector<Device*>& devs,
                     const GenerateOptions& o, const models::StageTolerance& tol, const std::string& root,
                     const std::string& out_root, bool quiet) {
  std::vector<std::string> dumps;
  for (Device* d : devs) {
    const std::string dump = root + "/dump_" + d->backend() + "_" + std::to_string(d->index());
    std::printf("\n== %s (%s)\n", d->id().c_str(), d->info().name.c_str());
    Trellis2Output out = run_one(weights, img, *d, o, dump, quiet);
    print_timings(out, d->id());
    if (!out_root.empty())
      for (const auto& f : write_pipeline_outputs(out, out_root + "/out_" + d->backend()))
        std::printf("  wrote %s\n", f.c_str());
    dumps.push_back(dump);
  }
  bool ok = true;
  for (size_t i = 1; i < dumps.size(); ++i) {
    auto c = models::compare_dumps(dumps[i], dumps[0], tol);
    std::printf("\n== stage-by-stage: %s vs %s\n%s", devs[i]->id().c_str(), devs[0]->id().c_str(),
                models::format_comparison(c).c_str());
    ok = ok && c.pass();
  }
  return ok;
}

Image read_input(const Args& a) {
  if (!a.flag("image")) throw UsageError("needs --image IMG (PNG, JPEG or WebP; RGBA cut-outs work best)");
  return load_image(a.get("image"));
}

}  // namespace

int cmd_generate(const Args& a) {
  require_model(a);
  if (!a.flag("weights")) throw UsageError("generate needs --weights DIR (a TRELLIS.2 model directory with pipeline.json)");
  const std::string out_dir = a.get("o", a.get("out"));
  if (out_dir.empty()) throw UsageError("generate needs -o OUTDIR");
  GenerateOptions o = generate_options(a);
  Image img = read_input(a);
  Device& dev = pick_device(a);
  Trellis2Output out = run_one(a.get("weights"), img, dev, o, a.get("dump", ""), a.flag("quiet"));
  std::vector<std::string> files = write_pipeline_outputs(out, out_dir);
  if (!a.flag("quiet")) print_timings(out, dev.id());
  for (const auto& f : files) std::printf("wrote %s\n", f.c_str());
  return 0;
}

int cmd_compare(const Args& a) {
  models::StageTolerance tol;
  if (a.flag("tol")) {
    char* end = nullptr;
    tol.default_nmse = std::strtod(a.get("tol").c_str(), &end);
    if (!end || *end || !(tol.default_nmse >= 0)) throw UsageError(fmt::format("bad --tol '{}'", a.get("tol")));
  } else {
    tol = default_stage_tolerance();
  }
  if (a.pos.size() == 3) {  // compare DIR_A DIR_B
    auto c = models::compare_dumps(a.pos[1], a.pos[2], tol);
    std::printf("%s", models::format_comparison(c).c_str());
    return c.pass() ? 0 : 1;
  }
  if (a.pos.size() != 1) throw UsageError("usage: compare DIR_A DIR_B | compare --model trellis2 --weights DIR --image IMG --backends A,B");
  require_model(a);
  if (!a.flag("weights")) throw UsageError("compare --model trellis2 needs --weights DIR");
  auto devs = select_devices(a.get("backends", "cpu,vulkan"));
  if (devs.size() < 2) throw UsageError("compare needs at least two devices in --backends");
  GenerateOptions o = generate_options(a);
  Image img = read_input(a);
  const std::string root = a.get("dump-root", (fs::temp_directory_path() / "tessera-compare").string());
  return run_and_compare(a.get("weights"), img, devs, o, tol, root, "", a.flag("quiet")) ? 0 : 1;
}

int cmd_demo(const Args& a) {
  const std::string dir = a.get("dir", (fs::temp_directory_path() / "tessera-demo").string());
  // f32 by default: with the checkpoints' bf16/f16 torsos, a near-zero
  // occupancy or subdivision logit can fall on either side of 0 on two
  // backends, and every later stage then differs in shape (compare names it).
  GenerateOptions o = generate_options(a, "512", "f32");
  // One device per backend by default (the first of each).
  std::vector<Device*> devs;
  if (a.flag("backends")) {
    devs = select_devices(a.get("backends"));
  } else {
    for (Backend* b : BackendRegistry::get().backends()) {
      auto d = b->devices();
      if (!d.empty()) devs.push_back(d[0]);
    }
  }
  if (devs.empty()) throw UsageError("demo: no device");
  const std::string ckpt = dir + "/trellis2-tiny";
  std::printf("writing a tiny TRELLIS.2 checkpoint (official layout, seeded random weights) to %s\n", ckpt.c_str());
  make_checkpoint("tiny", ckpt, {});
  const std::string image_path = dir + "/input.png";
  save_png(demo_image(256), image_path);
  const bool ok = run_and_compare(ckpt, load_image(image_path), devs, o, default_stage_tolerance(), dir, dir,
                                  a.flag("quiet"));
  std::printf(
      "\nWith the real weights (after accepting the DINOv3 licence on Hugging Face):\n"
      "  huggingface-cli download microsoft/TRELLIS.2-4B --local-dir TRELLIS.2-4B\n"
      "  huggingface-cli download microsoft/TRELLIS-image-large --local-dir TRELLIS-image-large\n"
      "  huggingface-cli download facebook/dinov3-vitl16-pretrain-lvd1689m \\\n"
      "      --local-dir TRELLIS.2-4B/facebook/dinov3-vitl16-pretrain-lvd1689m\n"
      "  tessera generate --model trellis2 --weights TRELLIS.2-4B --image in.png --resolution 1024 \\\n"
      "      --backend vulkan -o out\n"
      "(docs/models/trellis2.md; docs/checkpoints.md explains where each file is looked up.)\n");
  return ok ? 0 : 1;
}

}  // namespace tessera::cli
