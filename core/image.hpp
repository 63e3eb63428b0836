// Image input: PNG (libpng; 1-16 bit, grey/grey+alpha/RGB/RGBA/palette,
// interlaced), JPEG (libjpeg-turbo, the decoder Pillow uses, so JPEG pixels
// match the reference pipeline) and WebP (libwebp). Any other format is
// refused by its signature before a decoder sees it. (stb_image from
// Debian's libstb 2.27 was the first choice; the fuzzer found an
// out-of-bounds write in its JPEG Huffman-table parser and undefined
// behaviour in its PNG reader, so only stb_image_write is used, for the
// test/tool encoders.)
//
// Decoded images are 8-bit RGB or RGBA, interleaved, row-major. 16-bit PNGs
// are reduced to 8 bits by keeping the high byte (v >> 8), which is what
// Pillow does when it opens them, so Tessera sees the same pixels as the
// reference pipeline. Grey images become RGB, grey+alpha and palette images
// with transparency become RGBA.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera {

struct Image {
  int width = 0, height = 0;
  int channels = 0;     // 3 (RGB) or 4 (RGBA)
  int source_bits = 8;  // bit depth of the file (8 or 16)
  std::vector<uint8_t> pixels;  // width * height * channels

  bool has_alpha_channel() const { return channels == 4; }
  size_t index(int x, int y) const { return (size_t(y) * size_t(width) + size_t(x)) * size_t(channels); }
  uint8_t* at(int x, int y) { return pixels.data() + index(x, y); }
  const uint8_t* at(int x, int y) const { return pixels.data() + index(x, y); }
  static Image blank(int width, int height, int channels);  // zero-filled
};

struct ImageLimits {
  int max_side = 16384;                 // per side
  uint64_t max_pixels = uint64_t(1) << 28;
};

enum class ImageFormat { unknown, png, jpeg, webp };
ImageFormat detect_image_format(const uint8_t* data, size_t size);
const char* image_format_name(ImageFormat f);

// Decode from memory; `name` is used in error messages. Throws tessera::Error
// (one line) for an unsupported format, dimensions over the limits, or data
// the decoder rejects (with the decoder's reason).
Image decode_image(const uint8_t* data, size_t size, const std::string& name = "<memory>",
                   const ImageLimits& limits = {});
// Read and decode a file (refuses files over 1 GiB).
Image load_image(const std::string& path, const ImageLimits& limits = {});

// Encoders for tests and tools: 8-bit PNG and JPEG (stb_image_write) and
// WebP (libwebp, lossless when quality < 0).
std::vector<uint8_t> encode_png(const Image& img);
std::vector<uint8_t> encode_jpeg(const Image& img, int quality = 95);
std::vector<uint8_t> encode_webp(const Image& img, float quality = -1.f);
void save_png(const Image& img, const std::string& path);

}  // namespace tessera
