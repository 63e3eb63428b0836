// Forward passes of the dense TRELLIS.2 networks (SparseStructureDecoder,
// SparseStructureFlowModel) on a tiny random checkpoint, on every tested
// backend, against a float64 host composition of the op references.
//
// The host composition below is written independently of the model code:
// it restates the official forward (trellis2/models/sparse_structure_{vae,flow}.py,
// trellis2/modules/transformer/modulated.py, modules/attention/modules.py)
// step by step, reads every weight by its checkpoint name, and runs each step
// through the registry's float64 reference of the op. Only the activations'
// rounding differs from the device run, so the NMSE is that of f32 arithmetic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "core/safetensors.hpp"
#include "core/json_config.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/dinov3.hpp"
#include "models/trellis2/flow_models.hpp"
#include "models/trellis2/ss_decoder.hpp"
#include "ops/parity.hpp"
#include "host_compose.hpp"
#include "test_env.hpp"

using namespace tessera;
using namespace tessera::models;
using namespace tessera::models::trellis2;
namespace fs = std::filesystem;

namespace {

using test::H;
using test::nmse_of;
using test::R;
using test::to_device;

H reshape(H h, Shape s) {
  EXPECT_EQ(shape_numel(s), h.numel());
  h.shape = std::move(s);
  return h;
}
H slice(const H& x, int64_t dim, int64_t s, int64_t e) {
  return R("slice", {x}, Attrs().set("dim", dim).set("start", s).set("end", e));
}
H permute(const H& x, std::vector<int64_t> dims) { return R("permute", {x}, Attrs().set("dims", dims)); }

// Weights by checkpoint name (file values widened to f64).
struct Weights {
  std::map<std::string, H> w;
  explicit Weights(const std::string& path) {
    SafetensorsFile f(path);
    for (const auto& t : f.tensors()) {
      std::vector<float> v(static_cast<size_t>(t.numel()));
      f.read_into(t.name, DType::f32, v.data());
      w[t.name] = H{t.shape, DType::f32, std::vector<double>(v.begin(), v.end())};
    }
  }
  const H& operator()(const std::string& n) const {
    auto it = w.find(n);
    if (it == w.end()) fail("host composition: no tensor '{}'", n);
    return it->second;
  }
  H linear(const H& x, const std::string& p) const { return R("linear", {x, (*this)(p + ".weight"), (*this)(p + ".bias")}); }
  H conv(const H& x, const std::string& p) const { return R("conv3d", {x, (*this)(p + ".weight"), (*this)(p + ".bias")}); }
};

H layer_norm(const H& x, double eps) { return R("layer_norm", {x}, Attrs().set("eps", eps)); }
H layer_norm(const H& x, const Weights& W, const std::string& p, double eps) {
  return R("layer_norm", {x, W(p + ".weight"), W(p + ".bias")}, Attrs().set("eps", eps));
}
H silu(const H& x) { return R("silu", {x}); }

H host_random(Shape s, uint64_t seed, double amp = 1.0) {
  H h{s, DType::f32, {}};
  uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < shape_numel(s); ++i) {
    st ^= st << 13, st ^= st >> 7, st ^= st << 17;
    h.data.push_back(double(float(amp * (double(st >> 11) / 9007199254740992.0 * 2.0 - 1.0))));
  }
  return h;
}

const std::string& tiny_dir() {
  static const std::string dir = [] {
    std::string d = ::testing::TempDir() + "tessera_trellis2_fwd_" + std::to_string(::getpid());
    fs::remove_all(d);
    MakeCheckpointOptions o;
    o.seed = 5;
    make_checkpoint("tiny", d, o);
    return d;
  }();
  return dir;
}

// ---- host compositions -------------------------------------------------------------------

// SparseStructureDecoder.forward (norm_type "layer").
H host_ss_decoder(const Weights& W, const SSDecoderConfig& c, const H& z) {
  auto cln = [&](const H& x, const std::string& p) {  // ChannelLayerNorm32, eps 1e-5
    return permute(layer_norm(permute(x, {0, 2, 3, 4, 1}), W, p, 1e-5), {0, 4, 1, 2, 3});
  };
  auto res = [&](const H& x, const std::string& p) {
    H h = W.conv(silu(cln(x, p + ".norm1")), p + ".conv1");
    h = W.conv(silu(cln(h, p + ".norm2")), p + ".conv2");
    return R("add", {h, x});
  };
  H h = W.conv(z, "input_layer");
  for (int64_t i = 0; i < c.num_res_blocks_middle; ++i) h = res(h, "middle_block." + std::to_string(i));
  int k = 0;
  for (size_t i = 0; i < c.channels.size(); ++i) {
    for (int64_t j = 0; j < c.num_res_blocks; ++j, ++k) h = res(h, "blocks." + std::to_string(k));
    if (i + 1 < c.channels.size()) {
      h = R("pixel_shuffle_3d", {W.conv(h, "blocks." + std::to_string(k) + ".conv")}, Attrs().set("factor", int64_t(2)));
      ++k;
    }
  }
  return W.conv(silu(cln(h, "out_layer.0")), "out_layer.2");
}

// The flow DiT on tokens [L, in] with grid coordinates xyz (share_mod, rope,
// qk_rms_norm, qk_rms_norm_cross), as SparseStructureFlowModel.forward /
// SLatFlowModel.forward compute it. Returns [L, out].
H host_flow_tokens(const Weights& W, const FlowConfig& c, const H& tokens, const std::vector<int32_t>& xyz,
                   double timestep, const H& cond) {
  const int64_t R3 = tokens.shape[0], C = c.model_channels, Hh = c.num_heads, hd = C / Hh, T = cond.shape[0];
  H h = W.linear(tokens, "input_layer");
  H t{{1}, DType::f32, {timestep}};
  H e = R("timestep_embedding", {t}, Attrs().set("dim", int64_t(256)).set("max_period", 10000.0));
  H temb = W.linear(silu(W.linear(e, "t_embedder.mlp.0")), "t_embedder.mlp.2");
  H mod = reshape(W.linear(silu(temb), "adaLN_modulation.1"), {6 * C});
  // RoPE angles: pair p < 3F of token n uses
  // axis p / F with frequency 1/10000^((p % F) / F); the rest angle 0.
  const int64_t P = hd / 2, F = P / 3;
  H ang{{R3, P}, DType::f32, std::vector<double>(size_t(R3 * P), 0.0)};
  for (int64_t n = 0; n < R3; ++n)
    for (int64_t p = 0; p < 3 * F; ++p)
      ang.data[size_t(n * P + p)] =
          double(float(double(xyz[size_t(3 * n + p / F)]) * float(1.0 / std::pow(10000.0, double(p % F) / double(F)))));
  auto heads = [&](const H& y, int64_t n, int64_t i, int64_t L) {  // i-th of n C-slices as [L, H, hd]
    return reshape(slice(reshape(y, {L, n, C}), 1, i, i + 1), {L, Hh, hd});
  };
  auto rms = [&](const H& y, const std::string& p) {
    return R("rms_norm", {y, W(p + ".gamma")}, Attrs().set("eps", 1e-12).set("mode", "l2"));
  };
  auto attn = [&](const H& q, const H& k, const H& v, int64_t Lq, int64_t Lk) {
    return reshape(R("sdpa", {reshape(q, {1, Lq, Hh, hd}), reshape(k, {1, Lk, Hh, hd}), reshape(v, {1, Lk, Hh, hd})}),
                   {Lq, C});
  };
  for (int64_t b = 0; b < c.num_blocks; ++b) {
    const std::string p = "blocks." + std::to_string(b);
    H m = R("add", {W(p + ".modulation"), mod});
    auto ch = [&](int i) { return slice(m, 0, i * C, (i + 1) * C); };
    // self-attention
    H a = R("modulate", {layer_norm(h, 1e-6), ch(0), ch(1)});
    H qkv = W.linear(a, p + ".self_attn.to_qkv");
    H q = rms(heads(qkv, 3, 0, R3), p + ".self_attn.q_rms_norm");
    H k = rms(heads(qkv, 3, 1, R3), p + ".self_attn.k_rms_norm");
    q = R("rope", {q, ang}, Attrs().set("style", "interleaved").set("skip", int64_t(0)));
    k = R("rope", {k, ang}, Attrs().set("style", "interleaved").set("skip", int64_t(0)));
    H o = W.linear(attn(q, k, heads(qkv, 3, 2, R3), R3, R3), p + ".self_attn.to_out");
    h = R("gated_residual", {h, o, ch(2)});
    // cross-attention (no modulation, no gate)
    H cq = rms(reshape(W.linear(layer_norm(h, W, p + ".norm2", 1e-6), p + ".cross_attn.to_q"), {R3, Hh, hd}),
               p + ".cross_attn.q_rms_norm");
    H kv = W.linear(cond, p + ".cross_attn.to_kv");
    H ck = rms(heads(kv, 2, 0, T), p + ".cross_attn.k_rms_norm");
    h = R("add", {h, W.linear(attn(cq, ck, heads(kv, 2, 1, T), R3, T), p + ".cross_attn.to_out")});
    // MLP
    H f = R("modulate", {layer_norm(h, 1e-6), ch(3), ch(4)});
    f = W.linear(R("gelu", {W.linear(f, p + ".mlp.mlp.0")}, Attrs().set("approximate", "tanh")), p + ".mlp.mlp.2");
    h = R("gated_residual", {h, f, ch(5)});
  }
  return W.linear(layer_norm(h, 1e-5), "out_layer");  // [L, Cout]
}

// SparseStructureFlowModel.forward: token i·R² + j·R + k is voxel (i, j, k).
H host_ss_flow(const Weights& W, const FlowConfig& c, const H& x, double timestep, const H& cond) {
  const int64_t R = c.resolution, R3 = R * R * R;
  std::vector<int32_t> xyz;
  for (int64_t n = 0; n < R3; ++n)
    for (int64_t v : {n / (R * R), (n / R) % R, n % R}) xyz.push_back(int32_t(v));
  H out = host_flow_tokens(W, c, permute(reshape(x, {c.in_channels, R3}), {1, 0}), xyz, timestep, cond);
  return reshape(permute(out, {1, 0}), {1, c.out_channels, R, R, R});
}


}  // namespace

TEST(RuntimeTrellis2Forward, SparseStructureDecoderMatchesFloat64Composition) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  ModelFiles f = resolve_model_files(p.directory, p.model("sparse_structure_decoder"));
  Weights W(f.safetensors);
  auto cfg = SSDecoderConfig::parse(ModelConfig::load(f.json).args);
  const int64_t R0 = 8;
  H z = host_random({1, cfg.latent_channels, R0, R0, R0}, 77);
  H want = host_ss_decoder(W, cfg, z);
  ASSERT_EQ(want.shape, (Shape{1, 1, 4 * R0, 4 * R0, 4 * R0}));
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load_role(p, "sparse_structure_decoder", *dev);
    auto& dec = dynamic_cast<SparseStructureDecoder&>(*m);
    std::vector<std::string> stages;
    Tensor got = dec.forward(to_device(z, *dev), [&](const std::string& n, const Tensor&) { stages.push_back(n); });
    double e = nmse_of(got, want);
    std::printf("[ ss_decoder  ] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-9) << "nmse " << e;
    EXPECT_EQ(stages.front(), "input_layer");
    EXPECT_EQ(stages.back(), "out_layer");
    EXPECT_EQ(stages.size(), 2 + 1 + 5u);  // input, middle, blocks.0..4, out
  }
}

// use_fp16 (the released decoder's precision): f16 torso convolutions and
// activations, f32 input/output layers, against the same float64 composition.
TEST(RuntimeTrellis2Forward, SparseStructureDecoderF16TorsoStaysClose) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  ModelFiles f = resolve_model_files(p.directory, p.model("sparse_structure_decoder"));
  Weights W(f.safetensors);
  auto cfg = SSDecoderConfig::parse(ModelConfig::load(f.json).args);
  H z = host_random({1, cfg.latent_channels, 6, 6, 6}, 78);
  H want = host_ss_decoder(W, cfg, z);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load_role(p, "sparse_structure_decoder", *dev, DType::f16);
    Tensor got = dynamic_cast<SparseStructureDecoder&>(*m).forward(to_device(z, *dev));
    EXPECT_EQ(got.dtype(), DType::f32);
    double e = nmse_of(got, want);
    std::printf("[ ss_dec  f16 ] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 3e-5) << "nmse " << e;  // ~16 f16 roundings of O(1) activations: ~3e-6 measured
  }
}

TEST(RuntimeTrellis2Forward, SparseStructureFlowMatchesFloat64Composition) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  ModelFiles f = resolve_model_files(p.directory, p.model("sparse_structure_flow_model"));
  Weights W(f.safetensors);
  ModelConfig mc = ModelConfig::load(f.json);
  FlowConfig cfg = FlowConfig::parse(mc.name, mc.args);
  const int64_t R0 = cfg.resolution, T = 21;
  H x = host_random({1, cfg.in_channels, R0, R0, R0}, 91);
  H cond = host_random({T, cfg.cond_channels}, 92, 2.0);
  const double timestep = 1000.0 * 0.7;
  H want = host_ss_flow(W, cfg, x, timestep, cond);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load_role(p, "sparse_structure_flow_model", *dev);
    auto& flow = dynamic_cast<SparseStructureFlowModel&>(*m);
    std::vector<std::string> stages;
    Tensor got = flow.forward(to_device(x, *dev), timestep, to_device(cond, *dev), DType::f32,
                              [&](const std::string& n, const Tensor&) { stages.push_back(n); });
    double e = nmse_of(got, want);
    std::printf("[ ss_flow f32 ] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-8) << "nmse " << e;
    // Output is not degenerate (weights scaled so activations stay O(1)).
    double ss = 0;
    for (double v : want.data) ss += v * v;
    EXPECT_GT(ss / double(want.data.size()), 1e-3);
    EXPECT_LT(ss / double(want.data.size()), 1e3);
    EXPECT_EQ(stages, (std::vector<std::string>{"input_layer", "t_emb", "mod", "blocks.0", "blocks.1", "out_layer"}));
  }
}

// bf16 torso (the released flows' precision): bf16 weights and activations in
// the blocks, f32 elsewhere; NMSE against the same float64 composition.
TEST(RuntimeTrellis2Forward, SparseStructureFlowBf16TorsoStaysClose) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  ModelFiles f = resolve_model_files(p.directory, p.model("sparse_structure_flow_model"));
  Weights W(f.safetensors);
  ModelConfig mc = ModelConfig::load(f.json);
  FlowConfig cfg = FlowConfig::parse(mc.name, mc.args);
  H x = host_random({1, cfg.in_channels, cfg.resolution, cfg.resolution, cfg.resolution}, 93);
  H cond = host_random({9, cfg.cond_channels}, 94, 2.0);
  H want = host_ss_flow(W, cfg, x, 250.0, cond);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load_role(p, "sparse_structure_flow_model", *dev, DType::bf16);
    auto& flow = dynamic_cast<SparseStructureFlowModel&>(*m);
    Tensor got = flow.forward(to_device(x, *dev), 250.0, to_device(cond, *dev), DType::bf16);
    double e = nmse_of(got, want);
    std::printf("[ ss_flow bf16] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 3e-4) << "nmse " << e;
  }
}

// SLatFlowModel (the texture flow: concat_cond appended to the noisy latent)
// on a sparse set of voxels; attention spans all of them.
TEST(RuntimeTrellis2Forward, SLatTextureFlowMatchesFloat64Composition) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  ModelFiles f = resolve_model_files(p.directory, p.model("tex_slat_flow_model_512"));
  Weights W(f.safetensors);
  ModelConfig mc = ModelConfig::load(f.json);
  FlowConfig cfg = FlowConfig::parse(mc.name, mc.args);
  // 53 distinct voxels of the latent grid, in lexicographic order as argwhere gives them.
  std::vector<int32_t> xyz;
  for (int32_t v = 0, n = 0; n < 53; v += 7, ++n) {
    int32_t lin = v % (cfg.resolution * cfg.resolution * cfg.resolution);
    const int32_t r = int32_t(cfg.resolution);
    xyz.insert(xyz.end(), {lin / (r * r), (lin / r) % r, lin % r});
  }
  const int64_t N = 53, Cx = cfg.out_channels, Cc = cfg.in_channels - cfg.out_channels;
  H noise = host_random({N, Cx}, 95), shape_lat = host_random({N, Cc}, 96), cond = host_random({13, cfg.cond_channels}, 97, 2.0);
  H tokens = R("concat", {noise, shape_lat}, Attrs().set("dim", int64_t(1)));
  H want = host_flow_tokens(W, cfg, tokens, xyz, 600.0, cond);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load_role(p, "tex_slat_flow_model_512", *dev);
    auto& flow = dynamic_cast<SLatFlowModel&>(*m);
    Tensor sl = to_device(shape_lat, *dev);
    Tensor got = flow.forward(to_device(noise, *dev), xyz, 600.0, to_device(cond, *dev), &sl);
    double e = nmse_of(got, want);
    std::printf("[ slat tex f32] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-8) << "nmse " << e;
    // A wrong token count for the coordinates is an error, not a silent misread.
    std::vector<int32_t> short_xyz(xyz.begin(), xyz.end() - 3);
    EXPECT_THROW(flow.forward(to_device(noise, *dev), short_xyz, 600.0, to_device(cond, *dev), &sl), Error);
  }
}

namespace {

// DinoV3FeatureExtractor.extract_features over HF DINOv3ViTModel, restated:
// Conv2d patch embedding written out as loops, RoPE as HF's
// q·cos + rotate_half(q)·sin with the tiled angle table (not the rope op).
H host_dinov3(const Weights& W, const Dinov3Config& c, const H& px) {
  const int64_t C = c.num_channels, p = c.patch_size, D = c.hidden_size, S = px.shape[2], hp = S / p, N = hp * hp,
                Rg = c.num_register_tokens, T = 1 + Rg + N, Hh = c.num_attention_heads, hd = D / Hh;
  H h{{T, D}, DType::f32, std::vector<double>(size_t(T * D), 0.0)};
  const H &cls = W("embeddings.cls_token"), &reg = W("embeddings.register_tokens");
  const H &pw = W("embeddings.patch_embeddings.weight"), &pb = W("embeddings.patch_embeddings.bias");
  for (int64_t d = 0; d < D; ++d) h.data[size_t(d)] = cls.data[size_t(d)];
  for (int64_t r = 0; r < Rg; ++r)
    for (int64_t d = 0; d < D; ++d) h.data[size_t((1 + r) * D + d)] = reg.data[size_t(r * D + d)];
  for (int64_t i = 0; i < hp; ++i)
    for (int64_t j = 0; j < hp; ++j)
      for (int64_t d = 0; d < D; ++d) {
        double acc = pb.data[size_t(d)];
        for (int64_t ch = 0; ch < C; ++ch)
          for (int64_t a = 0; a < p; ++a)
            for (int64_t b = 0; b < p; ++b)
              acc += pw.data[size_t(((d * C + ch) * p + a) * p + b)] *
                     px.data[size_t((ch * S + i * p + a) * S + j * p + b)];
        h.data[size_t((1 + Rg + i * hp + j) * D + d)] = acc;
      }
  // cos/sin [N, hd]: angles = 2π·coord·inv_freq, (y block, x block) tiled x2.
  std::vector<double> cs(size_t(N * hd)), sn(size_t(N * hd));
  for (int64_t i = 0; i < hp; ++i)
    for (int64_t j = 0; j < hp; ++j)
      for (int64_t m = 0; m < hd; ++m) {
        const int64_t q = m % (hd / 2), f = q % (hd / 4);
        const double coord = q < hd / 4 ? 2.0 * ((i + 0.5) / hp) - 1.0 : 2.0 * ((j + 0.5) / hp) - 1.0;
        const double ang = 2.0 * M_PI * coord / std::pow(c.rope_theta, 4.0 * double(f) / double(hd));
        cs[size_t((i * hp + j) * hd + m)] = std::cos(ang);
        sn[size_t((i * hp + j) * hd + m)] = std::sin(ang);
      }
  auto rope = [&](H x) {  // x [T, D] as heads of hd; prefix tokens untouched
    H y = x;
    for (int64_t t = 1 + Rg; t < T; ++t)
      for (int64_t hh = 0; hh < Hh; ++hh)
        for (int64_t m = 0; m < hd; ++m) {
          const size_t base = size_t(t * D + hh * hd);
          const double rot = m < hd / 2 ? -x.data[base + size_t(m + hd / 2)] : x.data[base + size_t(m - hd / 2)];
          const size_t k = size_t((t - 1 - Rg) * hd + m);
          y.data[base + size_t(m)] = x.data[base + size_t(m)] * cs[k] + rot * sn[k];
        }
    return y;
  };
  auto lin = [&](const H& x, const std::string& n, bool bias) {
    return bias ? R("linear", {x, W(n + ".weight"), W(n + ".bias")}) : R("linear", {x, W(n + ".weight")});
  };
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pfx = "layer." + std::to_string(l);
    H a = layer_norm(h, W, pfx + ".norm1", c.layer_norm_eps);
    H q = rope(lin(a, pfx + ".attention.q_proj", c.query_bias));
    H k = rope(lin(a, pfx + ".attention.k_proj", c.key_bias));
    H v = lin(a, pfx + ".attention.v_proj", c.value_bias);
    H o = R("sdpa", {reshape(q, {1, T, Hh, hd}), reshape(k, {1, T, Hh, hd}), reshape(v, {1, T, Hh, hd})});
    o = lin(reshape(o, {T, D}), pfx + ".attention.o_proj", c.proj_bias);
    h = R("add", {h, R("mul", {o, W(pfx + ".layer_scale1.lambda1")})});
    H m = layer_norm(h, W, pfx + ".norm2", c.layer_norm_eps);
    m = lin(R("gelu", {lin(m, pfx + ".mlp.up_proj", c.mlp_bias)}, Attrs().set("approximate", "none")),
            pfx + ".mlp.down_proj", c.mlp_bias);
    h = R("add", {h, R("mul", {m, W(pfx + ".layer_scale2.lambda1")})});
  }
  return layer_norm(h, 1e-5);
}

}  // namespace

TEST(RuntimeTrellis2Forward, Dinov3FeaturesMatchFloat64Composition) {
  PipelineConfig p = PipelineConfig::load(tiny_dir() + "/pipeline.json");
  const std::string d = find_image_encoder_dir(p);
  Weights W(d + "/model.safetensors");
  Dinov3Config cfg = Dinov3Config::parse(JsonConfig::load_file(d + "/config.json"));
  const int64_t S = 5 * cfg.patch_size;  // 25 patches
  H px = host_random({1, cfg.num_channels, S, S}, 98, 2.0);
  H want = host_dinov3(W, cfg, px);
  ASSERT_EQ(want.shape, (Shape{1 + cfg.num_register_tokens + 25, cfg.hidden_size}));
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto enc = load_image_encoder(p, *dev);
    std::vector<std::string> stages;
    Tensor got = enc->extract_features(to_device(px, *dev), [&](const std::string& n, const Tensor&) { stages.push_back(n); });
    double e = nmse_of(got, want);
    std::printf("[ dinov3  f32 ] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-9) << "nmse " << e;
    EXPECT_EQ(stages, (std::vector<std::string>{"embeddings", "layer.0", "layer.1", "output"}));
  }
}
