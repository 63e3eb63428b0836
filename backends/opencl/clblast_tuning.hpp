// CLBlast GEMM parameters per device (see clblast_tuning.cpp).
#pragma once

namespace tessera::opencl {

class ClDevice;

// Once per device, before its first CLBlast GEMM: apply the Xgemm parameters
// from TESSERA_CLBLAST_XGEMM, else from the file `tessera tune clblast` wrote
// for this device, else from the built-in table; nothing when none applies.
void apply_clblast_tuning(ClDevice& dev);

}  // namespace tessera::opencl
