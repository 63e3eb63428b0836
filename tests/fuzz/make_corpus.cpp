// Writes the seed corpora under <dir>/{safetensors,json_config,image}: small
// valid files made with Tessera's own writer and encoders.
// Usage: fuzz_make_corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/image.hpp"
#include "core/safetensors.hpp"

using namespace tessera;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
void put_text(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

// Minimal PNG (stored deflate) for bit depths stb_image_write cannot produce.
uint32_t crc32(const std::vector<uint8_t>& d) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : d) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}
void be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(uint8_t(x >> (8 * i)));
}
void chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  be32(png, uint32_t(data.size()));
  std::vector<uint8_t> td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  png.insert(png.end(), td.begin(), td.end());
  be32(png, crc32(td));
}
std::vector<uint8_t> png16(int w, int h, int color_type, int ch) {
  std::vector<uint8_t> raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    for (int x = 0; x < w * ch; ++x) {
      uint16_t s = uint16_t(x * 9001 + y * 777);
      raw.push_back(uint8_t(s >> 8));
      raw.push_back(uint8_t(s));
    }
  }
  std::vector<uint8_t> z = {0x78, 0x01, 1, uint8_t(raw.size()), uint8_t(raw.size() >> 8), uint8_t(~raw.size()),
                            uint8_t((~raw.size()) >> 8)};
  z.insert(z.end(), raw.begin(), raw.end());
  uint32_t a = 1, b = 0;
  for (uint8_t c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  be32(z, (b << 16) | a);
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, ihdr;
  be32(ihdr, uint32_t(w));
  be32(ihdr, uint32_t(h));
  ihdr.insert(ihdr.end(), {16, uint8_t(color_type), 0, 0, 0});
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  return png;
}

Image object(int w, int h, int ch) {
  Image im = Image::blank(w, h, ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = im.at(x, y);
      p[0] = uint8_t(x * 20);
      p[1] = uint8_t(y * 20);
      p[2] = uint8_t((x + y) * 10);
      if (ch == 4) p[3] = (x > w / 4 && x < 3 * w / 4 && y > h / 4 && y < 3 * h / 4) ? 255 : uint8_t(x * 8);
    }
  return im;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  fs::path root = argv[1];
  for (const char* d : {"safetensors", "json_config", "image"}) fs::create_directories(root / d);
  try {
    // --- safetensors ---
    std::vector<float> a = {1, 2, 3, 4};
    std::vector<uint16_t> w = {0x3f80, 0xbf80, 0x4000, 0x0000, 0x7f80, 0x7fc0};
    std::vector<uint16_t> hb = {0x3c00, 0x0001, 0xfbff};
    std::vector<int64_t> idx = {0, 1, -1, 1ll << 40};
    write_safetensors((root / "safetensors/module.safetensors").string(),
                      {SafetensorsEntry::from_host("a", StDType::F32, {2, 2}, a.data()),
                       SafetensorsEntry::from_host("blocks.0.weight", StDType::BF16, {3, 2}, w.data()),
                       SafetensorsEntry::from_host("blocks.0.bias", StDType::F16, {3}, hb.data()),
                       SafetensorsEntry::from_host("idx", StDType::I64, {4}, idx.data())},
                      {{"format", "pt"}});
    std::vector<double> d = {0.5, -1e300};
    std::vector<int32_t> i32 = {-5, 70000};
    std::vector<int16_t> i16 = {-300, 300};
    std::vector<int8_t> i8 = {-1, 1};
    std::vector<uint8_t> u8 = {0, 255}, bl = {0, 1};
    write_safetensors((root / "safetensors/dtypes.safetensors").string(),
                      {SafetensorsEntry::from_host("f64", StDType::F64, {2}, d.data()),
                       SafetensorsEntry::from_host("i32", StDType::I32, {2, 1}, i32.data()),
                       SafetensorsEntry::from_host("i16", StDType::I16, {1, 2}, i16.data()),
                       SafetensorsEntry::from_host("i8", StDType::I8, {2}, i8.data()),
                       SafetensorsEntry::from_host("u8", StDType::U8, {2}, u8.data()),
                       SafetensorsEntry::from_host("bool", StDType::BOOL, {2}, bl.data()),
                       SafetensorsEntry::from_host("empty", StDType::F32, {0, 3}, nullptr),
                       SafetensorsEntry::from_host("scalar", StDType::F32, {}, a.data())});
    write_safetensors((root / "safetensors/empty.safetensors").string(), {});

    // --- json ---
    put_text(root / "json_config/pipeline.json", R"({"name": "Trellis2ImageTo3DPipeline", "args": {
  "models": {"sparse_structure_flow_model": "ckpts/ss_flow_img_dit_1_3B_64_bf16",
             "sparse_structure_decoder": "microsoft/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16"},
  "sparse_structure_sampler": {"name": "FlowEulerGuidanceIntervalSampler", "args": {"sigma_min": 1e-5},
    "params": {"steps": 12, "guidance_strength": 7.5, "guidance_rescale": 0.7, "guidance_interval": [0.6, 1.0], "rescale_t": 5.0}},
  "shape_slat_normalization": {"mean": [0.78, -0.1], "std": [5.0, 4.5]},
  "image_cond_model": {"name": "DinoV3FeatureExtractor", "args": {"model_name": "facebook/dinov3-vitl16-pretrain-lvd1689m"}},
  "rembg_model": {"name": "BiRefNet", "args": {"model_name": "briaai/RMBG-2.0"}},
  "low_vram": true, "default_pipeline_type": "1024_cascade"}}
)");
    put_text(root / "json_config/model.json", R"({"name": "SparseStructureFlowModel", "args": {"resolution": 16, "in_channels": 8,
  "model_channels": 1536, "num_blocks": 30, "mlp_ratio": 5.3334, "pe_mode": "rope", "share_mod": true,
  "model_channels_list": [1024, 512, 256], "dtype": null}}
)");
    put_text(root / "json_config/nested.json", R"({"a": {"b": [{"c": 1}, {"c": -2.5e-3}], "s": "\u00e9\ud83d\ude00"}, "n": 18446744073709551615})");

    // --- images ---
    put(root / "image/rgb8.png", encode_png(object(8, 6, 3)));
    put(root / "image/rgba8.png", encode_png(object(12, 10, 4)));
    put(root / "image/rgba16.png", png16(6, 5, 6, 4));
    put(root / "image/rgb16.png", png16(4, 3, 2, 3));
    put(root / "image/rgb.jpg", encode_jpeg(object(8, 8, 3), 80));
    put(root / "image/rgba_lossless.webp", encode_webp(object(12, 10, 4)));
    put(root / "image/rgb_lossy.webp", encode_webp(object(16, 16, 3), 50));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
