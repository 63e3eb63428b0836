// Module tree: PyTorch state_dict naming, and load_state's validation
// (missing / extra / mismatched tensors) with no partial load on error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/safetensors.hpp"
#include "models/common/module.hpp"

using namespace tessera;
using namespace tessera::models;

namespace {

// Hand-built miniature of a DiT: nn.Linear, an attention block, a ModuleList.
struct Linear : Module {
  Parameter* weight;
  Parameter* bias;
  Linear(int64_t in, int64_t out, DType dt, bool with_bias = true) {
    weight = &register_parameter("weight", {out, in}, dt);
    bias = with_bias ? &register_parameter("bias", {out}, DType::f32) : nullptr;
  }
  std::string type_name() const override { return "Linear"; }
};

struct Attention : Module {
  Attention(int64_t d, DType dt) {
    emplace_module<Linear>("to_qkv", d, 3 * d, dt);
    emplace_module<Linear>("to_out", d, d, dt);
    auto& n = emplace_module<Module>("q_rms_norm");
    n.register_parameter("gamma", {2, d / 2}, DType::f32);
  }
  std::string type_name() const override { return "Attention"; }
};

struct Block : Module {
  Block(int64_t d, DType dt) {
    register_parameter("modulation", {6 * d}, DType::f32);
    emplace_module<Attention>("attn", d, dt);
    auto& mlp = emplace_module<Module>("mlp");
    mlp.emplace_module<Linear>("0", d, 4 * d, dt);
    mlp.emplace_module<Linear>("2", 4 * d, d, dt);  // index 1 is a parameterless GELU in PyTorch
  }
};

struct TinyDiT : Module {
  TinyDiT(int64_t d = 4, int blocks = 2, DType dt = DType::f16) {
    emplace_module<Linear>("input_layer", 3, d, dt);
    auto& list = emplace_module<ModuleList>("blocks");
    for (int i = 0; i < blocks; ++i) list.append(std::make_unique<Block>(d, dt));
    emplace_module<Linear>("out_layer", d, 3, dt);
    register_parameter("pos_scale", {1}, DType::f32, /*optional=*/true);
  }
  std::string type_name() const override { return "TinyDiT"; }
};

// PyTorch lists a module's own parameters before its children's, whatever the
// registration order (pos_scale is registered last but comes first).
const std::vector<std::string> kNames = {
    "pos_scale", "input_layer.weight", "input_layer.bias",
    "blocks.0.modulation", "blocks.0.attn.to_qkv.weight", "blocks.0.attn.to_qkv.bias", "blocks.0.attn.to_out.weight",
    "blocks.0.attn.to_out.bias", "blocks.0.attn.q_rms_norm.gamma", "blocks.0.mlp.0.weight", "blocks.0.mlp.0.bias",
    "blocks.0.mlp.2.weight", "blocks.0.mlp.2.bias",
    "blocks.1.modulation", "blocks.1.attn.to_qkv.weight", "blocks.1.attn.to_qkv.bias", "blocks.1.attn.to_out.weight",
    "blocks.1.attn.to_out.bias", "blocks.1.attn.q_rms_norm.gamma", "blocks.1.mlp.0.weight", "blocks.1.mlp.0.bias",
    "blocks.1.mlp.2.weight", "blocks.1.mlp.2.bias",
    "out_layer.weight", "out_layer.bias"};

std::string tmp_file(const std::string& name) {
  return ::testing::TempDir() + "tessera_mod_" + std::to_string(::getpid()) + "_" + name;
}

// A checkpoint for `m` (values = index + element/1000, stored as bf16 for
// matrices and F32 otherwise), with `edit` applied to the (name -> shape) list.
struct Ckpt {
  std::string path;
  std::map<std::string, std::vector<float>> values;
};

Ckpt write_ckpt(const Module& m, const std::string& file,
                const std::function<void(std::map<std::string, Shape>&)>& edit = nullptr) {
  std::map<std::string, Shape> shapes;
  for (const auto& np : m.named_parameters()) shapes[np.name] = np.param->shape;
  if (edit) edit(shapes);
  Ckpt c;
  c.path = tmp_file(file);
  std::map<std::string, std::vector<uint16_t>> bf;
  std::vector<SafetensorsEntry> es;
  int idx = 0;
  for (const auto& [name, shape] : shapes) {
    auto& v = c.values[name];
    v.resize(size_t(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = float(idx) + float(i) / 1000.f;
    ++idx;
    if (shape.size() == 2) {
      auto& b = bf[name];
      for (float x : v) b.push_back(f32_to_bf16(x));
      for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_f32(b[i]);
      es.push_back(SafetensorsEntry::from_host(name, StDType::BF16, shape, b.data()));
    } else {
      es.push_back(SafetensorsEntry::from_host(name, StDType::F32, shape, v.data()));
    }
  }
  write_safetensors(c.path, es);
  return c;
}

std::string load_error(Module& m, const std::string& path, LoadOptions opts = {}) {
  SafetensorsFile f(path);
  try {
    m.load_state(f, BackendRegistry::get().cpu(), opts);
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "load_state accepted a bad checkpoint";
  return "";
}

}  // namespace

TEST(Module, NamesMatchPyTorchStateDict) {
  TinyDiT m;
  auto np = m.named_parameters();
  std::vector<std::string> names;
  for (const auto& p : np) names.push_back(p.name);
  EXPECT_EQ(names, kNames);
  EXPECT_EQ(m.named_parameters("model.")[1].name, "model.input_layer.weight");
  EXPECT_EQ(np[4].name, "blocks.0.attn.to_qkv.weight");
  EXPECT_EQ(np[4].param->shape, (Shape{12, 4}));
  EXPECT_EQ(np[4].param->dtype, DType::f16);
  auto* blocks = dynamic_cast<ModuleList*>(m.child("blocks"));
  ASSERT_NE(blocks, nullptr);
  EXPECT_EQ(blocks->size(), 2u);
  EXPECT_NE((*blocks)[1].child("attn"), nullptr);
  EXPECT_EQ(m.num_elements(), 12 + 4 + 2 * (24 + 48 + 12 + 16 + 4 + 4 + 64 + 16 + 64 + 4) + 12 + 3 + 1);
  EXPECT_FALSE(m.loaded());
  // Invalid registrations.
  Module bad;
  bad.register_parameter("w", {1}, DType::f32);
  EXPECT_THROW(bad.register_parameter("w", {1}, DType::f32), Error);
  EXPECT_THROW(bad.register_parameter("a.b", {1}, DType::f32), Error);
  EXPECT_THROW(bad.register_parameter("", {1}, DType::f32), Error);
  EXPECT_THROW(bad.emplace_module<Module>("w"), Error);
}

TEST(Module, LoadsAndConvertsEveryParameter) {
  TinyDiT m;
  Ckpt c = write_ckpt(m, "good.safetensors");
  SafetensorsFile f(c.path);
  m.load_state(f, BackendRegistry::get().cpu());
  EXPECT_TRUE(m.loaded());
  for (const auto& np : m.named_parameters()) {
    const Tensor& t = np.param->value;
    ASSERT_TRUE(t.defined()) << np.name;
    EXPECT_EQ(t.shape(), np.param->shape) << np.name;
    EXPECT_EQ(t.dtype(), np.param->dtype) << np.name;  // bf16 in the file -> f16 storage
    auto got = t.to_double();
    const auto& want = c.values.at(np.name);
    for (size_t i = 0; i < want.size(); ++i) {
      double expect = np.param->dtype == DType::f16 ? double(f16_to_f32(f32_to_f16(want[i]))) : double(want[i]);
      ASSERT_EQ(got[i], expect) << np.name << "[" << i << "]";
    }
  }
  std::remove(c.path.c_str());
}

TEST(Module, MissingTensorsAreListedWithShapes) {
  TinyDiT m;
  Ckpt c = write_ckpt(m, "missing.safetensors", [](auto& s) {
    s.erase("blocks.1.attn.to_qkv.weight");
    s.erase("out_layer.bias");
    s.erase("pos_scale");  // optional: not an error
  });
  std::string msg = load_error(m, c.path);
  EXPECT_EQ(msg, "checkpoint '" + c.path + "' does not match TinyDiT: 2 missing tensors: 'blocks.1.attn.to_qkv.weight' [12, 4], "
                 "'out_layer.bias' [3]");
  EXPECT_FALSE(m.loaded());
  std::remove(c.path.c_str());
}

TEST(Module, ManyMissingAreCappedAtTen) {
  TinyDiT m(4, 2);
  Ckpt c = write_ckpt(m, "empty.safetensors", [](auto& s) { s.clear(); s["unrelated"] = {1}; });
  std::string msg = load_error(m, c.path, LoadOptions{ExtraTensorPolicy::ignore});
  EXPECT_NE(msg.find("24 missing tensors: 'input_layer.weight' [4, 3], 'input_layer.bias' [4], 'blocks.0.modulation' [24], "),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("(and 14 more)"), std::string::npos) << msg;
  std::remove(c.path.c_str());
}

TEST(Module, ShapeMismatchNamesTensorExpectedAndFound) {
  TinyDiT m;
  Ckpt c = write_ckpt(m, "shape.safetensors", [](auto& s) { s["blocks.0.attn.to_qkv.weight"] = {12, 5}; });
  EXPECT_EQ(load_error(m, c.path), "checkpoint '" + c.path +
                                       "' does not match TinyDiT: 1 shape mismatch: 'blocks.0.attn.to_qkv.weight' expected "
                                       "[12, 4], found [12, 5]");
  std::remove(c.path.c_str());
}

TEST(Module, ExtraTensorsWarnOrError) {
  TinyDiT m;
  Ckpt c = write_ckpt(m, "extra.safetensors", [](auto& s) { s["blocks.0.attn.k_rms_norm.gamma"] = {2, 2}; });
  // error policy
  EXPECT_EQ(load_error(m, c.path, LoadOptions{ExtraTensorPolicy::error}),
            "checkpoint '" + c.path + "' does not match TinyDiT: 1 unexpected tensor: 'blocks.0.attn.k_rms_norm.gamma' [2, 2]");
  EXPECT_FALSE(m.loaded());
  // warn (default) and ignore both load.
  SafetensorsFile f(c.path);
  m.load_state(f, BackendRegistry::get().cpu());
  EXPECT_TRUE(m.loaded());
  TinyDiT m2;
  m2.load_state(f, BackendRegistry::get().cpu(), LoadOptions{ExtraTensorPolicy::ignore});
  EXPECT_TRUE(m2.loaded());
  std::remove(c.path.c_str());
}

TEST(Module, AllProblemsInOneMessageAndNoPartialLoad) {
  TinyDiT m;
  Ckpt good = write_ckpt(m, "first.safetensors");
  {
    SafetensorsFile f(good.path);
    m.load_state(f, BackendRegistry::get().cpu());
  }
  auto before = m.named_parameters()[1].param->value.to_double();
  Tensor before_tensor = m.named_parameters()[1].param->value;
  Ckpt bad = write_ckpt(m, "bad.safetensors", [](auto& s) {
    s.erase("out_layer.weight");
    s["input_layer.bias"] = {5};
    s["stray"] = {1};
  });
  std::string msg = load_error(m, bad.path, LoadOptions{ExtraTensorPolicy::error});
  EXPECT_NE(msg.find("1 missing tensor: 'out_layer.weight' [3, 4]; 1 shape mismatch: 'input_layer.bias' expected [4], found [5]; "
                     "1 unexpected tensor: 'stray' [1]"),
            std::string::npos)
      << msg;
  // The module still holds the first checkpoint's tensors, untouched.
  EXPECT_TRUE(m.loaded());
  EXPECT_EQ(m.named_parameters()[1].param->value.buffer_ptr(), before_tensor.buffer_ptr());
  EXPECT_EQ(m.named_parameters()[1].param->value.to_double(), before);
  std::remove(good.path.c_str());
  std::remove(bad.path.c_str());
}

TEST(Module, DtypeRefusedBeforeAnyUpload) {
  Module m;
  m.register_parameter("idx", {3}, DType::i32);
  std::vector<float> v = {1, 2, 3};
  std::string path = tmp_file("dtype.safetensors");
  write_safetensors(path, {SafetensorsEntry::from_host("idx", StDType::F32, {3}, v.data())});
  std::string msg = load_error(m, path);
  EXPECT_NE(msg.find("1 dtype error: 'idx' is F32 in the file, cannot be stored as i32"), std::string::npos) << msg;
  std::remove(path.c_str());
}

TEST(Module, PrefixSelectsASubtree) {
  TinyDiT m(4, 1);
  // The file holds "model." + names, plus tensors of another model.
  std::map<std::string, Shape> shapes;
  std::vector<std::vector<float>> store;
  std::vector<SafetensorsEntry> es;
  for (const auto& np : m.named_parameters()) {
    store.emplace_back(size_t(shape_numel(np.param->shape)), 0.5f);
    es.push_back(SafetensorsEntry::from_host("model." + np.name, StDType::F32, np.param->shape, store.back().data()));
  }
  store.emplace_back(1, 0.f);
  es.push_back(SafetensorsEntry::from_host("other.weight", StDType::F32, {1}, store.back().data()));
  std::string path = tmp_file("prefix.safetensors");
  write_safetensors(path, es);
  SafetensorsFile f(path);
  LoadOptions o;
  o.prefix = "model.";
  o.extra = ExtraTensorPolicy::error;  // "other.weight" is outside the prefix: not extra
  m.load_state(f, BackendRegistry::get().cpu(), o);
  EXPECT_TRUE(m.loaded());
  EXPECT_EQ(m.named_parameters()[0].param->value.to_double()[0], 0.5);
  std::remove(path.c_str());
}
