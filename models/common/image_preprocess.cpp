#include "models/common/image_preprocess.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::models {

namespace {

// ---- Pillow-compatible Lanczos resampling ----------------------------------------
// Same arithmetic as Pillow's libImaging/Resample.c (an independent
// implementation of the documented algorithm): double-precision Lanczos-3
// weights normalised per output pixel, converted to fixed point with 22
// fractional bits, accumulated in integers with a rounding bias, clipped to
// 8 bits after each of the two passes (horizontal first).

constexpr int kPrecisionBits = 32 - 8 - 2;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

double lanczos3(double x) {
  if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3.0);
  return 0.0;
}

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output: xmin, count
  std::vector<int> k;       // per output: ksize fixed-point weights
};

Coeffs precompute(int in_size, int out_size) {
  Coeffs c;
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 3.0 * filterscale;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.bounds.resize(size_t(out_size) * 2);
  c.k.assign(size_t(out_size) * size_t(c.ksize), 0);
  std::vector<double> w(size_t(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    double center = (xx + 0.5) * scale;
    double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[size_t(x)] = lanczos3((x + xmin - center + 0.5) * ss);
      ww += w[size_t(x)];
    }
    for (int x = 0; x < xmax; ++x) {
      double v = ww != 0.0 ? w[size_t(x)] / ww : w[size_t(x)];
      c.k[size_t(xx) * size_t(c.ksize) + size_t(x)] =
          v < 0 ? int(-0.5 + v * (1 << kPrecisionBits)) : int(0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[size_t(xx) * 2] = xmin;
    c.bounds[size_t(xx) * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int64_t v) {
  if (v >= (int64_t(1) << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return uint8_t(v >> kPrecisionBits);
}

// Resample along x: in (w_in x h, ch channels) -> out (w_out x h).
void pass_horizontal(const uint8_t* in, int w_in, int h, int ch, uint8_t* out, int w_out, const Coeffs& c) {
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = in + size_t(y) * size_t(w_in) * size_t(ch);
    uint8_t* orow = out + size_t(y) * size_t(w_out) * size_t(ch);
    for (int xx = 0; xx < w_out; ++xx) {
      int xmin = c.bounds[size_t(xx) * 2], n = c.bounds[size_t(xx) * 2 + 1];
      const int* k = &c.k[size_t(xx) * size_t(c.ksize)];
      for (int b = 0; b < ch; ++b) {
        int64_t s = int64_t(1) << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) s += int64_t(row[size_t(x + xmin) * size_t(ch) + size_t(b)]) * k[x];
        orow[size_t(xx) * size_t(ch) + size_t(b)] = clip8(s);
      }
    }
  }
}

// Resample along y: in (w x h_in) -> out (w x h_out).
void pass_vertical(const uint8_t* in, int w, int ch, uint8_t* out, int h_out, const Coeffs& c) {
  const size_t stride = size_t(w) * size_t(ch);
  for (int yy = 0; yy < h_out; ++yy) {
    int ymin = c.bounds[size_t(yy) * 2], n = c.bounds[size_t(yy) * 2 + 1];
    const int* k = &c.k[size_t(yy) * size_t(c.ksize)];
    uint8_t* orow = out + size_t(yy) * stride;
    for (size_t i = 0; i < stride; ++i) {
      int64_t s = int64_t(1) << (kPrecisionBits - 1);
      for (int y = 0; y < n; ++y) s += int64_t(in[size_t(y + ymin) * stride + i]) * k[y];
      orow[i] = clip8(s);
    }
  }
}

// Pillow's RGBA <-> RGBa conversions.
void premultiply(std::vector<uint8_t>& px) {
  for (size_t i = 0; i + 3 < px.size(); i += 4) {
    unsigned a = px[i + 3];
    for (int b = 0; b < 3; ++b) {
      unsigned t = unsigned(px[i + size_t(b)]) * a + 128;
      px[i + size_t(b)] = uint8_t(((t >> 8) + t) >> 8);
    }
  }
}

void unpremultiply(std::vector<uint8_t>& px) {
  for (size_t i = 0; i + 3 < px.size(); i += 4) {
    unsigned a = px[i + 3];
    if (a == 255 || a == 0) continue;
    for (int b = 0; b < 3; ++b) px[i + size_t(b)] = uint8_t(std::min(255u, (255u * px[i + size_t(b)]) / a));
  }
}

// Python's round(): half to even.
int round_half_even(double v) { return int(std::nearbyint(v)); }

void check_image(const Image& im, const char* what) {
  TESSERA_CHECK((im.channels == 3 || im.channels == 4) && im.width > 0 && im.height > 0 &&
                    im.pixels.size() == size_t(im.width) * size_t(im.height) * size_t(im.channels),
                "{}: invalid image {}x{} with {} channels", what, im.width, im.height, im.channels);
}

}  // namespace

Image resize_lanczos(const Image& in, int width, int height) {
  check_image(in, "resize_lanczos");
  TESSERA_CHECK(width > 0 && height > 0, "resize_lanczos: target size {}x{} must be positive", width, height);
  if (width == in.width && height == in.height) return in;
  std::vector<uint8_t> src = in.pixels;
  const int ch = in.channels;
  if (ch == 4) premultiply(src);
  int cw = in.width;
  if (width != in.width) {
    Coeffs c = precompute(in.width, width);
    std::vector<uint8_t> tmp(size_t(width) * size_t(in.height) * size_t(ch));
    pass_horizontal(src.data(), in.width, in.height, ch, tmp.data(), width, c);
    src.swap(tmp);
    cw = width;
  }
  if (height != in.height) {
    Coeffs c = precompute(in.height, height);
    std::vector<uint8_t> tmp(size_t(cw) * size_t(height) * size_t(ch));
    pass_vertical(src.data(), cw, ch, tmp.data(), height, c);
    src.swap(tmp);
  }
  if (ch == 4) unpremultiply(src);
  Image out;
  out.width = width;
  out.height = height;
  out.channels = ch;
  out.source_bits = in.source_bits;
  out.pixels = std::move(src);
  return out;
}

Image crop_with_fill(const Image& in, int x0, int y0, int x1, int y1) {
  check_image(in, "crop");
  TESSERA_CHECK(x1 >= x0 && y1 >= y0, "crop: box ({}, {}, {}, {}) is inverted", x0, y0, x1, y1);
  Image out = Image::blank(x1 - x0, y1 - y0, 4);
  for (int y = std::max(y0, 0); y < std::min(y1, in.height); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, in.width); ++x) {
      const uint8_t* s = in.at(x, y);
      uint8_t* d = out.at(x - x0, y - y0);
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
      d[3] = in.channels == 4 ? s[3] : 255;
    }
  return out;
}

Image preprocess_image(const Image& in, const PreprocessOptions& opt, PreprocessInfo* info) {
  check_image(in, "preprocess_image");
  TESSERA_CHECK(opt.max_side > 0 && opt.crop_scale > 0, "preprocess_image: invalid options");
  PreprocessInfo inf;
  // 1. Usable alpha?
  bool has_alpha = false;
  if (in.channels == 4)
    for (size_t i = 3; i < in.pixels.size(); i += 4)
      if (in.pixels[i] != 255) {
        has_alpha = true;
        break;
      }
  // 2. Downscale so the longer side is at most max_side (Python arithmetic).
  Image im = in;
  int longest = std::max(in.width, in.height);
  if (longest > opt.max_side) {
    double scale = double(opt.max_side) / double(longest);
    im = resize_lanczos(in, std::max(1, int(in.width * scale)), std::max(1, int(in.height * scale)));
    inf.downscaled = true;
  }
  // 3. No usable alpha: the whole image is the object.
  if (!has_alpha) {
    if (opt.no_alpha == NoAlphaPolicy::error)
      fail("preprocess_image: the image has no transparency (no alpha channel, or alpha 255 everywhere); supply an RGBA "
           "cut-out of the object (Tessera has no background-removal model)");
    warn_once("preprocess_no_alpha",
              "preprocess_image: the input has no transparency, so the whole image is taken as the object. The models "
              "expect a clean cut-out on a transparent background (TRELLIS.2 runs a background-removal model here, which "
              "Tessera does not ship); supply an RGBA PNG/WebP for good results.");
    Image rgba = Image::blank(im.width, im.height, 4);
    for (size_t p = 0, n = size_t(im.width) * size_t(im.height); p < n; ++p) {
      for (int b = 0; b < 3; ++b) rgba.pixels[4 * p + size_t(b)] = im.pixels[size_t(im.channels) * p + size_t(b)];
      rgba.pixels[4 * p + 3] = 255;
    }
    rgba.source_bits = im.source_bits;
    im = std::move(rgba);
  }
  inf.used_alpha = has_alpha;
  // 4. Bounding box of alpha > 0.8 * 255.
  int xmin = im.width, ymin = im.height, xmax = -1, ymax = -1;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      if (double(im.at(x, y)[3]) > 0.8 * 255) {
        xmin = std::min(xmin, x);
        xmax = std::max(xmax, x);
        ymin = std::min(ymin, y);
        ymax = std::max(ymax, y);
      }
  if (xmax < 0)
    fail("preprocess_image: no foreground pixel (every alpha is <= 204 = 0.8*255); the object must be opaque in the alpha channel");
  double cx = (xmin + xmax) / 2.0, cy = (ymin + ymax) / 2.0;
  int size = std::max(xmax - xmin, ymax - ymin);
  size = int(size * opt.crop_scale);
  int half = size / 2;
  int x0 = round_half_even(cx - half), y0 = round_half_even(cy - half);
  int x1 = round_half_even(cx + half), y1 = round_half_even(cy + half);
  if (x1 <= x0 || y1 <= y0)
    fail("preprocess_image: the foreground ({}x{} pixels at {}, {}) is too small to crop; use a larger image",
         xmax - xmin + 1, ymax - ymin + 1, xmin, ymin);
  inf.bbox[0] = xmin;
  inf.bbox[1] = ymin;
  inf.bbox[2] = xmax;
  inf.bbox[3] = ymax;
  inf.crop[0] = x0;
  inf.crop[1] = y0;
  inf.crop[2] = x1;
  inf.crop[3] = y1;
  Image crop = crop_with_fill(im, x0, y0, x1, y1);
  // 5. Premultiply onto black in float32 (numpy: x / 255, rgb * a, * 255, astype(uint8)).
  Image out = Image::blank(crop.width, crop.height, 3);
  out.source_bits = in.source_bits;
  for (size_t p = 0, n = size_t(crop.width) * size_t(crop.height); p < n; ++p) {
    volatile float a = float(crop.pixels[4 * p + 3]) / 255.0f;
    for (int b = 0; b < 3; ++b) {
      volatile float c = float(crop.pixels[4 * p + size_t(b)]) / 255.0f;
      volatile float m = c * a;
      volatile float s = m * 255.0f;
      out.pixels[3 * p + size_t(b)] = uint8_t(float(s));
    }
  }
  if (info) *info = inf;
  return out;
}

std::vector<float> dinov3_pixels(const Image& rgb_in, int size) {
  check_image(rgb_in, "dinov3_pixels");
  TESSERA_CHECK(size > 0 && size % 16 == 0, "dinov3_pixels: image size {} must be a positive multiple of 16", size);
  Image rgb = rgb_in;
  if (rgb.channels == 4) {  // i.convert('RGB') after the resize drops alpha; resizing RGBA would premultiply
    warn_once("dinov3_rgba", "dinov3_pixels: RGBA input; alpha is ignored (run preprocess_image first)");
  }
  Image r = resize_lanczos(rgb, size, size);
  const size_t plane = size_t(size) * size_t(size);
  std::vector<float> out(3 * plane);
  for (size_t p = 0; p < plane; ++p)
    for (int b = 0; b < 3; ++b) {
      volatile float v = float(r.pixels[p * size_t(r.channels) + size_t(b)]) / 255.0f;
      volatile float d = v - kImageNetMean[b];
      out[size_t(b) * plane + p] = d / kImageNetStd[b];
    }
  return out;
}

Tensor dinov3_input(const Image& rgb, int size, Device& dev) {
  std::vector<float> px = dinov3_pixels(rgb, size);
  return Tensor::from_host(px.data(), {3, size, size}, DType::f32, dev);
}

}  // namespace tessera::models
