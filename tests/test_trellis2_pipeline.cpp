// The whole TRELLIS.2 pipeline (image -> DINOv3 -> sparse structure -> shape
// and texture latents -> decoders -> mesh) on the tiny generated checkpoint:
// on every tested backend, each stage boundary is compared with a CPU run of
// the same seed through the same dump/compare code `tessera compare` uses,
// with the tolerances of docs/numerics.md. A CPU run compared with a second
// CPU run must be bit-identical (determinism).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "models/common/stage_dump.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/pipeline.hpp"
#include "models/trellis2/pipeline_output.hpp"
#include "ops/sparse_test_data.hpp"
#include "test_env.hpp"

using namespace tessera;
using namespace tessera::models;
using namespace tessera::models::trellis2;
namespace fs = std::filesystem;

namespace {

const std::string& tmp_root() {
  static const std::string d = [] {
    std::string r = ::testing::TempDir() + "tessera_trellis2_pipe_" + std::to_string(::getpid());
    fs::remove_all(r);
    fs::create_directories(r);
    MakeCheckpointOptions o;
    o.seed = 21;
    make_checkpoint("tiny", r + "/ckpt", o);
    return r;
  }();
  return d;
}

// A small sparse structure (a shell of radius 3 voxels at the 32^3 stage
// grid, ~100 voxels) for the cascade, whose HR stage multiplies the tokens.
std::vector<int32_t> small_shell() { return sparse_test::sphere_shell(32, 3.0, 0.5); }

GenerateOptions options(const std::string& type) {
  GenerateOptions o;
  if (type != "512") o.structure_override = small_shell();
  o.pipeline_type = type;
  o.seed = 7;
  o.steps = type == "512" ? 4 : 2;  // every stage and both CFG branches, at CI cost
  // f32 torsos: the pipeline's discrete steps (occupancy logits > 0,
  // subdivision logits > 0) flip on near-zero values under bf16/f16 rounding
  // differences between backends, after which stages differ in shape. The
  // checkpoint dtypes are exercised by BrainFloatStagesBeforeTheFirstDecision.
  o.precision = DType::f32;
  return o;
}

struct RunResult {
  Trellis2Output out;
  std::vector<std::string> stages;
  std::string dump;
};

RunResult run_on(Device& dev, const std::string& type, const std::string& tag, const GenerateOptions* opt = nullptr) {
  RunResult r;
  r.dump = tmp_root() + "/dump_" + type + "_" + tag;
  StageDumpWriter w(r.dump, dev.id());
  Trellis2ImageTo3D pipe(tmp_root() + "/ckpt", dev);
  int steps_seen = 0;
  r.out = pipe.run(
      demo_image(160), opt ? *opt : options(type),
      [&](const ProgressEvent& e) {
        if (e.steps > 0) ++steps_seen;
      },
      [&](const std::string& s, const StageTensors& t, double sec) {
        r.stages.push_back(s);
        w.write(s, t, sec);
      });
  EXPECT_GT(steps_seen, 0);
  return r;
}

// The CPU reference run per pipeline type, computed once per process.
const RunResult& cpu_reference(const std::string& type) {
  static std::map<std::string, RunResult> cache;
  auto it = cache.find(type);
  if (it == cache.end()) it = cache.emplace(type, run_on(BackendRegistry::get().device("cpu"), type, "ref")).first;
  return it->second;
}

void check_output(const Trellis2Output& o, int64_t resolution) {
  EXPECT_EQ(o.resolution, resolution);
  const int64_t n = o.voxel_coords.dim(0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(o.pbr.dim(0), n);
  EXPECT_EQ(o.pbr.dim(1), 6);
  for (double v : o.pbr.to_double()) {
    ASSERT_TRUE(std::isfinite(v));
  }
  for (int32_t c : o.voxel_coords.to_vector<int32_t>()) {
    ASSERT_GE(c, 0);
    ASSERT_LT(c, resolution);
  }
  for (double v : o.vertices.to_double()) {
    ASSERT_GE(v, -0.5 - 1e-6);  // (1 + 2m) sigmoid - m with m = 0.5
    ASSERT_LE(v, 1.5 + 1e-6);
  }
  const size_t nv = o.mesh_positions.size() / 3;
  for (int32_t f : o.mesh_faces) {
    ASSERT_GE(f, 0);
    ASSERT_LT(size_t(f), nv);
  }
  // Dual vertices may sit up to the voxel margin (0.5 voxel) outside the grid's box.
  const float bound = 0.5f + 0.5f / float(resolution) + 1e-5f;
  for (float p : o.mesh_positions) {
    ASSERT_GE(p, -bound);
    ASSERT_LE(p, bound);
  }
}

void check_type(const std::string& type, const std::vector<std::string>& want_stages, int64_t resolution) {
  const RunResult& ref = cpu_reference(type);
  EXPECT_EQ(ref.stages, want_stages);
  check_output(ref.out, resolution);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    RunResult got = run_on(*dev, type, dev->backend() + std::to_string(dev->index()));
    EXPECT_EQ(got.stages, want_stages);
    check_output(got.out, resolution);
    StageTolerance tol = default_stage_tolerance();
    if (dev->backend() == "cpu") tol.default_nmse = 0, tol.per_stage.clear();  // same device: bit-identical
    DumpComparison c = compare_dumps(got.dump, ref.dump, tol);
    std::printf("[ pipeline %s ] %s vs cpu:0\n%s", type.c_str(), dev->id().c_str(), format_comparison(c).c_str());
    EXPECT_TRUE(c.pass()) << "first stage past tolerance: " << c.first_failing_stage;
    EXPECT_FALSE(c.rows.empty());
  }
}

}  // namespace

TEST(RuntimeTrellis2Pipeline, Tiny512StagesMatchTheCpu) {
  // Tiny: stage grid 32, decoder factor F = 4 -> O-Voxel 128^3.
  check_type("512",
             {"image", "cond_512", "ss_latent", "sparse_structure", "shape_slat", "tex_slat", "shape_decoded",
              "tex_decoded", "mesh"},
             128);
}

TEST(RuntimeTrellis2Pipeline, TinyCascadeStagesMatchTheCpu) {
  // 1024_cascade: LR at 32 * 4 = 128, HR target 1024 * 4 / 16 = 256.
  check_type("1024_cascade",
             {"image", "cond_512", "cond_1024", "ss_latent", "sparse_structure", "shape_slat_lr", "hr_coords",
              "shape_slat", "tex_slat", "shape_decoded", "tex_decoded", "mesh"},
             256);
}

TEST(RuntimeTrellis2Pipeline, BrainFloatStagesBeforeTheFirstDecision) {
  // The checkpoints' own dtypes (bf16 flows, f16 decoders): every continuous
  // stage up to the occupancy logits matches the CPU within tolerance; the
  // coordinates after the > 0 threshold may differ by a few near-zero cells.
  GenerateOptions o = options("512");
  o.precision.reset();
  o.steps = 2;
  static const RunResult ref = run_on(BackendRegistry::get().device("cpu"), "512", "bf16ref", &o);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    RunResult got = run_on(*dev, "512", "bf16_" + dev->backend() + std::to_string(dev->index()), &o);
    DumpComparison c = compare_dumps(got.dump, ref.dump, default_stage_tolerance());
    int checked = 0;
    for (const TensorDiff& d : c.rows) {
      if (d.stage == "cond_512" || d.stage == "ss_latent" || (d.stage == "sparse_structure" && d.tensor == "logits")) {
        EXPECT_TRUE(d.pass) << d.stage << "." << d.tensor << " nmse " << d.nmse;
        ++checked;
      }
      if (d.stage == "sparse_structure" && d.tensor == "coords")
        std::printf("[ pipeline bf16 ] %s: structure %s vs %s (%s)\n", dev->id().c_str(), d.shape_a.c_str(),
                    d.shape_b.c_str(), d.pass ? "identical" : "differs");
    }
    EXPECT_EQ(checked, 3);
  }
}

TEST(Trellis2Pipeline, BadInputsAreClearErrors) {
  Device& cpu = BackendRegistry::get().device("cpu");
  EXPECT_THROW(Trellis2ImageTo3D(tmp_root() + "/no-such-dir", cpu), Error);
  Trellis2ImageTo3D pipe(tmp_root() + "/ckpt", cpu);
  GenerateOptions o = options("2048");
  try {
    pipe.run(demo_image(64), o);
    FAIL() << "no error for pipeline type 2048";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2048"), std::string::npos) << e.what();
  }
  // '1024' needs a 64^3 sparse structure; the tiny decoder makes 32^3.
  o = options("1024");
  try {
    pipe.run(demo_image(64), o);
    FAIL() << "no error for a structure grid larger than the decoder's";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("64^3"), std::string::npos) << e.what();
  }
  // A structure override outside the stage grid.
  o = options("512");
  o.structure_override = {0, 1, 2, 40};
  EXPECT_THROW(pipe.run(demo_image(64), o), Error);
  EXPECT_THROW(pipeline_type_for_resolution(768), Error);
  EXPECT_EQ(pipeline_type_for_resolution(1024), "1024_cascade");
}

TEST(Trellis2Pipeline, StructureOverrideIsUsed) {
  Device& cpu = BackendRegistry::get().device("cpu");
  Trellis2ImageTo3D pipe(tmp_root() + "/ckpt", cpu);
  GenerateOptions o = options("512");
  o.steps = 1;
  o.structure_override = sphere_shell_structure(32);
  const int64_t n = int64_t(o.structure_override.size() / 4);
  EXPECT_GT(n, 32 * 32 * 32 / 25);  // ~6% occupancy
  EXPECT_LT(n, 32 * 32 * 32 / 10);
  Trellis2Output out = pipe.run(demo_image(64), o);
  EXPECT_EQ(out.shape_slat.num_voxels(), n);
}

TEST(Trellis2Pipeline, CompareNamesTheFirstDivergingStage) {
  // Two dumps that differ in one stage: compare must name it.
  Device& cpu = BackendRegistry::get().device("cpu");
  const std::string a = tmp_root() + "/cmp_a", b = tmp_root() + "/cmp_b";
  StageDumpWriter wa(a, "cpu:0"), wb(b, "cpu:0");
  std::vector<float> x = {1, 2, 3, 4}, y = {1, 2, 3, 4.5f};
  std::vector<int32_t> c = {0, 1, 2, 3}, d = {0, 1, 2, 4};
  Tensor tx = Tensor::from_vector(x, {4}, DType::f32, cpu), ty = Tensor::from_vector(y, {4}, DType::f32, cpu);
  Tensor tc = Tensor::from_vector(c, {4}, DType::i32, cpu), td = Tensor::from_vector(d, {4}, DType::i32, cpu);
  wa.write("first", {{"x", tx}}, 0);
  wb.write("first", {{"x", tx}}, 0);
  wa.write("second", {{"c", tc}, {"x", tx}}, 0);
  wb.write("second", {{"c", td}, {"x", ty}}, 0);
  DumpComparison r = compare_dumps(a, b, StageTolerance{});
  EXPECT_FALSE(r.pass());
  EXPECT_EQ(r.first_failing_stage, "second");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.rows[0].pass);
  EXPECT_EQ(r.rows[1].mismatches, 1);
  EXPECT_NEAR(r.rows[2].nmse, 0.25 / 34.25, 1e-9);  // B is the reference: sum b^2 = 34.25
  EXPECT_THROW(compare_dumps(a, tmp_root() + "/nothing-here", StageTolerance{}), Error);
}
