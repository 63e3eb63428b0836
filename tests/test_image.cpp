// Image input (PNG 8/16 bit, JPEG, WebP), hostile image bytes, and the
// official preprocessing. The golden values in ImagePreprocess.* were computed
// with Pillow 9.4 + NumPy 1.24 (Debian bookworm) running the official
// TRELLIS.2 preprocess_image / DinoV3FeatureExtractor code on the same
// synthetic inputs (see synth() below): Tessera's output is byte-identical.
#include <gtest/gtest.h>

#include "tests/test_env.hpp"
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/image.hpp"
#include "models/common/image_preprocess.hpp"

using namespace tessera;
using namespace tessera::models;

namespace {

// ---- a minimal PNG writer (stored deflate), for 16-bit and grey test files ----

uint32_t crc32(const uint8_t* d, size_t n, uint32_t c = 0xffffffffu) {
  for (size_t i = 0; i < n; ++i) {
    c ^= d[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c;
}

void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(uint8_t(x >> (8 * i)));
}

void chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  put32(png, uint32_t(data.size()));
  std::vector<uint8_t> td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  png.insert(png.end(), td.begin(), td.end());
  put32(png, crc32(td.data(), td.size()) ^ 0xffffffffu);
}

// color_type: 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA; samples big-endian per bit depth.
std::vector<uint8_t> make_png(int w, int h, int bit_depth, int color_type, const std::vector<uint16_t>& samples) {
  static const int chans[] = {1, 0, 3, 0, 2, 0, 4};
  int ch = chans[color_type];
  std::vector<uint8_t> raw;
  size_t si = 0;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < w * ch; ++x) {
      uint16_t s = samples[si++];
      if (bit_depth == 16) raw.push_back(uint8_t(s >> 8));
      raw.push_back(uint8_t(s));
    }
  }
  std::vector<uint8_t> z = {0x78, 0x01};
  for (size_t off = 0; off < raw.size() || off == 0;) {
    size_t n = std::min<size_t>(65535, raw.size() - off);
    bool last = off + n >= raw.size();
    z.push_back(last ? 1 : 0);
    z.push_back(uint8_t(n));
    z.push_back(uint8_t(n >> 8));
    z.push_back(uint8_t(~n));
    z.push_back(uint8_t((~n) >> 8));
    z.insert(z.end(), raw.begin() + long(off), raw.begin() + long(off + n));
    off += n;
    if (last) break;
  }
  uint32_t a = 1, b = 0;
  for (uint8_t c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put32(z, (b << 16) | a);
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  std::vector<uint8_t> ihdr;
  put32(ihdr, uint32_t(w));
  put32(ihdr, uint32_t(h));
  ihdr.insert(ihdr.end(), {uint8_t(bit_depth), uint8_t(color_type), 0, 0, 0});
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  return png;
}

// The synthetic pattern used for the golden values (same formula in the Python oracle).
uint8_t pattern(int x, int y, int c, int seed) { return uint8_t((x * 31 + y * 17 + c * 71 + ((x * y) % 13) * 5 + seed * 29) % 256); }

Image synth_plain(int w, int h, int ch, int seed) {
  Image im = Image::blank(w, h, ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < ch; ++c) im.at(x, y)[c] = pattern(x, y, c, seed);
  return im;
}

// RGB pattern plus an alpha that is > 204 inside a rectangle and <= 204 outside.
Image synth_object(int w, int h, int ch, int seed) {
  Image im = Image::blank(w, h, ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) im.at(x, y)[c] = pattern(x, y, c, seed);
      if (ch == 4) {
        bool in = x >= w / 4 && x < (3 * w) / 4 + seed % 3 && y >= h / 3 && y < (5 * h) / 6;
        im.at(x, y)[3] = in ? uint8_t(205 + (x + y) % 51) : uint8_t((x * 7 + y * 3) % 205);
      }
    }
  return im;
}

uint64_t fnv1a(const void* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<const uint8_t*>(p)[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string decode_error(const std::vector<uint8_t>& bytes, const ImageLimits& lim = {}) {
  try {
    decode_image(bytes.data(), bytes.size(), "bad.img", lim);
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_NE(m.find("image 'bad.img'"), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "accepted bad image bytes";
  return "";
}

int max_abs_diff(const Image& a, const Image& b) {
  EXPECT_EQ(a.pixels.size(), b.pixels.size());
  int d = 0;
  for (size_t i = 0; i < std::min(a.pixels.size(), b.pixels.size()); ++i) d = std::max(d, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return d;
}

}  // namespace

// ---- decoding -------------------------------------------------------------------------

TEST(ImageIO, PngRoundTrip8Bit) {
  for (int ch : {3, 4}) {
    Image im = synth_plain(23, 17, ch, 1);
    auto png = encode_png(im);
    EXPECT_EQ(detect_image_format(png.data(), png.size()), ImageFormat::png);
    Image back = decode_image(png.data(), png.size());
    EXPECT_EQ(back.width, 23);
    EXPECT_EQ(back.height, 17);
    EXPECT_EQ(back.channels, ch);
    EXPECT_EQ(back.source_bits, 8);
    EXPECT_EQ(back.pixels, im.pixels);
  }
}

TEST(ImageIO, Png16BitKeepsHighByte) {
  const int w = 5, h = 3;
  std::vector<uint16_t> rgba, rgb;
  for (int i = 0; i < w * h; ++i) {
    for (int c = 0; c < 4; ++c) rgba.push_back(uint16_t(i * 4099 + c * 12345 + 0x00ff));
    for (int c = 0; c < 3; ++c) rgb.push_back(uint16_t(65535 - i * 3001 - c));
  }
  Image a = decode_image(make_png(w, h, 16, 6, rgba).data(), make_png(w, h, 16, 6, rgba).size(), "a16.png");
  ASSERT_EQ(a.channels, 4);
  EXPECT_EQ(a.source_bits, 16);
  for (size_t i = 0; i < rgba.size(); ++i) ASSERT_EQ(a.pixels[i], uint8_t(rgba[i] >> 8)) << i;
  auto rgb_png = make_png(w, h, 16, 2, rgb);
  Image b = decode_image(rgb_png.data(), rgb_png.size(), "b16.png");
  ASSERT_EQ(b.channels, 3);
  EXPECT_EQ(b.source_bits, 16);
  for (size_t i = 0; i < rgb.size(); ++i) ASSERT_EQ(b.pixels[i], uint8_t(rgb[i] >> 8)) << i;
}

TEST(ImageIO, GreyAndGreyAlphaBecomeRgbAndRgba) {
  auto g = make_png(2, 2, 8, 0, {0, 100, 200, 255});
  Image gi = decode_image(g.data(), g.size());
  EXPECT_EQ(gi.channels, 3);
  EXPECT_EQ(gi.pixels, (std::vector<uint8_t>{0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255}));
  auto ga = make_png(2, 1, 8, 4, {10, 0, 20, 255});
  Image gai = decode_image(ga.data(), ga.size());
  EXPECT_EQ(gai.channels, 4);
  EXPECT_EQ(gai.pixels, (std::vector<uint8_t>{10, 10, 10, 0, 20, 20, 20, 255}));
}

TEST(ImageIO, JpegDecodes) {
  Image im = Image::blank(32, 24, 3);
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 32; ++x) {
      im.at(x, y)[0] = uint8_t(x * 8);
      im.at(x, y)[1] = uint8_t(y * 10);
      im.at(x, y)[2] = 128;
    }
  auto jpg = encode_jpeg(im, 95);
  EXPECT_EQ(detect_image_format(jpg.data(), jpg.size()), ImageFormat::jpeg);
  Image back = decode_image(jpg.data(), jpg.size(), "x.jpg");
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.width, 32);
  EXPECT_LE(max_abs_diff(back, im), 24);  // lossy
}

TEST(ImageIO, JpegPixelsMatchPillow) {
  // libjpeg-turbo with default settings, as Pillow decodes (hash from Pillow 9.4).
  Image im = load_image(test::source_dir() + "/tests/fuzz/corpus/image/rgb.jpg");
  ASSERT_EQ(im.width, 8);
  ASSERT_EQ(im.height, 8);
  ASSERT_EQ(im.channels, 3);
  EXPECT_EQ(std::vector<uint8_t>(im.at(0, 0), im.at(0, 0) + 3), (std::vector<uint8_t>{1, 1, 1}));
  EXPECT_EQ(std::vector<uint8_t>(im.at(7, 7), im.at(7, 7) + 3), (std::vector<uint8_t>{139, 139, 139}));
  EXPECT_EQ(fnv1a(im.pixels.data(), im.pixels.size()), 0xdf59641198559675ull);
}

TEST(ImageIO, GreyAndGreyAlpha16Bit) {
  // Grey and 16-bit grey+alpha go through libpng's expansions.
  auto g1 = make_png(3, 1, 8, 0, {0, 128, 255});
  EXPECT_EQ(decode_image(g1.data(), g1.size()).pixels, (std::vector<uint8_t>{0, 0, 0, 128, 128, 128, 255, 255, 255}));
  auto la16 = make_png(1, 1, 16, 4, {0xABCD, 0x1234});
  Image la = decode_image(la16.data(), la16.size());
  EXPECT_EQ(la.channels, 4);
  EXPECT_EQ(la.source_bits, 16);
  EXPECT_EQ(la.pixels, (std::vector<uint8_t>{0xAB, 0xAB, 0xAB, 0x12}));
}

TEST(ImageIO, WebpLosslessAndLossy) {
  for (int ch : {3, 4}) {
    Image im = synth_plain(19, 11, ch, 2);
    auto ll = encode_webp(im);
    EXPECT_EQ(detect_image_format(ll.data(), ll.size()), ImageFormat::webp);
    Image back = decode_image(ll.data(), ll.size(), "x.webp");
    EXPECT_EQ(back.channels, ch);
    EXPECT_EQ(back.pixels, im.pixels);
  }
  Image smooth = Image::blank(40, 40, 3);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) smooth.at(x, y)[0] = smooth.at(x, y)[1] = smooth.at(x, y)[2] = uint8_t(x * 3 + y * 2);
  auto lossy = encode_webp(smooth, 90.f);
  Image lb = decode_image(lossy.data(), lossy.size(), "l.webp");
  EXPECT_EQ(lb.channels, 3);
  EXPECT_LE(max_abs_diff(lb, smooth), 16);
}

TEST(ImageIO, LoadFromFile) {
  Image im = synth_plain(8, 6, 4, 3);
  std::string path = ::testing::TempDir() + "tessera_img_" + std::to_string(::getpid()) + ".png";
  save_png(im, path);
  Image back = load_image(path);
  EXPECT_EQ(back.pixels, im.pixels);
  std::remove(path.c_str());
  try {
    load_image(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open file"), std::string::npos) << e.what();
  }
}

TEST(ImageIO, BadBytesAreOneLineErrors) {
  EXPECT_NE(decode_error({}).find("empty file"), std::string::npos);
  EXPECT_NE(decode_error({'G', 'I', 'F', '8', '9', 'a', 0, 0}).find("unsupported image format (expected PNG, JPEG or WebP; the file starts with 'GIF89a"),
            std::string::npos);
  std::mt19937 rng(3);
  std::vector<uint8_t> junk(300);
  for (auto& b : junk) b = uint8_t(rng());
  junk[0] = 'x';
  EXPECT_NE(decode_error(junk).find("unsupported image format"), std::string::npos);
  // Right signature, garbage after it: the decoder's reason is reported.
  auto png = encode_png(synth_plain(16, 16, 3, 0));
  std::vector<uint8_t> sig_only(png.begin(), png.begin() + 8);
  sig_only.resize(40, 0xAB);
  EXPECT_NE(decode_error(sig_only).find("cannot decode PNG: "), std::string::npos);
  auto truncated = png;
  truncated.resize(png.size() / 2);
  EXPECT_NE(decode_error(truncated).find("cannot decode PNG: "), std::string::npos);
  auto bad_crc = png;
  bad_crc[29] ^= 1;  // inside the IHDR CRC
  EXPECT_NE(decode_error(bad_crc).find("CRC"), std::string::npos);
  auto jpg = encode_jpeg(synth_plain(16, 16, 3, 0));
  std::vector<uint8_t> jbad(jpg.begin(), jpg.begin() + 3);
  jbad.resize(64, 0x00);
  EXPECT_NE(decode_error(jbad).find("cannot decode JPEG: "), std::string::npos);
  auto jt = jpg;
  jt.resize(jpg.size() - 40);
  EXPECT_NE(decode_error(jt).find("truncated JPEG data"), std::string::npos);
  auto webp = encode_webp(synth_plain(16, 16, 3, 0));
  auto wt = webp;
  wt.resize(webp.size() - 10);
  EXPECT_NE(decode_error(wt).find("WebP"), std::string::npos);
  std::vector<uint8_t> riff = {'R', 'I', 'F', 'F', 4, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' '};
  EXPECT_NE(decode_error(riff).find("invalid WebP data"), std::string::npos);
}

TEST(ImageIO, DimensionLimits) {
  // A PNG header claiming 20000 x 10: refused before decoding.
  auto big = make_png(20000, 1, 8, 0, std::vector<uint16_t>(20000, 7));
  EXPECT_NE(decode_error(big).find("20000x1 exceeds the limit of 16384 pixels per side"), std::string::npos);
  ImageLimits lim;
  lim.max_pixels = 100;
  auto px = encode_png(synth_plain(11, 10, 3, 0));
  EXPECT_NE(decode_error(px, lim).find("11x10 = 110 pixels exceeds the limit of 100 pixels"), std::string::npos);
  auto wp = encode_webp(synth_plain(11, 10, 3, 0));
  EXPECT_NE(decode_error(wp, lim).find("exceeds the limit"), std::string::npos);
}

TEST(ImageIO, RandomCorruptionNeverCrashes) {
  std::vector<std::vector<uint8_t>> seeds = {encode_png(synth_plain(9, 7, 4, 1)), encode_jpeg(synth_plain(9, 7, 3, 1)),
                                             encode_webp(synth_plain(9, 7, 4, 1)), encode_webp(synth_plain(9, 7, 3, 1), 50),
                                             make_png(4, 3, 16, 6, std::vector<uint16_t>(48, 0x1234))};
  std::mt19937 rng(9);
  ImageLimits lim;
  lim.max_pixels = 1 << 20;
  for (int it = 0; it < 2000; ++it) {
    auto b = seeds[size_t(it) % seeds.size()];
    int flips = 1 + int(rng() % 6);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
    if (rng() % 5 == 0) b.resize(1 + rng() % b.size());
    try {
      Image im = decode_image(b.data(), b.size(), "fuzz", lim);
      ASSERT_EQ(im.pixels.size(), size_t(im.width) * size_t(im.height) * size_t(im.channels));
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
}

// ---- preprocessing -----------------------------------------------------------------------

TEST(ImagePreprocess, LanczosMatchesPillow) {
  struct Case {
    int w, h, ch, seed, ow, oh;
    uint64_t hash;
    std::vector<uint8_t> first, last;
  };
  std::vector<Case> cases = {
      {37, 23, 3, 0, 16, 16, 0xd0a2520d37abe4e5ull, {26, 91, 187}, {151, 54, 98}},              // downscale
      {50, 40, 4, 2, 21, 33, 0x814c3bb420b7e80bull, {58, 163, 176, 39}, {168, 125, 54, 130}},  // RGBA, premultiplied
      {13, 9, 3, 1, 29, 17, 0x416d733822f78dc4ull, {25, 96, 168}, {58, 121, 192}},              // upscale
  };
  for (const auto& c : cases) {
    Image r = resize_lanczos(synth_plain(c.w, c.h, c.ch, c.seed), c.ow, c.oh);
    ASSERT_EQ(r.width, c.ow);
    ASSERT_EQ(r.height, c.oh);
    std::vector<uint8_t> first(r.at(0, 0), r.at(0, 0) + c.ch), last(r.at(c.ow - 1, c.oh - 1), r.at(c.ow - 1, c.oh - 1) + c.ch);
    EXPECT_EQ(first, c.first) << c.w << "x" << c.h;
    EXPECT_EQ(last, c.last) << c.w << "x" << c.h;
    EXPECT_EQ(fnv1a(r.pixels.data(), r.pixels.size()), c.hash) << c.w << "x" << c.h;
  }
  // Same size: a copy. Constant images stay constant.
  Image s = synth_plain(5, 4, 3, 0);
  EXPECT_EQ(resize_lanczos(s, 5, 4).pixels, s.pixels);
  Image k = Image::blank(30, 20, 4);
  std::fill(k.pixels.begin(), k.pixels.end(), 200);
  Image kr = resize_lanczos(k, 7, 45);
  for (uint8_t v : kr.pixels) ASSERT_EQ(v, 200);
}

TEST(ImagePreprocess, MatchesOfficialPipeline) {
  struct Case {
    int w, h, ch, seed;
    double crop_scale;
    int S;
    int out_side;
    uint64_t hash;
    std::vector<uint8_t> centre;
    uint64_t dino_hash;
    float d000, d2last;
  };
  std::vector<Case> cases = {
      // 1300x900 RGBA: downscaled to 1024x708 (LANCZOS, premultiplied), then cropped.
      {1300, 900, 4, 1, 1.0, 64, 1022, 0xf678ee6018dcd70eull, {142, 230, 34}, 0x1ba8dd1d0e90ddf5ull, -2.1179039478302f, -1.804444432258606f},
      // Pixal3D's 1.1 margin.
      {64, 64, 4, 3, 1.1, 32, 34, 0xf210d60887292430ull, {135, 197, 36}, 0xcda5d1bf7acfe7a4ull, -0.7821731567382812f, -1.490718960762024f},
      // No alpha: the whole image is the object.
      {90, 60, 3, 7, 1.0, 32, 88, 0xa17a319f178a23e4ull, {64, 135, 206}, 0xccfb565395c3ce59ull, -2.1179039478302f, -1.804444432258606f},
  };
  for (const auto& c : cases) {
    PreprocessOptions o;
    o.crop_scale = c.crop_scale;
    PreprocessInfo info;
    Image p = preprocess_image(synth_object(c.w, c.h, c.ch, c.seed), o, &info);
    EXPECT_EQ(info.used_alpha, c.ch == 4);
    EXPECT_EQ(info.downscaled, c.w > 1024);
    ASSERT_EQ(p.channels, 3);
    ASSERT_EQ(p.width, c.out_side);
    ASSERT_EQ(p.height, c.out_side);
    std::vector<uint8_t> centre(p.at(p.width / 2, p.height / 2), p.at(p.width / 2, p.height / 2) + 3);
    EXPECT_EQ(centre, c.centre) << c.w;
    EXPECT_EQ(fnv1a(p.pixels.data(), p.pixels.size()), c.hash) << c.w;
    std::vector<float> d = dinov3_pixels(p, c.S);
    ASSERT_EQ(d.size(), size_t(3 * c.S * c.S));
    EXPECT_EQ(d[0], c.d000);
    EXPECT_EQ(d.back(), c.d2last);
    EXPECT_EQ(fnv1a(d.data(), d.size() * 4), c.dino_hash) << c.w;
  }
}

TEST(ImagePreprocess, BoundingBoxCropAndPremultiply) {
  // 40x30, transparent except an opaque 10x10 block at x 10..19, y 5..14 and one
  // half-transparent pixel (alpha 128 < 205: not part of the box, but premultiplied).
  Image im = Image::blank(40, 30, 4);
  for (int y = 5; y < 15; ++y)
    for (int x = 10; x < 20; ++x) {
      uint8_t* p = im.at(x, y);
      p[0] = 200;
      p[1] = 100;
      p[2] = 50;
      p[3] = 255;
    }
  uint8_t* half = im.at(12, 7);
  half[3] = 128;
  PreprocessInfo info;
  Image out = preprocess_image(im, {}, &info);
  EXPECT_TRUE(info.used_alpha);
  EXPECT_EQ(info.bbox[0], 10);
  EXPECT_EQ(info.bbox[1], 5);
  EXPECT_EQ(info.bbox[2], 19);
  EXPECT_EQ(info.bbox[3], 14);
  // centre (14.5, 9.5), size 9 -> half 4 -> box (10.5, 5.5, 18.5, 13.5) rounded half-to-even.
  EXPECT_EQ(info.crop[0], 10);
  EXPECT_EQ(info.crop[1], 6);
  EXPECT_EQ(info.crop[2], 18);
  EXPECT_EQ(info.crop[3], 14);
  ASSERT_EQ(out.width, 8);
  ASSERT_EQ(out.height, 8);
  ASSERT_EQ(out.channels, 3);
  EXPECT_EQ(std::vector<uint8_t>(out.at(0, 0), out.at(0, 0) + 3), (std::vector<uint8_t>{200, 100, 50}));
  // (12, 7) -> (2, 1): float32 c/255 * a/255 * 255 truncated (NumPy gives 100, 50, 25).
  EXPECT_EQ(std::vector<uint8_t>(out.at(2, 1), out.at(2, 1) + 3), (std::vector<uint8_t>{100, 50, 25}));

  // An object at the border: the square crop extends outside, filled with black.
  Image edge = Image::blank(20, 20, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 20; ++x) {
      uint8_t* p = edge.at(x, y);
      p[0] = p[1] = p[2] = 255;
      p[3] = 255;
    }
  Image eo = preprocess_image(edge, {}, &info);
  EXPECT_EQ(eo.width, 18);  // size 19 -> 2 * (19 // 2)
  EXPECT_LT(info.crop[1], 0);
  EXPECT_EQ(eo.at(5, 0)[0], 0);               // above the image: black
  EXPECT_EQ(eo.at(5, eo.height / 2)[0], 255);  // the white bar crosses the middle
}

TEST(ImagePreprocess, NoAlphaBehaviour) {
  // RGB input and RGBA with alpha 255 everywhere are the same: whole image, warning logged.
  Image rgb = synth_plain(30, 20, 3, 4);
  Image rgba = Image::blank(30, 20, 4);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 30; ++x) {
      std::copy(rgb.at(x, y), rgb.at(x, y) + 3, rgba.at(x, y));
      rgba.at(x, y)[3] = 255;
    }
  PreprocessInfo a, b;
  Image oa = preprocess_image(rgb, {}, &a);
  Image ob = preprocess_image(rgba, {}, &b);
  EXPECT_FALSE(a.used_alpha);
  EXPECT_FALSE(b.used_alpha);
  EXPECT_EQ(oa.pixels, ob.pixels);
  // Whole image as the box: size = max(29, 19) = 29 -> 28x28 centred square, rows outside black.
  EXPECT_EQ(oa.width, 28);
  EXPECT_EQ(a.crop[0], 0);   // centre (14.5, 9.5), half 14: round(0.5) = 0 (half to even)
  EXPECT_EQ(a.crop[1], -4);  // round(-4.5) = -4
  EXPECT_EQ(std::vector<uint8_t>(oa.at(0, 0), oa.at(0, 0) + 3), (std::vector<uint8_t>{0, 0, 0}));
  // The error policy refuses it with a message telling the user what to supply.
  PreprocessOptions strict;
  strict.no_alpha = NoAlphaPolicy::error;
  try {
    preprocess_image(rgb, strict);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("supply an RGBA cut-out"), std::string::npos) << e.what();
  }
  // Alpha present but nothing above 204: no object.
  Image faint = Image::blank(10, 10, 4);
  for (size_t i = 3; i < faint.pixels.size(); i += 4) faint.pixels[i] = 204;
  try {
    preprocess_image(faint);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no foreground pixel"), std::string::npos) << e.what();
  }
}

TEST(ImagePreprocess, DinoNormalisationValues) {
  // A constant image: every value is (v/255 - mean) / std, per channel.
  Image im = Image::blank(20, 20, 3);
  for (size_t i = 0; i < im.pixels.size(); i += 3) {
    im.pixels[i] = 255;
    im.pixels[i + 1] = 0;
    im.pixels[i + 2] = 128;
  }
  const int S = 32;
  std::vector<float> d = dinov3_pixels(im, S);
  ASSERT_EQ(d.size(), size_t(3 * S * S));
  const float want[3] = {(1.0f - 0.485f) / 0.229f, (0.0f - 0.456f) / 0.224f, (128.0f / 255.0f - 0.406f) / 0.225f};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < S * S; ++i) ASSERT_NEAR(d[size_t(c * S * S + i)], want[c], 1e-6f) << c;
  Tensor t = dinov3_input(im, S, BackendRegistry::get().cpu());
  EXPECT_EQ(t.shape(), (Shape{3, S, S}));
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.to_vector<float>(), d);
  EXPECT_THROW(dinov3_pixels(im, 30), Error);  // not a multiple of the patch size
}
