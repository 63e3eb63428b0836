#include "core/image.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <stb/stb_image_write.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "core/error.hpp"
#include "core/safetensors.hpp"  // printable()

namespace tessera {

Image Image::blank(int width, int height, int channels) {
  TESSERA_CHECK(width >= 0 && height >= 0 && (channels == 3 || channels == 4), "Image::blank: bad size {}x{}x{}", width,
                height, channels);
  Image im;
  im.width = width;
  im.height = height;
  im.channels = channels;
  im.pixels.assign(size_t(width) * size_t(height) * size_t(channels), 0);
  return im;
}

ImageFormat detect_image_format(const uint8_t* d, size_t n) {
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 8 && std::memcmp(d, png, 8) == 0) return ImageFormat::png;
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat::jpeg;
  if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) return ImageFormat::webp;
  return ImageFormat::unknown;
}

const char* image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::png: return "PNG";
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::webp: return "WebP";
    default: return "unknown";
  }
}

namespace {

void check_dims(const std::string& name, const char* fmt_name, int64_t w, int64_t h, const ImageLimits& lim) {
  if (w <= 0 || h <= 0) fail("image '{}': {} has invalid dimensions {}x{}", printable(name, 200), fmt_name, w, h);
  if (w > lim.max_side || h > lim.max_side)
    fail("image '{}': {}x{} exceeds the limit of {} pixels per side; downscale it first", printable(name, 200), w, h,
         lim.max_side);
  if (uint64_t(w) * uint64_t(h) > lim.max_pixels)
    fail("image '{}': {}x{} = {} pixels exceeds the limit of {} pixels; downscale it first", printable(name, 200), w, h,
         uint64_t(w) * uint64_t(h), lim.max_pixels);
}

const char* webp_status(VP8StatusCode s) {
  switch (s) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "user abort";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data (truncated file)";
  }
  return "unknown error";
}

// ---- PNG: libpng. 16-bit samples keep their high byte (png_set_strip_16),
// which is what Pillow does. Errors longjmp back here.
struct PngErr {
  jmp_buf jump;
  char msg[256];
};

struct PngSrc {
  const uint8_t* data;
  size_t size, off;
};

void png_on_error(png_structp p, png_const_charp m) {
  auto* e = static_cast<PngErr*>(png_get_error_ptr(p));
  std::snprintf(e->msg, sizeof e->msg, "%s", m ? m : "error");
  longjmp(e->jump, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

void png_read_cb(png_structp p, png_bytep out, size_t len) {
  auto* s = static_cast<PngSrc*>(png_get_io_ptr(p));
  if (len > s->size - s->off) png_error(p, "truncated PNG data");
  std::memcpy(out, s->data + s->off, len);
  s->off += len;
}

// Only trivially destructible locals live here (longjmp returns to setjmp);
// the row pointers live in the caller.
bool png_decode_into(const uint8_t* data, size_t size, const ImageLimits& lim, Image* out, std::vector<png_bytep>* rows,
                     PngErr* err, uint64_t* dims) {
  err->msg[0] = 0;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, err, png_on_error, png_on_warning);
  if (!png) {
    std::snprintf(err->msg, sizeof err->msg, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(err->msg, sizeof err->msg, "out of memory");
    return false;
  }
  if (setjmp(err->jump)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  PngSrc src{data, size, 0};
  png_set_read_fn(png, &src, png_read_cb);
  png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);  // checked below, with Tessera's message
  png_set_chunk_malloc_max(png, 16u << 20);  // ancillary chunks (text, ICC) at most 16 MiB
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (w > png_uint_32(lim.max_side) || h > png_uint_32(lim.max_side) || uint64_t(w) * uint64_t(h) > lim.max_pixels) {
    dims[0] = w;
    dims[1] = h;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  int color = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  bool alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
  png_set_expand(png);  // palette -> RGB, grey < 8 bit -> 8 bit, tRNS -> alpha
  png_set_strip_16(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int ch = png_get_channels(png, info);
  if ((ch != 3 && ch != 4) || (ch == 4) != alpha || png_get_rowbytes(png, info) != size_t(w) * size_t(ch)) {
    std::snprintf(err->msg, sizeof err->msg, "unexpected PNG layout (%d channels)", ch);
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  out->width = int(w);
  out->height = int(h);
  out->channels = ch;
  out->source_bits = depth == 16 ? 16 : 8;
  out->pixels.resize(size_t(w) * size_t(h) * size_t(ch));
  rows->resize(h);
  for (png_uint_32 y = 0; y < h; ++y) (*rows)[y] = out->pixels.data() + size_t(y) * size_t(w) * size_t(ch);
  png_read_image(png, rows->data());
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

Image decode_png(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& lim) {
  Image im;
  std::vector<png_bytep> rows;
  PngErr err;
  uint64_t dims[2] = {0, 0};
  if (!png_decode_into(data, size, lim, &im, &rows, &err, dims)) {
    if (dims[0]) check_dims(name, "PNG", int64_t(dims[0]), int64_t(dims[1]), lim);
    fail("image '{}': cannot decode PNG: {}", printable(name, 200), printable(err.msg, 200));
  }
  return im;
}

// ---- JPEG: libjpeg-turbo, the decoder Pillow uses (same default settings, so
// the same pixels as the reference pipeline). Errors longjmp back here.
struct JpegErr {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErr*>(c->err);
  (*c->err->format_message)(c, e->msg);
  longjmp(e->jump, 1);
}

void jpeg_on_message(j_common_ptr c, int level) {
  // Warnings (level -1) are ignored like Pillow does, except a truncated file,
  // which Pillow refuses ("image file is truncated").
  auto* e = reinterpret_cast<JpegErr*>(c->err);
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) e->truncated = true;
}

struct JpegProgress {
  jpeg_progress_mgr pub;
  JpegErr* err;
};

void jpeg_on_progress(j_common_ptr c) {
  // A progressive file with thousands of scans is a decompression bomb (CPU).
  auto* d = reinterpret_cast<j_decompress_ptr>(c);
  if (c->is_decompressor && d->input_scan_number > 1000) {
    auto* e = reinterpret_cast<JpegErr*>(c->err);
    std::snprintf(e->msg, sizeof e->msg, "more than 1000 progressive scans");
    longjmp(e->jump, 1);
  }
}

// Only trivially destructible locals live here: longjmp returns to setjmp below.
bool jpeg_decode_into(const uint8_t* data, size_t size, const ImageLimits& lim, Image* out, JpegErr* err,
                      char* dims_msg, size_t dims_len) {
  jpeg_decompress_struct cinfo;
  JpegProgress prog;
  cinfo.err = jpeg_std_error(&err->pub);
  err->pub.error_exit = jpeg_on_error;
  err->pub.emit_message = jpeg_on_message;
  err->msg[0] = 0;
  err->truncated = false;
  jpeg_create_decompress(&cinfo);
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  prog.pub.progress_monitor = jpeg_on_progress;
  prog.err = err;
  cinfo.progress = &prog.pub;
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  uint64_t w = cinfo.image_width, h = cinfo.image_height;
  if (w == 0 || h == 0 || w > uint64_t(lim.max_side) || h > uint64_t(lim.max_side) || w * h > lim.max_pixels) {
    std::snprintf(dims_msg, dims_len, "%llu %llu", static_cast<unsigned long long>(w), static_cast<unsigned long long>(h));
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;  // grey and YCbCr -> RGB; CMYK is refused by libjpeg
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != 3) {
    std::snprintf(err->msg, sizeof err->msg, "unsupported JPEG colour space with %d components", cinfo.output_components);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  out->width = int(cinfo.output_width);
  out->height = int(cinfo.output_height);
  out->channels = 3;
  out->pixels.resize(size_t(out->width) * size_t(out->height) * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->pixels.data() + size_t(cinfo.output_scanline) * size_t(out->width) * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err->truncated) {
    std::snprintf(err->msg, sizeof err->msg, "truncated JPEG data (premature end of file)");
    return false;
  }
  return true;
}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& lim) {
  Image im;
  JpegErr err;
  char dims[64] = {0};
  if (!jpeg_decode_into(data, size, lim, &im, &err, dims, sizeof dims)) {
    if (dims[0]) {
      unsigned long long w = 0, h = 0;
      std::sscanf(dims, "%llu %llu", &w, &h);
      check_dims(name, "JPEG", int64_t(w), int64_t(h), lim);
    }
    fail("image '{}': cannot decode JPEG: {}", printable(name, 200), printable(err.msg, 200));
  }
  return im;
}

Image decode_webp(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& lim) {
  WebPBitstreamFeatures ft;
  VP8StatusCode st = WebPGetFeatures(data, size, &ft);
  if (st != VP8_STATUS_OK) fail("image '{}': invalid WebP data: {}", printable(name, 200), webp_status(st));
  if (ft.has_animation) fail("image '{}': animated WebP is not supported; export a single frame", printable(name, 200));
  check_dims(name, "WebP", ft.width, ft.height, lim);
  Image im;
  im.width = ft.width;
  im.height = ft.height;
  im.channels = ft.has_alpha ? 4 : 3;
  size_t stride = size_t(im.width) * size_t(im.channels);
  im.pixels.resize(stride * size_t(im.height));
  uint8_t* r = ft.has_alpha ? WebPDecodeRGBAInto(data, size, im.pixels.data(), im.pixels.size(), int(stride))
                            : WebPDecodeRGBInto(data, size, im.pixels.data(), im.pixels.size(), int(stride));
  if (!r) fail("image '{}': cannot decode WebP (corrupt or truncated data)", printable(name, 200));
  return im;
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  if (!data || size == 0) fail("image '{}': empty file", printable(name, 200));
  ImageFormat f = detect_image_format(data, size);
  switch (f) {
    case ImageFormat::png: return decode_png(data, size, name, limits);
    case ImageFormat::jpeg: return decode_jpeg(data, size, name, limits);
    case ImageFormat::webp: return decode_webp(data, size, name, limits);
    default: break;
  }
  fail("image '{}': unsupported image format (expected PNG, JPEG or WebP; the file starts with '{}')", printable(name, 200),
       printable(std::string(reinterpret_cast<const char*>(data), std::min<size_t>(size, 8)), 40));
}

Image load_image(const std::string& path, const ImageLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("image '{}': cannot open file", printable(path, 200));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) fail("image '{}': cannot read file", printable(path, 200));
  if (uint64_t(size) > (uint64_t(1) << 30)) fail("image '{}': file of {} bytes is larger than 1 GiB", printable(path, 200), int64_t(size));
  in.seekg(0);
  std::vector<uint8_t> buf(static_cast<size_t>(size));
  if (size && !in.read(reinterpret_cast<char*>(buf.data()), size)) fail("image '{}': cannot read file", printable(path, 200));
  return decode_image(buf.data(), buf.size(), path, limits);
}

std::vector<uint8_t> encode_png(const Image& img) {
  TESSERA_CHECK((img.channels == 3 || img.channels == 4) && img.width > 0 && img.height > 0 &&
                    img.pixels.size() == size_t(img.width) * size_t(img.height) * size_t(img.channels),
                "encode_png: invalid image {}x{}x{}", img.width, img.height, img.channels);
  std::vector<uint8_t> out;
  auto sink = [](void* ctx, void* d, int n) {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    v->insert(v->end(), static_cast<uint8_t*>(d), static_cast<uint8_t*>(d) + n);
  };
  if (!stbi_write_png_to_func(sink, &out, img.width, img.height, img.channels, img.pixels.data(),
                              img.width * img.channels))
    fail("encode_png: stb_image_write failed");
  return out;
}

std::vector<uint8_t> encode_jpeg(const Image& img, int quality) {
  TESSERA_CHECK((img.channels == 3 || img.channels == 4) && img.width > 0 && img.height > 0 &&
                    img.pixels.size() == size_t(img.width) * size_t(img.height) * size_t(img.channels),
                "encode_jpeg: invalid image {}x{}x{}", img.width, img.height, img.channels);
  std::vector<uint8_t> out;
  auto sink = [](void* ctx, void* d, int n) {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    v->insert(v->end(), static_cast<uint8_t*>(d), static_cast<uint8_t*>(d) + n);
  };
  if (!stbi_write_jpg_to_func(sink, &out, img.width, img.height, img.channels, img.pixels.data(), quality))
    fail("encode_jpeg: stb_image_write failed");
  return out;
}

std::vector<uint8_t> encode_webp(const Image& img, float quality) {
  TESSERA_CHECK((img.channels == 3 || img.channels == 4) && img.width > 0 && img.height > 0 &&
                    img.pixels.size() == size_t(img.width) * size_t(img.height) * size_t(img.channels),
                "encode_webp: invalid image {}x{}x{}", img.width, img.height, img.channels);
  WebPConfig config;
  WebPPicture pic;
  if (!WebPConfigInit(&config) || !WebPPictureInit(&pic)) fail("encode_webp: libwebp version mismatch");
  if (quality < 0) {
    config.lossless = 1;
    config.exact = 1;  // keep RGB under transparent pixels (round trips bit-exactly)
    config.quality = 75;
  } else {
    config.quality = std::min(quality, 100.f);
  }
  pic.use_argb = config.lossless;
  pic.width = img.width;
  pic.height = img.height;
  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  pic.writer = WebPMemoryWrite;
  pic.custom_ptr = &writer;
  int stride = img.width * img.channels;
  int ok = img.channels == 4 ? WebPPictureImportRGBA(&pic, img.pixels.data(), stride)
                             : WebPPictureImportRGB(&pic, img.pixels.data(), stride);
  if (ok) ok = WebPEncode(&config, &pic);
  int err = pic.error_code;
  WebPPictureFree(&pic);
  if (!ok) {
    WebPMemoryWriterClear(&writer);
    fail("encode_webp: libwebp failed to encode a {}x{} image (error {})", img.width, img.height, err);
  }
  std::vector<uint8_t> v(writer.mem, writer.mem + writer.size);
  WebPMemoryWriterClear(&writer);
  return v;
}

void save_png(const Image& img, const std::string& path) {
  std::vector<uint8_t> d = encode_png(img);
  std::ofstream o(path, std::ios::binary);
  if (!o || !o.write(reinterpret_cast<const char*>(d.data()), std::streamsize(d.size())))
    fail("cannot write PNG '{}'", printable(path, 200));
}

}  // namespace tessera
