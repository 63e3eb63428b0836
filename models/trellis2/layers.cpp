#include "models/trellis2/layers.hpp"

#include <cmath>

#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/conv3d.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/linear.hpp"
#include "ops/modulate.hpp"
#include "ops/norm.hpp"
#include "ops/attention.hpp"
#include "ops/cast.hpp"
#include "ops/rope.hpp"
#include "ops/shape_ops.hpp"

namespace tessera::models::trellis2 {

namespace {
const Tensor& value_of(const Parameter* p, const Module& m) {
  TESSERA_CHECK(p && p->value.defined(), "{}: parameter '{}' is not loaded (call load_state first)", m.type_name(),
                p ? p->name : std::string("?"));
  return p->value;
}
}  // namespace

// ---- Linear ------------------------------------------------------------------------------

Linear::Linear(int64_t in_, int64_t out_, DType wdt, bool with_bias) : in(in_), out(out_) {
  weight = &register_parameter("weight", {out, in}, wdt);
  if (with_bias) bias = &register_parameter("bias", {out}, DType::f32);
}

Tensor Linear::forward(const Tensor& x) const {
  const Tensor& w = value_of(weight, *this);
  return ops::linear(x, w, bias ? &value_of(bias, *this) : nullptr);
}

// ---- LayerNorm ---------------------------------------------------------------------------

LayerNorm::LayerNorm(int64_t c, bool affine, double e) : channels(c), eps(e) {
  if (affine) {
    weight = &register_parameter("weight", {c}, DType::f32);
    bias = &register_parameter("bias", {c}, DType::f32);
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  if (!weight) return ops::layer_norm(x, nullptr, nullptr, eps);
  return ops::layer_norm(x, &value_of(weight, *this), &value_of(bias, *this), eps);
}

// ---- Conv3d ------------------------------------------------------------------------------

Conv3d::Conv3d(int64_t in_, int64_t out_, int64_t k_, DType wdt) : in(in_), out(out_), k(k_) {
  weight = &register_parameter("weight", {out, in, k, k, k}, wdt);
  bias = &register_parameter("bias", {out}, DType::f32);
}

Tensor Conv3d::forward(const Tensor& x) const {
  const Tensor& w = value_of(weight, *this);
  TESSERA_CHECK(x.dtype() == w.dtype(), "Conv3d: input is {} but the weight is {} (cast the input first)",
                dtype_name(x.dtype()), dtype_name(w.dtype()));
  return ops::conv3d(x, w, &value_of(bias, *this));
}

SparseConv3d::SparseConv3d(int64_t in_, int64_t out_, int64_t k_, DType wdt) : in(in_), out(out_), k(k_) {
  weight = &register_parameter("weight", {out, k, k, k, in}, wdt);
  bias = &register_parameter("bias", {out}, DType::f32);
}

// ---- MultiHeadRMSNorm --------------------------------------------------------------------

MultiHeadRMSNorm::MultiHeadRMSNorm(int64_t dim, int64_t heads) {
  gamma = &register_parameter("gamma", {heads, dim}, DType::f32);
}

Tensor MultiHeadRMSNorm::forward(const Tensor& x) const {
  // F.normalize (eps 1e-12) * gamma * sqrt(dim): rms_norm's "l2" mode.
  return ops::rms_norm(x, &value_of(gamma, *this), 1e-12, "l2");
}

// ---- TimestepEmbedder --------------------------------------------------------------------

TimestepEmbedder::TimestepEmbedder(int64_t hidden, int64_t fdim) : freq_dim(fdim) {
  auto& mlp = emplace_module<Module>("mlp");
  fc1 = &mlp.emplace_module<Linear>("0", fdim, hidden, DType::f32);  // index 1 is the parameterless SiLU
  fc2 = &mlp.emplace_module<Linear>("2", hidden, hidden, DType::f32);
}

Tensor TimestepEmbedder::forward(const Tensor& t) const {
  Tensor e = ops::timestep_embedding(t, freq_dim, 10000.0);
  return fc2->forward(ops::silu(fc1->forward(e)));
}

// ---- FlowConfig --------------------------------------------------------------------------

int64_t FlowConfig::mlp_hidden() const {
  // Python: int(channels * mlp_ratio), both doubles, truncated toward zero.
  return int64_t(double(model_channels) * mlp_ratio);
}

DType parse_torso_dtype(const std::string& s, const std::string& where) {
  if (s == "f16" || s == "fp16" || s == "float16") return DType::f16;
  if (s == "bf16" || s == "bfloat16") return DType::bf16;
  if (s == "f32" || s == "fp32" || s == "float32") return DType::f32;
  fail("{}: unknown dtype '{}'; valid: float32, float16, bfloat16 (or f32/fp32, f16/fp16, bf16)", where, s);
}

FlowConfig FlowConfig::parse(const std::string& class_name, const JsonConfig& a) {
  FlowConfig c;
  c.class_name = class_name;
  c.resolution = a.get<int64_t>("resolution");
  c.in_channels = a.get<int64_t>("in_channels");
  c.model_channels = a.get<int64_t>("model_channels");
  c.cond_channels = a.get<int64_t>("cond_channels");
  c.out_channels = a.get<int64_t>("out_channels");
  c.num_blocks = a.get<int64_t>("num_blocks");
  c.num_head_channels = a.get_or<int64_t>("num_head_channels", 64);
  c.num_heads = a.get_or<int64_t>("num_heads", 0);
  c.mlp_ratio = a.get_or<double>("mlp_ratio", 4.0);
  c.pe_mode = a.get_or<std::string>("pe_mode", "ape");
  if (a.has("rope_freq") && !a.is_null("rope_freq")) {
    auto rf = a.get<std::vector<double>>("rope_freq");
    if (rf.size() != 2) fail("{}: key 'rope_freq' must hold 2 numbers, found {}", a.where(), rf.size());
    c.rope_freq[0] = rf[0];
    c.rope_freq[1] = rf[1];
  }
  c.dtype = a.get_or<std::string>("dtype", "float32");
  parse_torso_dtype(c.dtype, a.where() + ": key 'dtype'");
  a.mark_used("use_checkpoint");  // training only
  a.mark_used("initialization");  // training only
  c.share_mod = a.get_or<bool>("share_mod", false);
  c.qk_rms_norm = a.get_or<bool>("qk_rms_norm", false);
  c.qk_rms_norm_cross = a.get_or<bool>("qk_rms_norm_cross", false);
  a.report_unknown_keys(class_name);

  auto positive = [&](const char* k, int64_t v) {
    if (v <= 0) fail("{}: key '{}' must be > 0, found {}", a.where(), k, v);
  };
  positive("resolution", c.resolution);
  positive("in_channels", c.in_channels);
  positive("model_channels", c.model_channels);
  positive("cond_channels", c.cond_channels);
  positive("out_channels", c.out_channels);
  positive("num_blocks", c.num_blocks);
  if (c.num_heads == 0) {
    positive("num_head_channels", c.num_head_channels);
    c.num_heads = c.model_channels / c.num_head_channels;
  }
  positive("num_heads", c.num_heads);
  if (c.model_channels % c.num_heads != 0)
    fail("{}: model_channels {} is not divisible by num_heads {}", a.where(), c.model_channels, c.num_heads);
  if (c.pe_mode != "ape" && c.pe_mode != "rope")
    fail("{}: key 'pe_mode' must be \"ape\" or \"rope\", found \"{}\"", a.where(), c.pe_mode);
  if (c.pe_mode == "rope" && c.head_dim() % 2 != 0)
    fail("{}: RoPE needs an even head dim, found {}", a.where(), c.head_dim());
  if (!(c.mlp_ratio > 0) || c.mlp_hidden() < 1) fail("{}: key 'mlp_ratio' must be > 0, found {}", a.where(), c.mlp_ratio);
  return c;
}

// ---- Attention ---------------------------------------------------------------------------

Attention::Attention(int64_t c, int64_t h, int64_t ctx, bool is_cross, bool qk_rms, DType wdt)
    : cross(is_cross), channels(c), heads(h), rms(qk_rms) {
  if (!cross) {
    to_qkv = &emplace_module<Linear>("to_qkv", c, 3 * c, wdt);
  } else {
    to_q = &emplace_module<Linear>("to_q", c, c, wdt);
    to_kv = &emplace_module<Linear>("to_kv", ctx, 2 * c, wdt);
  }
  if (qk_rms) {
    q_norm = &emplace_module<MultiHeadRMSNorm>("q_rms_norm", c / h, h);
    k_norm = &emplace_module<MultiHeadRMSNorm>("k_rms_norm", c / h, h);
  }
  to_out = &emplace_module<Linear>("to_out", c, c, wdt);
  // (SparseMultiHeadAttention's `rope` child holds no parameters or buffers.)
}

namespace {
// [L, n*C] -> the i-th of n contiguous C-slices as [L, heads, C/heads].
Tensor head_slice(const Tensor& x, int64_t n, int64_t i, int64_t heads) {
  const int64_t L = x.dim(0), C = x.dim(1) / n;
  Tensor s = ops::slice(x.reshape({L, n, C}), 1, i, i + 1);
  return s.reshape({L, heads, C / heads});
}
}  // namespace

Tensor Attention::forward_self(const Tensor& x, const Tensor* rope_angles) const {
  const int64_t L = x.dim(0), hd = channels / heads;
  Tensor qkv = to_qkv->forward(x);
  Tensor q = head_slice(qkv, 3, 0, heads), k = head_slice(qkv, 3, 1, heads), v = head_slice(qkv, 3, 2, heads);
  if (rms) {
    q = q_norm->forward(q);
    k = k_norm->forward(k);
  }
  if (rope_angles) {
    q = ops::rope(q, *rope_angles, "interleaved");
    k = ops::rope(k, *rope_angles, "interleaved");
  }
  Tensor h = ops::sdpa(q.reshape({1, L, heads, hd}), k.reshape({1, L, heads, hd}), v.reshape({1, L, heads, hd}));
  return to_out->forward(h.reshape({L, channels}));
}

Tensor Attention::forward_cross(const Tensor& x, const Tensor& context) const {
  const int64_t L = x.dim(0), T = context.dim(0), hd = channels / heads;
  Tensor q = to_q->forward(x).reshape({L, heads, hd});
  Tensor kv = to_kv->forward(context);
  Tensor k = head_slice(kv, 2, 0, heads), v = head_slice(kv, 2, 1, heads);
  if (rms) {
    q = q_norm->forward(q);
    k = k_norm->forward(k);
  }
  Tensor h = ops::sdpa(q.reshape({1, L, heads, hd}), k.reshape({1, T, heads, hd}), v.reshape({1, T, heads, hd}));
  return to_out->forward(h.reshape({L, channels}));
}

// ---- ModulatedCrossBlock -----------------------------------------------------------------

ModulatedCrossBlock::ModulatedCrossBlock(const FlowConfig& c, DType wdt) : cfg(c) {
  const int64_t C = c.model_channels;
  // Registration order = the official __init__ order; PyTorch lists the
  // block's own parameter (modulation) first whatever its position.
  norm1 = &emplace_module<LayerNorm>("norm1", C, false, 1e-6);
  norm2 = &emplace_module<LayerNorm>("norm2", C, true, 1e-6);
  norm3 = &emplace_module<LayerNorm>("norm3", C, false, 1e-6);
  self_attn = &emplace_module<Attention>("self_attn", C, c.heads(), C, false, c.qk_rms_norm, wdt);
  cross_attn = &emplace_module<Attention>("cross_attn", C, c.heads(), c.cond_channels, true, c.qk_rms_norm_cross, wdt);
  auto& ffn = emplace_module<Module>("mlp");
  auto& seq = ffn.emplace_module<Module>("mlp");
  mlp0 = &seq.emplace_module<Linear>("0", C, c.mlp_hidden(), wdt);  // 1: GELU(tanh)
  mlp2 = &seq.emplace_module<Linear>("2", c.mlp_hidden(), C, wdt);
  if (!c.share_mod) {
    auto& ada_seq = emplace_module<Module>("adaLN_modulation");  // 0: SiLU
    ada = &ada_seq.emplace_module<Linear>("1", C, 6 * C, wdt);
  } else {
    modulation = &register_parameter("modulation", {6 * C}, DType::f32);
  }
}

Tensor ModulatedCrossBlock::forward(const Tensor& x0, const Tensor& mod, const Tensor& cond,
                                    const Tensor* rope_angles) const {
  const int64_t C = cfg.model_channels;
  // m = modulation + mod (share_mod) or adaLN_modulation(mod); six C-vectors
  // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp.
  Tensor m = modulation ? ops::add(value_of(modulation, *this), mod.reshape({6 * C}))
                        : ada->forward(ops::silu(mod.reshape({1, C}))).reshape({6 * C});
  if (m.dtype() != x0.dtype()) m = ops::cast(m, x0.dtype());
  auto chunk = [&](int i) { return ops::slice(m, 0, i * C, (i + 1) * C); };
  Tensor shift_msa = chunk(0), scale_msa = chunk(1), gate_msa = chunk(2);
  Tensor shift_mlp = chunk(3), scale_mlp = chunk(4), gate_mlp = chunk(5);

  Tensor h = ops::modulate(norm1->forward(x0), shift_msa, scale_msa);
  h = self_attn->forward_self(h, rope_angles);
  Tensor x = ops::gated_residual(x0, h, gate_msa);
  h = cross_attn->forward_cross(norm2->forward(x), cond);
  x = ops::add(x, h);
  h = ops::modulate(norm3->forward(x), shift_mlp, scale_mlp);
  h = mlp2->forward(ops::gelu(mlp0->forward(h), "tanh"));
  return ops::gated_residual(x, h, gate_mlp);
}

}  // namespace tessera::models::trellis2
