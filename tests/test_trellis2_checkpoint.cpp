// `tessera make-checkpoint` output: a complete tiny TRELLIS.2 directory that
// every module tree loads on every tested backend, and the all-or-nothing
// loader errors for a truncated / renamed / reshaped tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/safetensors.hpp"
#include "models/common/config.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "test_env.hpp"

using namespace tessera;
using namespace tessera::models;
using namespace tessera::models::trellis2;
namespace fs = std::filesystem;

namespace {

const std::string& tiny_dir() {
  static const std::string dir = [] {
    std::string d = ::testing::TempDir() + "tessera_trellis2_tiny_" + std::to_string(::getpid());
    fs::remove_all(d);
    MakeCheckpointOptions o;
    o.seed = 11;
    make_checkpoint("tiny", d, o);
    return d;
  }();
  return dir;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no error";
  return "";
}

// Rewrite `src` into `dst` with `edit` applied to its tensor list.
void rewrite(const std::string& src, const std::string& dst,
             const std::function<void(std::vector<SafetensorsEntry>&)>& edit) {
  SafetensorsFile f(src);
  std::vector<SafetensorsEntry> es;
  for (const auto& t : f.tensors()) es.push_back(SafetensorsEntry::from_host(t.name, t.dtype, t.shape, f.raw(t)));
  edit(es);
  write_safetensors(dst, es);
}

}  // namespace

TEST(RuntimeTrellis2Checkpoint, TinyDirectoryLoadsEveryModuleOnEveryBackend) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  p.require_trellis2_image();
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    for (const auto& role : pipeline_roles()) {
      auto m = load_role(p, role, *dev);
      ASSERT_TRUE(m->loaded()) << role;
      // Every value on the device equals the file's (BF16 flows / F16
      // decoders widen exactly to the f32 parameters).
      ModelFiles files = resolve_model_files(p.directory, p.model(role));
      SafetensorsFile f(files.safetensors);
      for (const auto& np : m->named_parameters()) {
        if (!np.param->value.defined()) continue;
        std::vector<float> want(static_cast<size_t>(shape_numel(np.param->shape)));
        f.read_into(np.name, DType::f32, want.data());
        std::vector<double> got = np.param->value.to_double();
        ASSERT_EQ(got.size(), want.size()) << np.name;
        for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], double(want[i])) << role << " " << np.name << "[" << i << "]";
        EXPECT_EQ(np.param->value.device().id(), dev->id());
      }
    }
    auto enc = load_image_encoder(p, *dev);
    EXPECT_TRUE(enc->loaded());
    EXPECT_EQ(enc->config().num_register_tokens, 4);
  }
}

TEST(RuntimeTrellis2Checkpoint, SameSeedSameBytesOtherSeedOtherBytes) {
  std::string a = ::testing::TempDir() + "tessera_t2_seed_a_" + std::to_string(::getpid());
  std::string b = a + "b";
  MakeCheckpointOptions o;
  o.seed = 11;
  o.dtype = DType::f32;
  make_checkpoint("tiny", a, o);
  o.seed = 12;
  make_checkpoint("tiny", b, o);
  SafetensorsFile x(tiny_dir() + "/ckpts/ss_dec_tiny.safetensors"), y(a + "/ckpts/ss_dec_tiny.safetensors"),
      z(b + "/ckpts/ss_dec_tiny.safetensors");
  EXPECT_EQ(x.info("input_layer.weight").dtype, StDType::F16);
  EXPECT_EQ(y.info("input_layer.weight").dtype, StDType::F32);
  std::vector<float> xv(size_t(x.info("input_layer.weight").numel())), yv(xv.size()), zv(xv.size());
  x.read_into("input_layer.weight", DType::f32, xv.data());
  y.read_into("input_layer.weight", DType::f32, yv.data());
  z.read_into("input_layer.weight", DType::f32, zv.data());
  for (size_t i = 0; i < xv.size(); ++i) ASSERT_NEAR(xv[i], yv[i], 1e-3 * std::max(1.f, std::fabs(yv[i]))) << i;
  EXPECT_NE(yv, zv);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(RuntimeTrellis2Checkpoint, BadTensorsGiveClearAllOrNothingErrors) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  const std::string src = tiny_dir() + "/ckpts/ss_flow_tiny.safetensors";
  const std::string dir = ::testing::TempDir() + "tessera_t2_bad_" + std::to_string(::getpid());
  fs::create_directories(dir);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load_role(p, "sparse_structure_flow_model", *dev);
    const Parameter* w = m->named_parameters()[4].param;  // adaLN_modulation.1.weight
    const void* before_buf = w->value.buffer_ptr().get();
    const auto before = w->value.to_double();
    auto still_intact = [&] {
      EXPECT_TRUE(m->loaded());
      EXPECT_EQ(w->value.buffer_ptr().get(), before_buf);
      EXPECT_EQ(w->value.to_double(), before);
    };

    // Truncated file: refused by the reader before any load.
    {
      std::string t = dir + "/truncated.safetensors";
      fs::copy_file(src, t, fs::copy_options::overwrite_existing);
      fs::resize_file(t, fs::file_size(t) - 100);
      std::string msg = error_of([&] { SafetensorsFile f(t); m->load_state(f, *dev); });
      EXPECT_NE(msg.find(t), std::string::npos) << msg;
      still_intact();
    }
    // Renamed tensor: missing + unexpected, listed in one message.
    {
      std::string t = dir + "/renamed.safetensors";
      rewrite(src, t, [](auto& es) {
        for (auto& e : es)
          if (e.name == "blocks.1.cross_attn.to_kv.weight") e.name = "blocks.1.cross_attn.to_kv.weights";
      });
      SafetensorsFile f(t);
      LoadOptions o;
      o.extra = ExtraTensorPolicy::error;
      std::string msg = error_of([&] { m->load_state(f, *dev, o); });
      EXPECT_NE(msg.find("does not match SparseStructureFlowModel: 1 missing tensor: 'blocks.1.cross_attn.to_kv.weight' "
                         "[128, 32]; 1 unexpected tensor: 'blocks.1.cross_attn.to_kv.weights' [128, 32]"),
                std::string::npos)
          << msg;
      still_intact();
    }
    // Reshaped tensor: a shape mismatch naming expected and found.
    {
      std::string t = dir + "/reshaped.safetensors";
      rewrite(src, t, [](auto& es) {
        for (auto& e : es)
          if (e.name == "blocks.0.self_attn.q_rms_norm.gamma") e.shape = {4, 16};
      });
      SafetensorsFile f(t);
      std::string msg = error_of([&] { m->load_state(f, *dev); });
      EXPECT_NE(msg.find("1 shape mismatch: 'blocks.0.self_attn.q_rms_norm.gamma' expected [2, 32], found [4, 16]"),
                std::string::npos)
          << msg;
      still_intact();
      // A fresh module stays entirely unloaded.
      auto fresh = build_module(ModelConfig::load(tiny_dir() + "/ckpts/ss_flow_tiny.json"));
      error_of([&] { fresh->load_state(f, *dev); });
      for (const auto& np : fresh->named_parameters()) EXPECT_FALSE(np.param->value.defined()) << np.name;
    }
  }
  fs::remove_all(dir);
}

TEST(Trellis2Checkpoint, PresetFileAndBadPresetsAreChecked) {
  const std::string dir = ::testing::TempDir() + "tessera_t2_preset_" + std::to_string(::getpid());
  fs::create_directories(dir);
  // A preset file (the tiny one, written out) produces the same tree.
  {
    std::ofstream f(dir + "/p.json");
    f << preset_json("tiny");
  }
  auto w = make_checkpoint(dir + "/p.json", dir + "/out");
  EXPECT_EQ(w.size(), pipeline_roles().size() + 1);
  EXPECT_TRUE(fs::exists(dir + "/out/pipeline.json"));
  {
    std::ofstream f(dir + "/bad.json");
    f << R"({"models": {"sparse_structure_flow_model": {"path": "../escape", "name": "x", "args": {}}}})";
  }
  EXPECT_NE(error_of([&] { make_checkpoint(dir + "/bad.json", dir + "/out2"); }).find("must be a relative path inside"),
            std::string::npos);
  {
    std::ofstream f(dir + "/missing.json");
    f << R"({"models": {}})";
  }
  EXPECT_NE(error_of([&] { make_checkpoint(dir + "/missing.json", dir + "/out3"); })
                .find("missing required key 'models.sparse_structure_flow_model'"),
            std::string::npos);
  fs::remove_all(dir);
}
