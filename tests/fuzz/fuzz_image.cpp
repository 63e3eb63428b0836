// libFuzzer target: PNG/JPEG/WebP decoding (stb_image and libwebp) and, for
// small decoded images, the official preprocessing and DINOv3 normalisation.
// Run by tests/fuzz/run.sh.
#include <cstdint>

#include "core/image.hpp"
#include "models/common/image_preprocess.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tessera;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ImageLimits lim;
  lim.max_side = 4096;
  lim.max_pixels = uint64_t(1) << 21;  // stay far below libFuzzer's memory limit
  try {
    Image im = decode_image(data, size, "fuzz.img", lim);
    if (im.width <= 0 || im.height <= 0 || (im.channels != 3 && im.channels != 4) ||
        im.pixels.size() != size_t(im.width) * size_t(im.height) * size_t(im.channels))
      __builtin_trap();
    if (uint64_t(im.width) * uint64_t(im.height) <= 64 * 64) {
      models::PreprocessOptions o;
      o.max_side = 48;  // exercise the downscale path cheaply
      o.crop_scale = (size & 1) ? 1.1 : 1.0;
      try {
        Image p = models::preprocess_image(im, o);
        if (p.channels != 3 || p.width != p.height) __builtin_trap();
        (void)models::dinov3_pixels(p, 16);
      } catch (const Error& e) {
        fuzz::check_error(e);
      }
    }
  } catch (const Error& e) {
    fuzz::check_error(e);
  }
  return 0;
}
