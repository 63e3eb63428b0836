#include "models/trellis2/flow_models.hpp"

#include <cmath>

#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/cast.hpp"
#include "ops/norm.hpp"
#include "ops/shape_ops.hpp"

namespace tessera::models::trellis2 {

FlowModelBase::FlowModelBase(const FlowConfig& cfg, DType wdt) : cfg_(cfg) {
  const int64_t C = cfg_.model_channels;
  // The official __init__ order: (SS flow: pos_emb buffer for "ape"),
  // t_embedder, adaLN_modulation, input_layer, blocks, out_layer. Only the
  // Linear layers inside `blocks` take the torso dtype (convert_to).
  if (cfg_.pe_mode == "ape" && cfg_.class_name == "SparseStructureFlowModel") {
    const int64_t R = cfg_.resolution;
    pos_emb_ = &register_parameter("pos_emb", {R * R * R, C}, DType::f32, /*optional=*/true);
  }
  t_embedder_ = &emplace_module<TimestepEmbedder>("t_embedder", C);
  if (cfg_.share_mod) {
    auto& seq = emplace_module<Module>("adaLN_modulation");  // 0: SiLU
    ada_ = &seq.emplace_module<Linear>("1", C, 6 * C, DType::f32);
  }
  input_layer_ = &emplace_module<Linear>("input_layer", cfg_.in_channels, C, DType::f32);
  blocks_ = &emplace_module<ModuleList>("blocks");
  for (int64_t i = 0; i < cfg_.num_blocks; ++i) blocks_->append(std::make_unique<ModulatedCrossBlock>(cfg_, wdt));
  out_layer_ = &emplace_module<Linear>("out_layer", C, cfg_.out_channels, DType::f32);
}

Tensor FlowModelBase::rope_angles(const std::vector<int32_t>& coords, Device& dev) const {
  const int64_t hd = cfg_.head_dim(), L = int64_t(coords.size()) / 3;
  const int64_t P = hd / 2, F = P / 3;
  // Official RotaryPositionEmbedder: freqs_j = rope_freq[0] / rope_freq[1]^(j/F)
  // in f32, phase = coord * freq (f32); the last P - 3F pairs get angle 0.
  // SparseStructureFlowModel builds its embedder without passing rope_freq
  // (the default (1, 10000) applies whatever the config says); SLatFlowModel's
  // sparse attention passes the config's rope_freq.
  const bool dense = cfg_.class_name == "SparseStructureFlowModel";
  const double f0 = dense ? 1.0 : cfg_.rope_freq[0], f1 = dense ? 10000.0 : cfg_.rope_freq[1];
  std::vector<float> freqs(static_cast<size_t>(F));
  for (int64_t j = 0; j < F; ++j) freqs[size_t(j)] = float(f0 / std::pow(f1, double(float(j) / float(F))));
  std::vector<float> a(size_t(L * P), 0.f);
  for (int64_t n = 0; n < L; ++n)
    for (int64_t ax = 0; ax < 3; ++ax)
      for (int64_t j = 0; j < F; ++j) a[size_t(n * P + ax * F + j)] = float(coords[size_t(n * 3 + ax)]) * freqs[size_t(j)];
  return Tensor::from_vector(a, {L, P}, DType::f32, dev);
}

Tensor FlowModelBase::forward_tokens(const Tensor& x, double timestep, const Tensor& cond0,
                                     const std::vector<int32_t>& coords, DType act, const StageHook& hook) const {
  TESSERA_CHECK(loaded(), "{}: forward before load_state", type_name());
  TESSERA_CHECK(x.ndim() == 2 && x.dim(1) == cfg_.in_channels, "{}: tokens must be [L, {}], got {}", type_name(),
                cfg_.in_channels, shape_str(x.shape()));
  const int64_t L = x.dim(0);
  Tensor cond = cond0.ndim() == 3 ? cond0.reshape({cond0.dim(0) * cond0.dim(1), cond0.dim(2)}) : cond0;
  TESSERA_CHECK(cond.ndim() == 2 && cond.dim(1) == cfg_.cond_channels, "{}: cond must be [T, {}], got {}", type_name(),
                cfg_.cond_channels, shape_str(cond0.shape()));
  TESSERA_CHECK(cfg_.pe_mode == "rope", "{}: forward supports pe_mode \"rope\" only (the released models), got \"{}\"",
                type_name(), cfg_.pe_mode);
  TESSERA_CHECK(int64_t(coords.size()) == 3 * L, "{}: {} coordinates for {} tokens", type_name(), coords.size() / 3, L);
  Device& dev = x.device();
  auto stage = [&](const char* name, const Tensor& t) {
    if (hook) hook(name, t);
  };

  Tensor xf = x.dtype() == DType::f32 ? x : ops::cast(x, DType::f32);
  Tensor h = input_layer_->forward(xf);  // f32, as the official (outside `blocks`)
  stage("input_layer", h);
  float ts = float(timestep);
  Tensor t = Tensor::from_vector(std::vector<float>{ts}, {1}, DType::f32, dev);
  Tensor t_emb = t_embedder_->forward(t);  // [1, C]
  stage("t_emb", t_emb);
  Tensor mod = ada_ ? ada_->forward(ops::silu(t_emb)) : t_emb;  // [1, 6C] or [1, C]
  stage("mod", mod);
  if (act != DType::f32) {
    // manual_cast(t_emb, dtype): the shared modulation is rounded to the torso
    // dtype before each block adds its f32 `modulation` (then rounds again).
    mod = ops::cast(ops::cast(mod, act), DType::f32);
    h = ops::cast(h, act);
    cond = ops::cast(cond, act);
  } else if (cond.dtype() != DType::f32) {
    cond = ops::cast(cond, DType::f32);
  }
  Tensor angles = rope_angles(coords, dev);
  for (size_t i = 0; i < blocks_->size(); ++i) {
    auto& b = static_cast<const ModulatedCrossBlock&>((*blocks_)[i]);
    h = b.forward(h, mod, cond, &angles);
    if (hook) hook("blocks." + std::to_string(i), h);
  }
  if (h.dtype() != DType::f32) h = ops::cast(h, DType::f32);
  h = ops::layer_norm(h, nullptr, nullptr, 1e-5);  // F.layer_norm, PyTorch default eps
  h = out_layer_->forward(h);
  stage("out_layer", h);
  return h;
}

SparseStructureFlowModel::SparseStructureFlowModel(const FlowConfig& cfg, DType wdt) : FlowModelBase(cfg, wdt) {}

Tensor SparseStructureFlowModel::forward(const Tensor& x, double timestep, const Tensor& cond, DType act,
                                         const StageHook& hook) const {
  const int64_t R = cfg_.resolution, Cin = cfg_.in_channels, L = R * R * R;
  TESSERA_CHECK(x.shape() == (Shape{1, Cin, R, R, R}), "{}: input must be [1, {}, {}, {}, {}], got {}", type_name(), Cin,
                R, R, R, shape_str(x.shape()));
  std::vector<int32_t> coords(size_t(3 * L));
  for (int64_t i = 0, n = 0; i < R; ++i)
    for (int64_t j = 0; j < R; ++j)
      for (int64_t k = 0; k < R; ++k, ++n) {
        coords[size_t(3 * n)] = int32_t(i);
        coords[size_t(3 * n + 1)] = int32_t(j);
        coords[size_t(3 * n + 2)] = int32_t(k);
      }
  Tensor tokens = ops::permute(x.reshape({Cin, L}), {1, 0});  // [L, Cin]
  Tensor out = forward_tokens(tokens, timestep, cond, coords, act, hook);  // [L, Cout]
  return ops::permute(out, {1, 0}).reshape({1, cfg_.out_channels, R, R, R});
}

SLatFlowModel::SLatFlowModel(const FlowConfig& cfg, DType wdt) : FlowModelBase(cfg, wdt) {}

Tensor SLatFlowModel::forward(const Tensor& feats, const std::vector<int32_t>& coords, double timestep,
                              const Tensor& cond, const Tensor* concat_cond, DType act, const StageHook& hook) const {
  Tensor x = feats;
  if (concat_cond) {
    TESSERA_CHECK(concat_cond->ndim() == 2 && feats.ndim() == 2 && concat_cond->dim(0) == feats.dim(0),
                  "{}: concat_cond {} does not match feats {}", type_name(), shape_str(concat_cond->shape()),
                  shape_str(feats.shape()));
    Tensor c = concat_cond->dtype() == feats.dtype() ? *concat_cond : ops::cast(*concat_cond, feats.dtype());
    x = ops::concat({feats, c}, 1);
  }
  return forward_tokens(x, timestep, cond, coords, act, hook);
}

std::unique_ptr<FlowModelBase> make_flow_model(const ModelConfig& mc, DType wdt) {
  FlowConfig cfg = FlowConfig::parse(mc.name, mc.args);
  if (mc.name == "SparseStructureFlowModel") return std::make_unique<SparseStructureFlowModel>(cfg, wdt);
  if (mc.name == "SLatFlowModel" || mc.name == "ElasticSLatFlowModel") return std::make_unique<SLatFlowModel>(cfg, wdt);
  fail("{}: '{}' is not a flow model class (SparseStructureFlowModel, SLatFlowModel, ElasticSLatFlowModel)", mc.path,
       mc.name);
}

}  // namespace tessera::models::trellis2
