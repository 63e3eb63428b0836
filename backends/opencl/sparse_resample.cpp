// OpenCL sparse_subdivide_offsets (block scan + block-total scan + add),
// sparse_channel_to_space (per-parent fill of coordinates and source rows,
// then a per-element gather) and sparse_space_to_channel (zero fill, per-child
// slot claim with 32-bit atomics and an error flag, per-element scatter; the
// flag is read back and turned into an Error). kernels/sparse_resample.cl.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

constexpr uint64_t kBlock = 1024;  // SR_BLOCK
constexpr size_t kWG = 256;

void subdivide_offsets(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& l = a.in[0];
  Tensor& o = a.out[0];
  const uint64_t Np = uint64_t(l.dim(0)), nb = (Np + kBlock - 1) / kBlock;
  TempBuffer bsum = temp_buffer(dev, std::max<size_t>(4, size_t(nb) * 4));
  Launch(dev, "sparse_resample", std::string("subdiv_count_") + dtype_name(l.dtype()))
      .tensor(l)
      .tensor(o)
      .arg(bsum.mem)
      .arg(cl_ulong(Np))
      .run_groups(nb, 1, kWG);
  Launch(dev, "sparse_resample", "subdiv_scan_blocks").arg(bsum.mem).arg(cl_ulong(nb)).run_groups(1, 1, kWG);
  Launch(dev, "sparse_resample", "subdiv_add").tensor(o).arg(bsum.mem).run_1d(Np + 1);
}

const char* width(DType t) { return dtype_size(t) == 4 ? "b4" : "b2"; }

void channel_to_space(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor &pc = a.in[0], &f = a.in[1], &l = a.in[2], &off = a.in[3];
  Tensor &cc = a.out[0], &y = a.out[1];
  const uint64_t Np = uint64_t(pc.dim(0)), Nc = uint64_t(cc.dim(0)), Cc = uint64_t(f.dim(1) / 8);
  const uint64_t rep = uint64_t(a.attrs.get_int("repeat", 1));
  if (Nc == 0) return;
  TempBuffer src = temp_buffer(dev, size_t(Nc) * 4);
  Launch(dev, "sparse_resample", std::string("c2s_fill_") + dtype_name(l.dtype()))
      .tensor(pc)
      .tensor(l)
      .tensor(off)
      .tensor(cc)
      .arg(src.mem)
      .arg(cl_ulong(Nc))
      .run_1d(Np);
  Launch(dev, "sparse_resample", std::string("c2s_gather_") + width(f.dtype()))
      .tensor(f)
      .arg(src.mem)
      .tensor(y)
      .arg(cl_ulong(Cc))
      .arg(cl_ulong(rep))
      .run_1d(Nc * Cc * rep);
}

void space_to_channel(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor &f = a.in[0], &cc = a.in[1], &par = a.in[2];
  Tensor& y = a.out[0];
  const uint64_t Nc = uint64_t(f.dim(0)), C = uint64_t(f.dim(1)), Np = uint64_t(y.dim(0));
  if (y.numel() > 0) dev.fill(y.buffer(), y.offset_bytes(), y.nbytes(), 0u);  // 8 C elements per row: 4-byte multiple
  if (Nc == 0) return;
  TempBuffer occ = temp_buffer(dev, std::max<size_t>(4, size_t(Np) * 32));
  TempBuffer slot = temp_buffer(dev, size_t(Nc) * 4);
  TempBuffer flag = temp_buffer(dev, 4);
  dev.fill(*occ.buf, 0, std::max<size_t>(4, size_t(Np) * 32), 0u);
  dev.fill(*flag.buf, 0, 4, 0u);
  Launch(dev, "sparse_resample", "s2c_slots")
      .tensor(cc)
      .tensor(par)
      .arg(occ.mem)
      .arg(slot.mem)
      .arg(flag.mem)
      .arg(cl_ulong(Np))
      .run_1d(Nc);
  if (C > 0)
    Launch(dev, "sparse_resample", std::string("s2c_scatter_") + width(f.dtype()))
        .tensor(f)
        .arg(slot.mem)
        .tensor(y)
        .arg(cl_ulong(C))
        .run_1d(Nc * C);
  int32_t bad = 0;
  dev.download(*flag.buf, 0, &bad, 4);
  TESSERA_CHECK(!(bad & 1), "sparse_space_to_channel (opencl): a parent index lies outside [0, {})", Np);
  TESSERA_CHECK(!(bad & 2),
                "sparse_space_to_channel (opencl): two children map to the same slot of one parent (duplicate child "
                "coordinates?)");
}

std::string supports_offsets(const Device& dev, const OpArgs& a) { return supports_common(dev, a); }
std::string supports_resample(const Device& dev, const OpArgs& a) {
  const size_t es = dtype_size(a.in[0].dtype() == DType::i32 ? a.in[1].dtype() : a.in[0].dtype());
  if (es != 2 && es != 4) return "features must have 2- or 4-byte elements";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("sparse_subdivide_offsets", "opencl", subdivide_offsets, supports_offsets);
TESSERA_REGISTER_KERNEL("sparse_channel_to_space", "opencl", channel_to_space, supports_resample);
TESSERA_REGISTER_KERNEL("sparse_space_to_channel", "opencl", space_to_channel, supports_resample);

}  // namespace
}  // namespace tessera::opencl
