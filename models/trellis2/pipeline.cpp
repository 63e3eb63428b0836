#include "models/trellis2/pipeline.hpp"

#include <chrono>
#include <cmath>
#include <map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/dinov3.hpp"
#include "models/trellis2/flow_models.hpp"
#include "models/trellis2/pipeline_decode.hpp"
#include "models/trellis2/sampler.hpp"
#include "models/trellis2/ss_decoder.hpp"
#include "ops/elementwise.hpp"
#include "ops/sparse_hash.hpp"
#include "ops/sparse_test_data.hpp"

namespace tessera::models::trellis2 {

std::string pipeline_type_for_resolution(int r) {
  if (r == 512) return "512";
  if (r == 1024) return "1024_cascade";
  if (r == 1536) return "1536_cascade";
  fail("trellis2: --resolution must be 512, 1024 or 1536, found {}", r);
}

std::vector<int32_t> sphere_shell_structure(int64_t res) {
  return sparse_test::sphere_shell(res, 0.4 * double(res), 0.5);
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The torso dtype a checkpoint json asks for (flows: args.dtype; decoders:
// use_fp16), unless the caller overrides it.
DType torso_dtype(const PipelineConfig& p, const std::string& role, const std::optional<DType>& override_dt) {
  if (override_dt) return *override_dt;
  ModelConfig mc = role_config(p, role);
  if (mc.args.has("dtype")) return parse_torso_dtype(mc.args.get<std::string>("dtype"), mc.path);
  if (mc.args.get_or<bool>("use_fp16", false)) return DType::f16;
  return DType::f32;
}

Tensor zeros_like(const Tensor& t) {
  std::vector<float> z(size_t(t.numel()), 0.f);
  return Tensor::from_vector(z, t.shape(), DType::f32, t.device());
}

// x * std + mean (or (x - mean) / std with inverse), per channel of [N, C].
Tensor normalize(const Tensor& x, const NormalizationConfig& n, bool inverse, const std::string& what) {
  const int64_t c = x.dim(-1);
  TESSERA_CHECK(int64_t(n.mean.size()) == c, "trellis2: {} has {} channels but the normalisation has {}", what, c,
                n.mean.size());
  std::vector<float> a(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  for (size_t i = 0; i < size_t(c); ++i) {
    a[i] = float(inverse ? 1.0 / n.std[i] : n.std[i]);
    b[i] = float(inverse ? -n.mean[i] / n.std[i] : n.mean[i]);
  }
  Device& d = x.device();
  return ops::add(ops::mul(x, Tensor::from_vector(a, {c}, DType::f32, d)), Tensor::from_vector(b, {c}, DType::f32, d));
}

// Run-time context: timing, progress, dumps.
struct Run {
  const ProgressFn& progress;
  const DumpFn& dump;
  Device& dev;
  std::vector<StageTiming>& timings;
  std::string stage;
  Clock::time_point t0;

  void begin(const std::string& s) {
    dev.synchronize();
    stage = s;
    t0 = Clock::now();
    dev.allocator().reset_peak();
    if (progress) progress({s, 0, 0, 0, -1, false});
  }
  void step(int i, int n) {
    if (!progress) return;
    const double el = since(t0);
    progress({stage, i, n, el, i > 0 ? el / i * (n - i) : -1, false});
  }
  void end(const StageTensors& tensors = {}) {
    dev.synchronize();
    const double el = since(t0);
    timings.push_back({stage, el, dev.allocator().stats().peak});
    if (progress) progress({stage, 0, 0, el, 0, true});
    if (dump && !tensors.empty()) dump(stage, tensors, el);
  }
};

Tensor noise(uint64_t seed, uint64_t stream, const Shape& shape, Device& dev) {
  return Tensor::from_vector(randn(seed, stream, size_t(shape_numel(shape))), shape, DType::f32, dev);
}

SamplerParams sampler_params(const PipelineConfig& p, const std::string& key, int steps_override) {
  SamplerParams s = SamplerParams::from(p.sampler(key));
  if (steps_override > 0) s.steps = steps_override;
  return s;
}

}  // namespace

Trellis2ImageTo3D::Trellis2ImageTo3D(const std::string& dir, Device& dev)
    : cfg_(PipelineConfig::load(dir + "/pipeline.json")), dev_(dev) {
  cfg_.require_trellis2_image();
  find_image_encoder_dir(cfg_);  // fail now, not after the first stages
}

Trellis2Output Trellis2ImageTo3D::run(const Image& input, const GenerateOptions& opt, const ProgressFn& progress,
                                      const DumpFn& dump) const {
  Trellis2Output out;
  const std::string type = !opt.pipeline_type.empty()          ? opt.pipeline_type
                           : !cfg_.default_pipeline_type.empty() ? cfg_.default_pipeline_type
                                                                 : "1024_cascade";
  static const std::map<std::string, int> kSsRes = {{"512", 32}, {"1024", 64}, {"1024_cascade", 32}, {"1536_cascade", 32}};
  TESSERA_CHECK(kSsRes.count(type), "trellis2: pipeline type '{}' is not one of 512, 1024, 1024_cascade, 1536_cascade",
                type);
  out.pipeline_type = type;
  const bool cascade = type.find("cascade") != std::string::npos;
  const bool hr_cond = type != "512";
  Run run{progress, dump, dev_, out.timings, "", Clock::now()};

  // ---- image and conditioning -------------------------------------------
  run.begin("image");
  Image rgb = opt.preprocess ? preprocess_image(input, opt.preprocess_options) : input;
  TESSERA_CHECK(rgb.channels == 3 && rgb.width > 0 && rgb.height > 0,
                "trellis2: the conditioning image must be RGB (preprocess it, or pass an RGB crop), found {} channels",
                rgb.channels);
  run.end({{"image", Tensor::from_host(rgb.pixels.data(), {rgb.height, rgb.width, 3}, DType::u8, dev_)}});

  Tensor cond512, cond1024;
  {
    auto enc = load_image_encoder(cfg_, dev_);
    for (int size : {512, 1024}) {
      if (size == 1024 && !hr_cond) break;
      run.begin("cond_" + std::to_string(size));
      Tensor c = enc->extract_features(dinov3_input(rgb, size, dev_));
      (size == 512 ? cond512 : cond1024) = c;
      run.end({{"cond", c}});
    }
  }

  // ---- sparse structure ---------------------------------------------------
  const DType ss_dt = torso_dtype(cfg_, "sparse_structure_flow_model", opt.precision);
  run.begin("ss_latent");
  Tensor z;
  {
    auto flow = load_role_as<SparseStructureFlowModel>(cfg_, "sparse_structure_flow_model", dev_, ss_dt);
    const int64_t r = flow->config().resolution, c = flow->config().in_channels;
    Tensor neg = zeros_like(cond512);
    SamplerParams sp = sampler_params(cfg_, "sparse_structure_sampler", opt.steps);
    z = sample_flow_euler(
        sp, noise(opt.seed, 1, {1, c, r, r, r}, dev_),
        [&](const Tensor& x, double ts, bool pos) { return flow->forward(x, ts, pos ? cond512 : neg, ss_dt); },
        StdKind::unbiased, [&](const SamplerStep& s) { run.step(s.index + 1, s.steps); });
  }
  run.end({{"latent", z}});

  run.begin("sparse_structure");
  Tensor coords, ss_logits;
  {
    auto dec = load_role_as<SparseStructureDecoder>(cfg_, "sparse_structure_decoder", dev_,
                                               torso_dtype(cfg_, "sparse_structure_decoder", opt.precision));
    Tensor logits = dec->forward(z);  // [1, 1, D, D, D]
    ss_logits = logits;
    const int64_t d = logits.dim(2), ss_res = kSsRes.at(type);
    coords = ops::occupancy_to_coords(logits, 0.0);
    if (d != ss_res) {
      // max_pool3d(decoded > 0, ratio) > 0.5: a stage cell is occupied when any
      // of its ratio^3 decoder cells is, i.e. the unique parents.
      TESSERA_CHECK(d > ss_res && d % ss_res == 0,
                    "trellis2: pipeline '{}' needs a {}^3 sparse structure but the decoder produces {}^3", type, ss_res,
                    d);
      if (coords.dim(0) > 0) coords = ops::sparse_downsample_coords(coords, {d, d, d}, 1, d / ss_res).coords;
    }
    if (!opt.structure_override.empty()) {
      const int64_t n = int64_t(opt.structure_override.size() / 4);
      TESSERA_CHECK(opt.structure_override.size() % 4 == 0, "trellis2: structure override must be rows of 4 int32");
      for (size_t i = 0; i < opt.structure_override.size(); ++i)
        TESSERA_CHECK(i % 4 == 0 ? opt.structure_override[i] == 0
                                 : opt.structure_override[i] >= 0 && opt.structure_override[i] < ss_res,
                      "trellis2: structure override row {} is not (0, x, y, z) inside the {}^3 stage grid", i / 4,
                      ss_res);
      TLOG_WARN("trellis2: sparse structure replaced by the given {} voxels (the decoder produced {})", n,
                coords.dim(0));
      coords = ops::sparse_unique(Tensor::from_vector(opt.structure_override, {n, 4}, DType::i32, dev_),
                                  {ss_res, ss_res, ss_res}, 1)
                   .coords;
    }
    TESSERA_CHECK(coords.dim(0) > 0, "trellis2: the sparse structure is empty (no occupied voxel at {}^3)", ss_res);
    run.end({{"logits", ss_logits}, {"coords", coords}});
  }
  const int64_t ss_res = kSsRes.at(type);

  // ---- shape latent (direct or cascade) -----------------------------------
  const NormalizationConfig& shape_norm = cfg_.normalization("shape_slat_normalization");
  const NormalizationConfig& tex_norm = cfg_.normalization("tex_slat_normalization");
  const int64_t up = shape_decoder_upsample_factor(cfg_);  // F = 2^(levels-1)
  // One SLat flow stage: noise on the coordinates, the sampler, then the
  // de-normalisation (slat * std + mean). `concat` (the texture flow's
  // normalised shape latent) takes the first-in-channels' remainder.
  auto sample_slat = [&](const std::string& role, const Tensor& c4, int64_t grid, const Tensor& cond, uint64_t stream,
                         const std::string& sampler_key, const NormalizationConfig& norm, const std::string& what,
                         const Tensor* concat = nullptr) {
    const DType dt = torso_dtype(cfg_, role, opt.precision);
    auto flow = load_role_as<SLatFlowModel>(cfg_, role, dev_, dt);
    const int64_t n = c4.dim(0), in_ch = flow->config().in_channels, cc = concat ? concat->dim(1) : 0;
    TESSERA_CHECK(in_ch > cc, "trellis2: {}: in_channels {} must exceed the {} concatenated channels", role, in_ch, cc);
    const std::vector<int32_t> xyz = coords_xyz(c4);
    Tensor neg = zeros_like(cond);
    SamplerParams sp = sampler_params(cfg_, sampler_key, opt.steps);
    Tensor feats = sample_flow_euler(
        sp, noise(opt.seed, stream, {n, in_ch - cc}, dev_),
        [&](const Tensor& x, double ts, bool pos) { return flow->forward(x, xyz, ts, pos ? cond : neg, concat, dt); },
        StdKind::population, [&](const SamplerStep& s) { run.step(s.index + 1, s.steps); });
    return SparseTensor(c4, normalize(feats, norm, false, what), {int32_t(grid), int32_t(grid), int32_t(grid)});
  };

  SparseTensor shape_slat;
  if (!cascade) {
    const std::string role = type == "512" ? "shape_slat_flow_model_512" : "shape_slat_flow_model_1024";
    run.begin("shape_slat");
    shape_slat = sample_slat(role, coords, ss_res, type == "512" ? cond512 : cond1024, 3, "shape_slat_sampler",
                             shape_norm, "shape latent");
    out.resolution = ss_res * up;
    run.end({{"coords", shape_slat.coords()}, {"feats", shape_slat.feats()}});
  } else {
    run.begin("shape_slat_lr");
    SparseTensor lr = sample_slat("shape_slat_flow_model_512", coords, ss_res, cond512, 2, "shape_slat_sampler",
                                  shape_norm, "shape latent");
    run.end({{"coords", lr.coords()}, {"feats", lr.feats()}});

    run.begin("hr_coords");
    const int64_t lr_res = ss_res * up;  // 512 for the released decoder
    Tensor hr = shape_decoder_upsample_coords(cfg_, dev_, lr, torso_dtype(cfg_, "shape_slat_decoder", opt.precision));
    const std::vector<int32_t> hc = hr.to_vector<int32_t>();
    const int64_t target = (type == "1024_cascade" ? 1024 : 1536) * up / 16, floor_res = 1024 * up / 16;
    int64_t hr_res = target;
    Tensor hr_coords;
    while (true) {
      const int64_t g = hr_res / up;
      std::vector<int32_t> q(hc.size());
      for (size_t i = 0; i < hc.size(); i += 4) {
        q[i] = hc[i];
        // ((c + 0.5) / lr_res * (hr_res // F)).int(): float32 arithmetic, truncation.
        for (size_t a = 1; a < 4; ++a)
          q[i + a] = int32_t((float(hc[i + a]) + 0.5f) / float(lr_res) * float(g));
      }
      Tensor qt = Tensor::from_vector(q, {int64_t(hc.size() / 4), 4}, DType::i32, dev_);
      hr_coords = ops::sparse_unique(qt, {g, g, g}, 1).coords;
      if (hr_coords.dim(0) < opt.max_num_tokens || hr_res == floor_res) {
        if (hr_res != target)
          TLOG_WARN("trellis2: {} tokens at {}; the resolution is reduced to {} (max_num_tokens {})", hr_coords.dim(0),
                    target, hr_res, opt.max_num_tokens);
        break;
      }
      hr_res -= 128 * up / 16;
    }
    out.resolution = hr_res;
    run.end({{"coords", hr_coords}});

    run.begin("shape_slat");
    shape_slat = sample_slat("shape_slat_flow_model_1024", hr_coords, hr_res / up, cond1024, 3, "shape_slat_sampler",
                             shape_norm, "shape latent");
    run.end({{"coords", shape_slat.coords()}, {"feats", shape_slat.feats()}});
  }

  // ---- texture latent -----------------------------------------------------
  run.begin("tex_slat");
  {
    const std::string role = type == "512" ? "tex_slat_flow_model_512" : "tex_slat_flow_model_1024";
    Tensor concat = normalize(shape_slat.feats(), shape_norm, true, "shape latent");
    out.tex_slat = sample_slat(role, shape_slat.coords(), shape_slat.spatial_shape()[0], hr_cond ? cond1024 : cond512,
                               4, "tex_slat_sampler", tex_norm, "texture latent", &concat);
  }
  out.shape_slat = shape_slat;
  run.end({{"coords", out.tex_slat.coords()}, {"feats", out.tex_slat.feats()}});

  // ---- decoders and mesh --------------------------------------------------
  run.begin("shape_decoded");
  ShapeDecodeResult sd = decode_shape(cfg_, dev_, shape_slat, out.resolution,
                                      torso_dtype(cfg_, "shape_slat_decoder", opt.precision));
  out.voxel_coords = sd.coords;
  out.vertices = sd.vertices;
  out.intersected_logits = sd.intersected_logits;
  out.quad_lerp = sd.quad_lerp;
  run.end({{"coords", sd.coords},
           {"vertices", sd.vertices},
           {"intersected_logits", sd.intersected_logits},
           {"quad_lerp", sd.quad_lerp}});

  run.begin("tex_decoded");
  out.pbr = decode_texture(cfg_, dev_, out.tex_slat, sd, torso_dtype(cfg_, "tex_slat_decoder", opt.precision));
  run.end({{"coords", sd.coords}, {"pbr", out.pbr}});

  run.begin("mesh");
  extract_mesh(sd, out.resolution, out.mesh_positions, out.mesh_faces);
  {
    const int64_t nv = int64_t(out.mesh_positions.size() / 3), nf = int64_t(out.mesh_faces.size() / 3);
    StageTensors t;
    if (nv > 0) t.push_back({"positions", Tensor::from_vector(out.mesh_positions, {nv, 3}, DType::f32, dev_)});
    if (nf > 0) t.push_back({"faces", Tensor::from_vector(out.mesh_faces, {nf, 3}, DType::i32, dev_)});
    run.end(t);
  }
  return out;
}

}  // namespace tessera::models::trellis2
