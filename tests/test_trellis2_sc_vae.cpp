// Forward passes of the SC-VAE decoders (FlexiDualGridVaeDecoder,
// SparseUnetVaeDecoder) on small random checkpoints, on every tested backend,
// against a float64 host composition of the op references.
//
// The host composition restates the official forward
// (trellis2/models/sc_vaes/{sparse_unet_vae,fdg_vae}.py,
// trellis2/modules/sparse/spatial/{basic,spatial2channel}.py at 5565d24)
// independently of the model code: it reads every weight by its checkpoint
// name, runs norms / linears / activations / sparse convs through the
// registry's float64 references, and writes the neighbour map (a host hash
// map), channel->space, upsampling, the decisions (logit > 0) and the
// FlexiDualGrid head (sigmoid, softplus) out as loops.
//
// Decisions: the host computes its own logits; for the structure it follows
// the device's decisions, and counts where they differ from its own outside a
// small margin around 0 (f32: none may; f16: a logit within `margin` of zero
// may flip, anything else is an error).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "core/json_config.hpp"
#include "core/op_registry.hpp"
#include "core/safetensors.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/sc_vae_decoder.hpp"
#include "ops/parity.hpp"
#include "ops/sparse_test_data.hpp"
#include "host_compose.hpp"
#include "tests/expect_error.hpp"
#include "test_env.hpp"

using namespace tessera;
using test::expect_error;
using namespace tessera::models;
using namespace tessera::models::trellis2;
using sparse_test::Coord;
namespace fs = std::filesystem;

namespace {

using test::H;
using test::nmse_of;
using test::R;
using test::to_device;


// ---- a decoder checkpoint: json + f16 safetensors (as the released decoders) -------------

struct Net {
  ModelConfig mc;
  ScVaeDecoderConfig cfg;
  std::string file;
  std::map<std::string, H> w;  // file values widened to f64
  const H& operator()(const std::string& n) const {
    auto it = w.find(n);
    if (it == w.end()) fail("host composition: no tensor '{}'", n);
    return it->second;
  }
  bool has(const std::string& n) const { return w.count(n) != 0; }
};

std::string tmp_dir() {
  static const std::string d = [] {
    std::string s = ::testing::TempDir() + "tessera_scvae_" + std::to_string(::getpid());
    fs::create_directories(s);
    return s;
  }();
  return d;
}

Net make_net(const std::string& tag, const std::string& cls, const std::string& args, uint64_t seed) {
  Net n;
  n.mc = ModelConfig::parse(fmt::format("{{\"name\": \"{}\", \"args\": {}}}", cls, args), "test:" + tag);
  auto m = build_module(n.mc);
  n.cfg = dynamic_cast<SparseUnetVaeDecoder&>(*m).config();
  std::vector<std::vector<uint16_t>> bits;
  std::vector<SafetensorsEntry> entries;
  for (const auto& np : m->named_parameters()) {
    std::vector<float> v = init_values(np.name, np.param->shape, seed);
    bits.emplace_back();
    H h{np.param->shape, DType::f32, {}};
    for (float x : v) {
      bits.back().push_back(f32_to_f16(x));
      h.data.push_back(double(f16_to_f32(bits.back().back())));
    }
    n.w[np.name] = std::move(h);
  }
  size_t i = 0;
  for (const auto& np : m->named_parameters())
    entries.push_back(SafetensorsEntry::from_host(np.name, StDType::F16, np.param->shape, bits[i++].data()));
  n.file = tmp_dir() + "/" + tag + ".safetensors";
  write_safetensors(n.file, entries);
  return n;
}

// The tiny preset's decoder entries (`tessera make-checkpoint --config tiny`).
Net tiny_net(const std::string& role, uint64_t seed) {
  JsonConfig e = JsonConfig::parse(preset_json("tiny"), "tiny").child("models").child(role);
  return make_net(role, e.get<std::string>("name"), e.child("args").dump(), seed);
}

std::unique_ptr<SparseUnetVaeDecoder> load(const Net& n, Device& dev, DType wdt = DType::f32) {
  auto m = make_sc_vae_decoder(n.mc, wdt);
  m->load_state(SafetensorsFile(n.file), dev);
  return m;
}

// ---- host composition --------------------------------------------------------------------

struct HLevel {
  std::vector<Coord> coords;
  H nbr;  // i32 [N, 27], a host hash map (ops/sparse_test_data)
  explicit HLevel(std::vector<Coord> c) : coords(std::move(c)) {
    auto m = sparse_test::neighbour_map(coords, 3);
    nbr = H{{int64_t(coords.size()), 27}, DType::i32, std::vector<double>(m.begin(), m.end())};
  }
  int64_t n() const { return int64_t(coords.size()); }
};

H linear(const Net& W, const H& x, const std::string& p) { return R("linear", {x, W(p + ".weight"), W(p + ".bias")}); }
H ln(const H& x, double eps) { return R("layer_norm", {x}, Attrs().set("eps", eps)); }
H ln(const Net& W, const H& x, const std::string& p) {
  return R("layer_norm", {x, W(p + ".weight"), W(p + ".bias")}, Attrs().set("eps", 1e-6));
}
H silu(const H& x) { return R("silu", {x}); }
H add(const H& a, const H& b) { return R("add", {a, b}); }
H conv(const Net& W, const HLevel& L, const H& x, const std::string& p) {
  return R("sparse_conv3d", {x, L.nbr, W(p + ".weight"), W(p + ".bias")});
}
H rows(const H& x, const std::vector<int64_t>& idx) {  // x[idx]
  const int64_t C = x.shape[1];
  H r{{int64_t(idx.size()), C}, DType::f32, {}};
  for (int64_t i : idx) r.data.insert(r.data.end(), x.data.begin() + i * C, x.data.begin() + (i + 1) * C);
  return r;
}

struct HostRun {
  std::vector<std::vector<Coord>> level_coords;  // coordinates of every level
  std::vector<H> logits;                         // host to_subdiv logits per up-block (pred_subdiv)
  H out;                                         // [N_out, out_channels]
  int64_t flips = 0;                             // decisions that differ from the host's own outside the margin
  double min_margin = 1e30;                      // smallest |logit| seen
};

// SparseUnetVaeDecoder.forward. Decisions of up-block i: `guide` (the
// texture decoder's guide_subs), else `follow` (the device's predictions,
// checked against the host's own logits), else the host's own logits.
HostRun host_decoder(const Net& W, const std::vector<Coord>& coords, const H& latent, const std::vector<H>* guide,
                     const std::vector<H>* follow, double margin) {
  const auto& c = W.cfg;
  HostRun r;
  HLevel L(coords);
  H h = linear(W, latent, "from_latent");
  const size_t n = c.num_blocks.size();
  for (size_t i = 0; i < n; ++i) {
    r.level_coords.push_back(L.coords);
    const std::string lp = "blocks." + std::to_string(i) + ".";
    for (int64_t j = 0; j < c.num_blocks[i]; ++j) {
      const std::string p = lp + std::to_string(j);
      if (c.block_type[i] == "SparseConvNeXtBlock3d") {  // conv, norm, mlp, + x
        H t = ln(W, conv(W, L, h, p + ".conv"), p + ".norm");
        t = linear(W, silu(linear(W, t, p + ".mlp.0")), p + ".mlp.2");
        h = add(t, h);
      } else {  // SparseResBlock3d
        H t = conv(W, L, silu(ln(W, h, p + ".norm1")), p + ".conv1");
        t = conv(W, L, silu(ln(t, 1e-6)), p + ".conv2");
        h = add(t, h);
      }
    }
    if (i + 1 == n) break;
    const std::string p = lp + std::to_string(c.num_blocks[i]);
    // Decisions.
    std::vector<bool> sub(size_t(L.n() * 8));
    const H* dec;
    if (guide) {
      dec = &(*guide)[i];
    } else {
      r.logits.push_back(linear(W, h, p + ".to_subdiv"));
      dec = follow ? &(*follow)[i] : &r.logits.back();
      for (size_t e = 0; e < sub.size(); ++e) {
        const double mine = r.logits.back().data[e];
        r.min_margin = std::min(r.min_margin, std::fabs(mine));
        if ((mine > 0) != (dec->data[e] > 0) && std::fabs(mine) > margin) ++r.flips;
      }
    }
    EXPECT_EQ(dec->shape, (Shape{L.n(), 8}));
    for (size_t e = 0; e < sub.size(); ++e) sub[e] = dec->data[e] > 0;
    // Children: parent by parent, then k; child k at 2 p + (k & 1, k >> 1 & 1, k >> 2 & 1).
    std::vector<Coord> cc;
    std::vector<int64_t> parent, slot;
    for (int64_t q = 0; q < L.n(); ++q)
      for (int k = 0; k < 8; ++k)
        if (sub[size_t(q * 8 + k)]) {
          const Coord& a = L.coords[size_t(q)];
          cc.push_back({a[0], 2 * a[1] + (k & 1), 2 * a[2] + ((k >> 1) & 1), 2 * a[3] + ((k >> 2) & 1)});
          parent.push_back(q);
          slot.push_back(k);
        }
    HLevel child(cc);
    const int64_t Ci = c.model_channels[i], Co = c.model_channels[i + 1], Nc = child.n();
    H t, skip;
    if (c.up_block_type[i] == "SparseResBlockC2S3d") {
      H big = conv(W, L, silu(ln(W, h, p + ".norm1")), p + ".conv1");  // [N, 8 Co]
      t = H{{Nc, Co}, DType::f32, {}};
      skip = H{{Nc, Co}, DType::f32, {}};
      const int64_t g = Ci / 8, rep = Co / g;
      for (int64_t e = 0; e < Nc; ++e) {
        for (int64_t j = 0; j < Co; ++j) t.data.push_back(big.data[size_t(parent[e] * 8 * Co + slot[e] * Co + j)]);
        for (int64_t j = 0; j < Co; ++j)  // repeat_interleave of x's group `slot`
          skip.data.push_back(h.data[size_t(parent[e] * Ci + slot[e] * g + j / rep)]);
      }
    } else {  // SparseResBlockUpsample3d: every child copies its parent's row
      t = conv(W, child, rows(silu(ln(W, h, p + ".norm1")), parent), p + ".conv1");
      skip = rows(h, parent);
      if (W.has(p + ".skip_connection.weight")) skip = linear(W, skip, p + ".skip_connection");
    }
    t = conv(W, child, silu(ln(t, 1e-6)), p + ".conv2");
    h = add(t, skip);
    L = std::move(child);
  }
  r.out = linear(W, ln(h, 1e-5), "output_layer");
  return r;
}

struct HostHead {
  H vertices, intersected, quad_lerp;
};
HostHead host_fdg_head(const H& h, double m) {
  const int64_t N = h.shape[0];
  HostHead o{{{N, 3}, DType::f32, {}}, {{N, 3}, DType::f32, {}}, {{N, 1}, DType::f32, {}}};
  for (int64_t i = 0; i < N; ++i) {
    const double* r = &h.data[size_t(i * 7)];
    for (int a = 0; a < 3; ++a) o.vertices.data.push_back((1 + 2 * m) / (1 + std::exp(-r[a])) - m);
    for (int a = 3; a < 6; ++a) o.intersected.data.push_back(r[a]);
    o.quad_lerp.data.push_back(r[6] > 20 ? r[6] : std::log1p(std::exp(r[6])));
  }
  return o;
}

// ---- data --------------------------------------------------------------------------------

H host_random(Shape s, uint64_t seed, double amp = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(-amp, amp);
  H h{s, DType::f32, {}};
  for (int64_t i = 0; i < shape_numel(s); ++i) h.data.push_back(double(float(d(rng))));
  return h;
}
std::vector<int32_t> flat(const std::vector<Coord>& cs) {
  std::vector<int32_t> v;
  for (auto& c : cs) v.insert(v.end(), c.begin(), c.end());
  return v;
}
std::vector<Coord> coords_of(const Tensor& t) {
  auto v = t.to_vector<int32_t>();
  std::vector<Coord> c(v.size() / 4);
  for (size_t i = 0; i < c.size(); ++i) c[i] = {v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]};
  return c;
}
H host_of(const Tensor& t) { return H{t.shape(), DType::f32, t.to_double()}; }

// n voxels over 2 batch items inside the latent grid g^3 (rows in random order within each batch).
std::vector<Coord> latent_coords(uint64_t seed, int64_t n, int32_t g) {
  std::mt19937_64 rng(seed);
  auto c = sparse_test::random_coords(rng, n, 2, 0.35);
  for (auto& x : c)
    for (int a = 1; a < 4; ++a) EXPECT_LT(x[a], g);
  return c;
}
SparseTensor make_latent(const std::vector<Coord>& c, const H& feats, int32_t g, Device& dev) {
  return SparseTensor(Tensor::from_vector(flat(c), {int64_t(c.size()), 4}, DType::i32, dev), to_device(feats, dev),
                      {g, g, g});
}


// Device subs -> host logits (for `follow` / `guide`).
std::vector<H> host_subs(const std::vector<SparseTensor>& subs) {
  std::vector<H> v;
  for (const auto& s : subs) v.push_back(host_of(s.feats()));
  return v;
}

constexpr int32_t kLatentGrid = 16;  // tiny shape decoder: resolution 64 / 2^(3-1)
constexpr int64_t kVoxels = 180;

// Runs the tiny shape decoder and checks it against the host composition;
// returns the host run (following the device's decisions).
struct ShapeCase {
  Net shape = tiny_net("shape_slat_decoder", 31);
  Net tex = tiny_net("tex_slat_decoder", 32);
  std::vector<Coord> coords = latent_coords(41, kVoxels, kLatentGrid);
  H latent = host_random({kVoxels, 8}, 42, 1.5);
  H tex_latent = host_random({kVoxels, 8}, 43, 1.5);
};
const ShapeCase& shape_case() {
  static const ShapeCase c;
  return c;
}

void expect_level_coords(const std::vector<SparseTensor>& subs, const HostRun& want) {
  ASSERT_EQ(subs.size() + 1, want.level_coords.size());
  for (size_t i = 0; i < subs.size(); ++i) {
    EXPECT_EQ(coords_of(subs[i].coords()), want.level_coords[i]) << "level " << i;
    EXPECT_NEAR(nmse_of(subs[i].feats(), want.logits[i]), 0.0, 1e-9) << "logits of up-block " << i;
  }
}

}  // namespace

// FlexiDualGridVaeDecoder (tiny preset: ConvNeXt blocks, C2S up-blocks,
// pred_subdiv): raw output, subdivision logits, level coordinates, the
// mesh head and upsample_coords, f32 torso.
TEST(RuntimeTrellis2ScVae, ShapeDecoderMatchesFloat64Composition) {
  const ShapeCase& sc = shape_case();
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto m = load(sc.shape, *dev);
    auto& dec = dynamic_cast<FlexiDualGridVaeDecoder&>(*m);
    SparseTensor lat = make_latent(sc.coords, sc.latent, kLatentGrid, *dev);
    std::vector<std::string> stages;
    ScVaeDecoded d = dec.forward(lat, [&](const std::string& n, const Tensor&) { stages.push_back(n); });
    EXPECT_EQ(stages, (std::vector<std::string>{"from_latent", "blocks.0.0", "blocks.0.1", "blocks.1.0", "blocks.1.1",
                                                "output_layer"}));
    ASSERT_EQ(d.subs.size(), 2u);
    std::vector<H> follow = host_subs(d.subs);
    HostRun want = host_decoder(sc.shape, sc.coords, sc.latent, nullptr, &follow, 1e-6);
    EXPECT_EQ(want.flips, 0) << "device decisions differ from the float64 ones";
    EXPECT_EQ(coords_of(d.out.coords()), want.level_coords.back());
    expect_level_coords(d.subs, want);
    const double e = nmse_of(d.out.feats(), want.out);
    std::printf("[ scvae shape f32 ] %s N %zu -> %zu -> %lld voxels, nmse %.3g (min |logit| %.2g)\n",
                dev->id().c_str(), sc.coords.size(), want.level_coords[1].size(), (long long)want.out.shape[0], e,
                want.min_margin);
    EXPECT_LT(e, 1e-9) << "nmse " << e;
    EXPECT_EQ(d.out.spatial_shape(), (std::array<int32_t, 3>{64, 64, 64}));

    // The mesh head (forward_dual_grid = set_resolution + forward + head).
    FlexiDualGridDecoded g = dec.forward_dual_grid(lat, 0);
    HostHead hh = host_fdg_head(want.out, sc.shape.cfg.voxel_margin);
    EXPECT_EQ(g.resolution, 64);
    EXPECT_EQ(g.voxel_margin, 0.5);
    EXPECT_EQ(g.coords.to_vector<int32_t>(), d.out.coords().to_vector<int32_t>());
    EXPECT_LT(nmse_of(g.vertices, hh.vertices), 1e-9);
    EXPECT_LT(nmse_of(g.intersected_logits, hh.intersected), 1e-9);
    EXPECT_LT(nmse_of(g.quad_lerp, hh.quad_lerp), 1e-9);
    ASSERT_EQ(g.subs.size(), 2u);

    // decoder.upsample(x, t): level t's coordinates.
    EXPECT_EQ(coords_of(dec.upsample_coords(lat, 1)), want.level_coords[1]);
    EXPECT_EQ(coords_of(dec.upsample_coords(lat, 2)), want.level_coords[2]);
    EXPECT_EQ(coords_of(dec.upsample_coords(lat, 0)), sc.coords);
  }
}

// SparseUnetVaeDecoder (tiny texture decoder, pred_subdiv false) guided by the
// shape decoder's subdivisions, as decode_tex_slat(slat, subs) calls it.
TEST(RuntimeTrellis2ScVae, TextureDecoderGuidedMatchesFloat64Composition) {
  const ShapeCase& sc = shape_case();
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto shape = load(sc.shape, *dev);
    auto tex = load(sc.tex, *dev);
    // Another tensor with the same coordinates (the texture latent's own).
    ScVaeDecoded sd = shape->forward(make_latent(sc.coords, sc.latent, kLatentGrid, *dev));
    std::vector<H> guide = host_subs(sd.subs);
    HostRun want = host_decoder(sc.tex, sc.coords, sc.tex_latent, &guide, nullptr, 0);
    std::vector<std::string> stages;
    SparseTensor got = tex->forward_guided(make_latent(sc.coords, sc.tex_latent, kLatentGrid, *dev), sd.subs,
                                           [&](const std::string& n, const Tensor&) { stages.push_back(n); });
    EXPECT_EQ(stages.size(), 6u);
    EXPECT_EQ(coords_of(got.coords()), want.level_coords.back());
    EXPECT_EQ(got.coords().to_vector<int32_t>(), sd.out.coords().to_vector<int32_t>());  // the shape decoder's voxels
    const double e = nmse_of(got.feats(), want.out);
    std::printf("[ scvae tex guided f32 ] %s %lld voxels, nmse %.3g\n", dev->id().c_str(), (long long)want.out.shape[0],
                e);
    EXPECT_LT(e, 1e-9) << "nmse " << e;
  }
}

namespace {

// ResBlocks, a ConvNeXt block with mlp_ratio 2.5, an Upsample up-block with a
// Linear skip (24 -> 16) and a C2S up-block (16 -> 8, repeat 4); the guided
// twin has an Upsample with the identity skip (16 -> 16).
std::string mixed_args(bool pred, int64_t ch0) {
  return fmt::format(R"({{"out_channels": 5, "pred_subdiv": {}, "model_channels": [{}, 16, 8], "latent_channels": 6,
    "num_blocks": [1, 2, 1],
    "block_type": ["SparseResBlock3d", "SparseConvNeXtBlock3d", "SparseResBlock3d"],
    "up_block_type": ["SparseResBlockUpsample3d", "SparseResBlockC2S3d"],
    "block_args": [{{}}, {{"mlp_ratio": 2.5, "use_checkpoint": false}}, {{}}], "use_fp16": true}})",
                     pred ? "true" : "false", ch0);
}

}  // namespace

// Upsample and C2S up-blocks, ResBlocks, with predicted and with guided
// subdivisions (the official SparseResBlockUpsample3d.forward drops the
// subdiv argument, so a guided Upsample decoder does not run there; Tessera
// follows its _forward).
TEST(RuntimeTrellis2ScVae, UpsampleAndResBlocksMatchFloat64Composition) {
  static const Net pred = make_net("mixed_pred", "SparseUnetVaeDecoder", mixed_args(true, 24), 51);
  static const Net guided = make_net("mixed_guided", "SparseUnetVaeDecoder", mixed_args(false, 16), 52);
  const int64_t N = 150;
  const int32_t g = 12;
  const auto coords = latent_coords(53, N, g);
  const H lat = host_random({N, 6}, 54, 1.5), lat2 = host_random({N, 6}, 55, 1.5);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto a = load(pred, *dev);
    auto b = load(guided, *dev);
    ScVaeDecoded d = a->forward(make_latent(coords, lat, g, *dev));
    std::vector<H> follow = host_subs(d.subs);
    HostRun want = host_decoder(pred, coords, lat, nullptr, &follow, 1e-6);
    EXPECT_EQ(want.flips, 0);
    expect_level_coords(d.subs, want);
    EXPECT_EQ(coords_of(d.out.coords()), want.level_coords.back());
    double e = nmse_of(d.out.feats(), want.out);
    std::printf("[ scvae upsample pred f32 ] %s %zu -> %zu -> %lld voxels, nmse %.3g\n", dev->id().c_str(), coords.size(),
                want.level_coords[1].size(), (long long)want.out.shape[0], e);
    EXPECT_LT(e, 1e-9) << "nmse " << e;

    HostRun want2 = host_decoder(guided, coords, lat2, &follow, nullptr, 0);
    SparseTensor got = b->forward_guided(make_latent(coords, lat2, g, *dev), d.subs);
    EXPECT_EQ(coords_of(got.coords()), want2.level_coords.back());
    e = nmse_of(got.feats(), want2.out);
    std::printf("[ scvae upsample guided f32 ] %s nmse %.3g\n", dev->id().c_str(), e);
    EXPECT_LT(e, 1e-9) << "nmse " << e;
  }
}

// Storage order: permuting the latent's rows (within each batch item) gives
// the same voxels with the same features, subdivision logits included, and
// the texture decoder guided by the permuted run's subs agrees too.
TEST(RuntimeTrellis2ScVae, OutputIndependentOfVoxelOrder) {
  const ShapeCase& sc = shape_case();
  // A permutation within each batch item (rows stay batch-sorted).
  std::vector<size_t> perm(sc.coords.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(61);
  for (size_t s = 0; s < perm.size();) {
    size_t e = s;
    while (e < perm.size() && sc.coords[e][0] == sc.coords[s][0]) ++e;
    std::shuffle(perm.begin() + long(s), perm.begin() + long(e), rng);
    s = e;
  }
  std::vector<Coord> pc;
  H pl{sc.latent.shape, DType::f32, {}}, pt{sc.tex_latent.shape, DType::f32, {}};
  for (size_t i : perm) {
    pc.push_back(sc.coords[i]);
    for (int64_t j = 0; j < 8; ++j) {
      pl.data.push_back(sc.latent.data[i * 8 + size_t(j)]);
      pt.data.push_back(sc.tex_latent.data[i * 8 + size_t(j)]);
    }
  }
  std::string dev_id;
  // Rows keyed by coordinate.
  auto by_coord = [](const SparseTensor& s) {
    std::map<Coord, std::vector<double>> m;
    auto c = coords_of(s.coords());
    auto f = s.feats().to_double();
    const size_t C = size_t(s.channels());
    for (size_t i = 0; i < c.size(); ++i) m[c[i]] = std::vector<double>(f.begin() + long(i * C), f.begin() + long((i + 1) * C));
    EXPECT_EQ(m.size(), c.size()) << "duplicate voxels";
    return m;
  };
  auto expect_same = [&](const SparseTensor& a, const SparseTensor& b, const char* what) {
    auto ma = by_coord(a), mb = by_coord(b);
    ASSERT_EQ(ma.size(), mb.size()) << what;
    std::vector<double> x, y;
    for (const auto& [k, v] : ma) {
      auto it = mb.find(k);
      ASSERT_TRUE(it != mb.end()) << what << ": voxel missing after the permutation";
      x.insert(x.end(), v.begin(), v.end());
      y.insert(y.end(), it->second.begin(), it->second.end());
    }
    const double e = nmse(y, x);
    std::printf("[ scvae permuted ] %s %s: %zu voxels, nmse %.3g\n", dev_id.c_str(), what, ma.size(), e);
    EXPECT_LT(e, 1e-10) << what << " nmse " << e;
  };
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    dev_id = dev->id();
    auto shape = load(sc.shape, *dev);
    auto tex = load(sc.tex, *dev);
    ScVaeDecoded a = shape->forward(make_latent(sc.coords, sc.latent, kLatentGrid, *dev));
    ScVaeDecoded b = shape->forward(make_latent(pc, pl, kLatentGrid, *dev));
    expect_same(a.out, b.out, "shape output");
    for (size_t i = 0; i < a.subs.size(); ++i) expect_same(a.subs[i], b.subs[i], "subdivision logits");
    EXPECT_NE(a.out.coords().to_vector<int32_t>(), b.out.coords().to_vector<int32_t>()) << "the permutation is trivial";
    SparseTensor ta = tex->forward_guided(make_latent(sc.coords, sc.tex_latent, kLatentGrid, *dev), a.subs);
    SparseTensor tb = tex->forward_guided(make_latent(pc, pt, kLatentGrid, *dev), b.subs);
    expect_same(ta, tb, "texture output");
    // The output rows follow the documented order: parents in row order, then k.
    EXPECT_EQ(tb.coords().to_vector<int32_t>(), b.out.coords().to_vector<int32_t>());
  }
}

// The released decoders' precision: f16 torso weights and activations, f32
// from_latent / output_layer / LayerNorm statistics, against the float64
// composition (which uses the same f16-representable weights).
TEST(RuntimeTrellis2ScVae, F16TorsoStaysClose) {
  const ShapeCase& sc = shape_case();
  const double margin = 0.05;  // an f16 logit this close to 0 may decide differently
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    auto shape = load(sc.shape, *dev, DType::f16);
    auto tex = load(sc.tex, *dev, DType::f16);
    SparseTensor lat = make_latent(sc.coords, sc.latent, kLatentGrid, *dev);
    FlexiDualGridDecoded g = dynamic_cast<FlexiDualGridVaeDecoder&>(*shape).forward_dual_grid(lat, 0);
    ASSERT_EQ(g.subs.size(), 2u);
    EXPECT_EQ(g.subs[0].feats().dtype(), DType::f16);
    EXPECT_EQ(g.vertices.dtype(), DType::f32);
    std::vector<H> follow = host_subs(g.subs);
    HostRun want = host_decoder(sc.shape, sc.coords, sc.latent, nullptr, &follow, margin);
    EXPECT_EQ(want.flips, 0) << "f16 decisions differ from float64 ones away from 0";
    EXPECT_EQ(coords_of(g.coords), want.level_coords.back());
    HostHead hh = host_fdg_head(want.out, 0.5);
    double logit_e = 0;
    for (size_t i = 0; i < g.subs.size(); ++i) logit_e = std::max(logit_e, nmse_of(g.subs[i].feats(), want.logits[i]));
    const double ev = nmse_of(g.vertices, hh.vertices), ei = nmse_of(g.intersected_logits, hh.intersected),
                 eq = nmse_of(g.quad_lerp, hh.quad_lerp);
    SparseTensor t = tex->forward_guided(make_latent(sc.coords, sc.tex_latent, kLatentGrid, *dev), g.subs);
    EXPECT_EQ(t.feats().dtype(), DType::f32);
    HostRun twant = host_decoder(sc.tex, sc.coords, sc.tex_latent, &follow, nullptr, 0);
    const double et = nmse_of(t.feats(), twant.out);
    std::printf("[ scvae f16 ] %s nmse logits %.3g vertices %.3g intersected %.3g quad_lerp %.3g texture %.3g\n",
                dev->id().c_str(), logit_e, ev, ei, eq, et);
    // ~20 f16 roundings of O(1) activations: ~2e-6 measured on every backend.
    for (double e : {logit_e, ev, ei, eq, et}) EXPECT_LT(e, 3e-5) << "nmse " << e;
  }
}

TEST(Trellis2ScVaeValidation, BadInputsAreClearErrors) {
  const ShapeCase& sc = shape_case();
  Device& cpu = BackendRegistry::get().cpu();
  auto shape = load(sc.shape, cpu);
  auto tex = load(sc.tex, cpu);
  auto& fdg = dynamic_cast<FlexiDualGridVaeDecoder&>(*shape);
  SparseTensor lat = make_latent(sc.coords, sc.latent, kLatentGrid, cpu);
  // Wrong latent channels.
  expect_error([&] { shape->forward(make_latent(sc.coords, host_random({kVoxels, 7}, 1), kLatentGrid, cpu)); },
               "latent_channels = 8");
  // Coordinates outside the latent grid of the resolution (64 / 4 = 16).
  std::vector<Coord> far = sc.coords;
  far.back()[1] = 16;
  expect_error([&] { fdg.forward_dual_grid(make_latent(far, sc.latent, 32, cpu)); }, "outside the latent grid 16^3");
  expect_error([&] { fdg.forward_dual_grid(lat, 16); }, "outside the latent grid 4^3");
  expect_error([&] { fdg.forward_dual_grid(lat, 66); }, "multiple of 2^(levels-1) = 4");
  // ... and outside the SparseTensor's own spatial shape.
  expect_error([&] { make_latent(far, sc.latent, kLatentGrid, cpu); }, "outside the spatial shape");
  // Guided vs predicted.
  expect_error([&] { tex->forward(lat); }, "call forward_guided");
  ScVaeDecoded d = shape->forward(lat);
  expect_error([&] { shape->forward_guided(lat, d.subs); }, "pred_subdiv = false");
  expect_error([&] { tex->forward_guided(lat, {d.subs[0]}); }, "need 2 guide subdivisions, got 1");
  // Guides from other voxels (same count, another order).
  std::vector<Coord> rev(sc.coords.rbegin(), sc.coords.rend());
  std::stable_sort(rev.begin(), rev.end(), [](const Coord& a, const Coord& b) { return a[0] < b[0]; });
  expect_error([&] { tex->forward_guided(make_latent(rev, sc.latent, kLatentGrid, cpu), d.subs); }, "other voxels");
  // A guide that subdivides nothing.
  std::vector<SparseTensor> none = d.subs;
  none[0] = d.subs[0].with_feats(to_device(H{{kVoxels, 8}, DType::f32, std::vector<double>(kVoxels * 8, -1.0)}, cpu));
  expect_error([&] { tex->forward_guided(lat, none); }, "no voxel is subdivided");
  // Guide logits of the wrong shape.
  std::vector<SparseTensor> bad = d.subs;
  bad[1] = d.subs[0];
  expect_error([&] { tex->forward_guided(lat, bad); }, "guide subdivision 1 must have float feats");
  expect_error([&] { shape->upsample_coords(lat, 3); }, "outside [0, 2]");
  expect_error([&] { tex->upsample_coords(lat, 1); }, "pred_subdiv = true");
  // Not loaded.
  auto fresh = make_sc_vae_decoder(sc.shape.mc);
  expect_error([&] { fresh->forward(lat); }, "before load_state");
}
