// The official image preprocessing of TRELLIS.2 (Trellis2ImageTo3DPipeline.
// preprocess_image) and of the DINOv3 conditioner (DinoV3FeatureExtractor),
// reproduced on 8-bit pixels with Pillow's arithmetic, so a PNG/WebP input
// gives byte-identical pixels to the reference (tests/test_image.cpp checks
// against values computed with Pillow 9.4). JPEG decoding itself (stb_image
// vs libjpeg-turbo) can differ by a few levels; that is upstream of this code.
//
// preprocess_image():
//  1. "has alpha" = the image is RGBA and some alpha != 255.
//  2. If max(W, H) > 1024: resize to (int(W*s), int(H*s)), s = 1024/max(W, H),
//     with Pillow's LANCZOS (RGBA resampled premultiplied, as Pillow does).
//  3. No usable alpha: the reference runs a background-removal network
//     (BiRefNet / RMBG-2.0), which Tessera does not ship. Tessera's documented
//     behaviour (NoAlphaPolicy::whole_image, the default) treats the whole
//     image as foreground (alpha 255 everywhere) and logs a warning asking for
//     an RGBA cut-out, because the models are sensitive to backgrounds;
//     NoAlphaPolicy::error refuses the image instead.
//  4. Bounding box of the pixels with alpha > 0.8*255; centre c = box centre,
//     size = int(max(box w, box h) * crop_scale) (w = xmax - xmin, as the
//     reference computes it); crop box c -/+ size//2, each coordinate rounded
//     half-to-even (Python's round()); pixels outside the image are
//     transparent black.
//  5. RGB * alpha in float32, truncated to uint8 (object on black), alpha dropped.
#pragma once
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/image.hpp"
#include "core/tensor.hpp"

namespace tessera::models {

enum class NoAlphaPolicy { whole_image, error };

struct PreprocessOptions {
  int max_side = 1024;      // larger inputs are downscaled first
  double crop_scale = 1.0;  // TRELLIS.2: 1.0; Pixal3D: 1.1
  NoAlphaPolicy no_alpha = NoAlphaPolicy::whole_image;
};

struct PreprocessInfo {
  bool used_alpha = false;   // false: no usable alpha, whole image taken as foreground
  bool downscaled = false;
  int bbox[4] = {0, 0, 0, 0};  // xmin, ymin, xmax, ymax (inclusive) of alpha > 204
  int crop[4] = {0, 0, 0, 0};  // x0, y0, x1, y1 (exclusive) after rounding
};

// Returns an RGB image: the object, cropped square, on black.
Image preprocess_image(const Image& in, const PreprocessOptions& opt = {}, PreprocessInfo* info = nullptr);

// Pillow's Image.resize(size, Image.LANCZOS) (Lanczos-3, separable, 8-bit
// fixed-point with 22 fractional bits, horizontal pass first); RGBA is
// premultiplied before and un-premultiplied after, as Pillow does. Same size
// returns a copy.
Image resize_lanczos(const Image& in, int width, int height);

// The crop of step 4 on any image (RGBA out; outside pixels are 0).
Image crop_with_fill(const Image& in, int x0, int y0, int x1, int y1);

inline constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
inline constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};

// DINOv3 input: resize an RGB image to S x S (LANCZOS), scale to [0,1] and
// normalise with the ImageNet mean/std (float32, as torchvision does): CHW
// floats, 3*S*S values.
std::vector<float> dinov3_pixels(const Image& rgb, int size);
// The same as an f32 tensor [3, S, S] on `dev`.
Tensor dinov3_input(const Image& rgb, int size, Device& dev);

}  // namespace tessera::models
