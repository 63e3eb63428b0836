#include "models/trellis2/dinov3.hpp"

#include <cmath>

#include "core/error.hpp"
#include "models/trellis2/layers.hpp"
#include "ops/activation.hpp"
#include "ops/attention.hpp"
#include "ops/cast.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/norm.hpp"
#include "ops/rope.hpp"
#include "ops/shape_ops.hpp"

namespace tessera::models::trellis2 {

Dinov3Config Dinov3Config::parse(const JsonConfig& a) {
  Dinov3Config c;
  c.hidden_size = a.get_or<int64_t>("hidden_size", c.hidden_size);
  c.intermediate_size = a.get_or<int64_t>("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = a.get_or<int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = a.get_or<int64_t>("num_attention_heads", c.num_attention_heads);
  c.patch_size = a.get_or<int64_t>("patch_size", c.patch_size);
  c.num_channels = a.get_or<int64_t>("num_channels", c.num_channels);
  c.num_register_tokens = a.get_or<int64_t>("num_register_tokens", c.num_register_tokens);
  c.hidden_act = a.get_or<std::string>("hidden_act", c.hidden_act);
  c.layer_norm_eps = a.get_or<double>("layer_norm_eps", c.layer_norm_eps);
  c.rope_theta = a.get_or<double>("rope_theta", c.rope_theta);
  c.layerscale_value = a.get_or<double>("layerscale_value", c.layerscale_value);
  c.query_bias = a.get_or<bool>("query_bias", c.query_bias);
  c.key_bias = a.get_or<bool>("key_bias", c.key_bias);
  c.value_bias = a.get_or<bool>("value_bias", c.value_bias);
  c.proj_bias = a.get_or<bool>("proj_bias", c.proj_bias);
  c.mlp_bias = a.get_or<bool>("mlp_bias", c.mlp_bias);
  c.use_gated_mlp = a.get_or<bool>("use_gated_mlp", a.get_or<bool>("use_swiglu_ffn", false));
  // Generic HF keys and training-only settings: known, not used for inference.
  for (const char* k : {"architectures", "model_type", "torch_dtype", "dtype", "transformers_version", "image_size",
                        "initializer_range", "attention_dropout", "hidden_dropout_prob", "drop_path_rate",
                        "pos_embed_shift", "pos_embed_jitter", "pos_embed_rescale", "apply_layernorm", "out_features",
                        "out_indices", "stage_names", "_name_or_path"})
    a.mark_used(k);
  a.report_unknown_keys("DINOv3ViTModel config");
  const std::string w = a.source();
  for (auto [k, v] : {std::pair<const char*, int64_t>{"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_attention_heads", c.num_attention_heads},
                      {"patch_size", c.patch_size},
                      {"num_channels", c.num_channels}})
    if (v <= 0) fail("{}: key '{}' must be > 0, found {}", w, k, v);
  if (c.num_register_tokens < 0) fail("{}: key 'num_register_tokens' must be >= 0", w);
  if (c.hidden_size % c.num_attention_heads != 0)
    fail("{}: hidden_size {} is not divisible by num_attention_heads {}", w, c.hidden_size, c.num_attention_heads);
  // The 2-D RoPE splits head_dim into 4 quarters (y/x angles, each tiled twice).
  if ((c.hidden_size / c.num_attention_heads) % 4 != 0)
    fail("{}: DINOv3 RoPE needs head_dim % 4 == 0, found {}", w, c.hidden_size / c.num_attention_heads);
  return c;
}

namespace {

struct LayerScale : Module {
  Parameter* lambda1;
  LayerScale(int64_t d) { lambda1 = &register_parameter("lambda1", {d}, DType::f32); }
  std::string type_name() const override { return "DINOv3ViTLayerScale"; }
};

struct DinoLayer : Module {
  const Dinov3Config& c;
  LayerNorm *norm1, *norm2;
  Linear *k, *v, *q, *o, *gate = nullptr, *up, *down;
  LayerScale *ls1, *ls2;
  DinoLayer(const Dinov3Config& cfg) : c(cfg) {
    const int64_t D = c.hidden_size, I = c.intermediate_size;
    norm1 = &emplace_module<LayerNorm>("norm1", D, true, c.layer_norm_eps);
    auto& at = emplace_module<Module>("attention");
    // HF registers k, v, q, o in that order.
    k = &at.emplace_module<Linear>("k_proj", D, D, DType::f32, c.key_bias);
    v = &at.emplace_module<Linear>("v_proj", D, D, DType::f32, c.value_bias);
    q = &at.emplace_module<Linear>("q_proj", D, D, DType::f32, c.query_bias);
    o = &at.emplace_module<Linear>("o_proj", D, D, DType::f32, c.proj_bias);
    ls1 = &emplace_module<LayerScale>("layer_scale1", D);
    norm2 = &emplace_module<LayerNorm>("norm2", D, true, c.layer_norm_eps);
    auto& mlp = emplace_module<Module>("mlp");
    if (c.use_gated_mlp) gate = &mlp.emplace_module<Linear>("gate_proj", D, I, DType::f32, c.mlp_bias);
    up = &mlp.emplace_module<Linear>("up_proj", D, I, DType::f32, c.mlp_bias);
    down = &mlp.emplace_module<Linear>("down_proj", I, D, DType::f32, c.mlp_bias);
    ls2 = &emplace_module<LayerScale>("layer_scale2", D);
  }
  std::string type_name() const override { return "DINOv3ViTLayer"; }

  Tensor act(const Tensor& x) const {
    if (c.hidden_act == "gelu") return ops::gelu(x, "none");
    if (c.hidden_act == "gelu_pytorch_tanh") return ops::gelu(x, "tanh");
    if (c.hidden_act == "silu" || c.hidden_act == "swish") return ops::silu(x);
    fail("DINOv3ViTLayer: hidden_act '{}' is not supported (gelu, gelu_pytorch_tanh, silu)", c.hidden_act);
  }

  // x [T, D]; angles [T - prefix, head_dim/2].
  Tensor forward(const Tensor& x, const Tensor& angles, int64_t prefix) const {
    const int64_t T = x.dim(0), D = c.hidden_size, Hh = c.num_attention_heads, hd = D / Hh;
    Tensor h = norm1->forward(x);
    Tensor qh = ops::rope(q->forward(h).reshape({T, Hh, hd}), angles, "half", prefix);
    Tensor kh = ops::rope(k->forward(h).reshape({T, Hh, hd}), angles, "half", prefix);
    Tensor vh = v->forward(h).reshape({1, T, Hh, hd});
    Tensor a = ops::sdpa(qh.reshape({1, T, Hh, hd}), kh.reshape({1, T, Hh, hd}), vh);  // scale hd^-0.5
    a = o->forward(a.reshape({T, D}));
    Tensor y = ops::add(x, ops::mul(a, ls1->lambda1->value));
    h = norm2->forward(y);
    Tensor m = gate ? down->forward(ops::mul(act(gate->forward(h)), up->forward(h))) : down->forward(act(up->forward(h)));
    return ops::add(y, ops::mul(m, ls2->lambda1->value));
  }
};

}  // namespace

Dinov3ViTModel::Dinov3ViTModel(const Dinov3Config& cfg) : cfg_(cfg) {
  const int64_t D = cfg_.hidden_size, p = cfg_.patch_size;
  auto& emb = emplace_module<Module>("embeddings");
  emb.register_parameter("cls_token", {1, 1, D}, DType::f32);
  emb.register_parameter("mask_token", {1, 1, D}, DType::f32);
  emb.register_parameter("register_tokens", {1, cfg_.num_register_tokens, D}, DType::f32);
  auto& pe = emb.emplace_module<Module>("patch_embeddings");  // nn.Conv2d(3, D, p, stride p)
  pe.register_parameter("weight", {D, cfg_.num_channels, p, p}, DType::f32);
  pe.register_parameter("bias", {D}, DType::f32);
  auto& layers = emplace_module<ModuleList>("layer");
  for (int64_t i = 0; i < cfg_.num_hidden_layers; ++i) layers.append(std::make_unique<DinoLayer>(cfg_));
  emplace_module<LayerNorm>("norm", D, true, cfg_.layer_norm_eps);
}

std::vector<float> Dinov3ViTModel::rope_angles(int64_t hp, int64_t wp) const {
  // HF DINOv3ViTRopePositionEmbedding: patch centres ((i + 0.5)/hp, (j + 0.5)/wp)
  // mapped to [-1, 1]; inv_freq = 1/theta^(arange(0, 1, 4/head_dim)); angles
  // 2π·coord·inv_freq, y block then x block (then tiled x2, which the "half"
  // rope pairing makes implicit). Computed in f32 as the reference does.
  const int64_t hd = cfg_.hidden_size / cfg_.num_attention_heads, Q = hd / 4;
  std::vector<float> inv(static_cast<size_t>(Q));
  for (int64_t j = 0; j < Q; ++j) inv[size_t(j)] = float(1.0 / std::pow(cfg_.rope_theta, double(float(4 * j) / float(hd))));
  std::vector<float> a(size_t(hp * wp * 2 * Q));
  const float two_pi = float(2.0 * M_PI);
  for (int64_t i = 0; i < hp; ++i)
    for (int64_t j = 0; j < wp; ++j) {
      const float cy = 2.f * ((float(i) + 0.5f) / float(hp)) - 1.f, cx = 2.f * ((float(j) + 0.5f) / float(wp)) - 1.f;
      float* row = &a[size_t((i * wp + j) * 2 * Q)];
      for (int64_t f = 0; f < Q; ++f) {
        row[f] = two_pi * cy * inv[size_t(f)];
        row[Q + f] = two_pi * cx * inv[size_t(f)];
      }
    }
  return a;
}

Tensor Dinov3ViTModel::extract_features(const Tensor& px,
                                        const std::function<void(const std::string&, const Tensor&)>& hook) const {
  TESSERA_CHECK(loaded(), "DINOv3ViTModel: forward before load_state");
  const int64_t C = cfg_.num_channels, p = cfg_.patch_size, D = cfg_.hidden_size, R = cfg_.num_register_tokens;
  Tensor x = px.ndim() == 4 && px.dim(0) == 1 ? px.reshape({px.dim(1), px.dim(2), px.dim(3)}) : px;
  TESSERA_CHECK(x.ndim() == 3 && x.dim(0) == C && x.dim(1) % p == 0 && x.dim(2) % p == 0 && x.dim(1) > 0 && x.dim(2) > 0,
                "DINOv3ViTModel: pixels must be [1, {}, H, W] with H, W multiples of {}, got {}", C, p,
                shape_str(px.shape()));
  if (x.dtype() != DType::f32) x = ops::cast(x, DType::f32);
  const int64_t hp = x.dim(1) / p, wp = x.dim(2) / p, N = hp * wp;
  Device& dev = x.device();
  auto stage = [&](const std::string& n, const Tensor& t) {
    if (hook) hook(n, t);
  };
  // Patch embedding (Conv2d, kernel = stride = p) as a GEMM over unfolded
  // patches: [C, hp, p, wp, p] -> [hp, wp, C, p, p] -> [N, C p p].
  auto* emb = child("embeddings");
  auto* pe = emb->child("patch_embeddings");
  Tensor cols = ops::permute(x.reshape({C, hp, p, wp, p}), {1, 3, 0, 2, 4}).reshape({N, C * p * p});
  Tensor w = pe->parameter("weight")->value.reshape({D, C * p * p});
  Tensor patches = ops::linear(cols, w, &pe->parameter("bias")->value);
  std::vector<Tensor> parts = {emb->parameter("cls_token")->value.reshape({1, D})};
  if (R > 0) parts.push_back(emb->parameter("register_tokens")->value.reshape({R, D}));
  parts.push_back(patches);
  Tensor h = ops::concat(parts, 0);  // [CLS, registers, patches]
  stage("embeddings", h);
  Tensor angles = Tensor::from_vector(rope_angles(hp, wp), {N, (D / cfg_.num_attention_heads) / 2}, DType::f32, dev);
  const auto& layers = static_cast<const ModuleList&>(*child("layer"));
  for (size_t i = 0; i < layers.size(); ++i) {
    h = static_cast<const DinoLayer&>(layers[i]).forward(h, angles, 1 + R);
    if (hook) hook("layer." + std::to_string(i), h);
  }
  h = ops::layer_norm(h, nullptr, nullptr, 1e-5);  // F.layer_norm(h, h.shape[-1:]), not model.norm
  stage("output", h);
  return h;
}

std::unique_ptr<Dinov3ViTModel> make_dinov3(const std::string& path) {
  return std::make_unique<Dinov3ViTModel>(Dinov3Config::parse(JsonConfig::load_file(path)));
}

}  // namespace tessera::models::trellis2
