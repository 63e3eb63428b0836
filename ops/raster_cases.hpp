// Parity cases and the custom result check of rasterize / rasterize_uv
// (ops/raster_cases.cpp), kept apart from the declarations in ops/raster.cpp.
#pragma once
#include <string>
#include <vector>

#include "core/op_registry.hpp"

namespace tessera::ops::raster_detail {

std::vector<TestCase> rasterize_cases();
std::vector<TestCase> rasterize_uv_cases();
std::vector<TestCase> interpolate_cases();
// Accepts `got` when every pixel's id is the f64 winner, or a tie within the
// f32 error bound, or a pixel whose centre lies within 2e-6 rad of an edge
// plane / within depth error of the near or far plane (docs/geometry-raster.md);
// bary/depth are then compared to the f64 values of the triangle `got` chose.
std::string check_raster(const std::vector<HostTensor>& in, const std::vector<HostTensor>& got,
                         const std::vector<HostTensor>& ref, const Attrs& a, bool uv_mode);

}  // namespace tessera::ops::raster_detail
