// Row windows: running an op piecewise when its tensors are larger than one
// kernel may bind (maxStorageBufferRange: 4 GiB on NVIDIA, 128 MiB on
// lavapipe) or lie in a SegmentedBuffer (larger than one allocation).
//
// An op declares how its work divides (OpRegistry::set_split, next to its
// OpDef): for each input, then each output, the dimension it is cut along, or
// -1 when every piece reads it whole. Cut tensors share the extent of that
// dimension, and every dimension before it has extent 1, so a window of rows
// [r0, r1) is one contiguous byte range of each. The dispatcher picks windows
// that fit the binding limit and never straddle a segment, and runs the
// backend's kernel once per window on views of the segments. Ops without a
// split (reductions, sparse ops, varlen attention) get a clear Error instead.
//
// Debug limits: TESSERA_LIMIT_ALLOC_BYTES and TESSERA_LIMIT_BINDING_BYTES
// (a number with an optional K / M / G suffix) lower the GPU backends' limits
// so that CI exercises segments and windows with small tensors.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/op_registry.hpp"

namespace tessera {

// The environment's debug limit `name`, or `driver` when unset / larger.
uint64_t debug_limit(const char* name, uint64_t driver);

// "3.5 GiB", "12.0 KiB".
std::string human_bytes(uint64_t bytes);

// True when some tensor of `args` needs windows on `dev` (too large to bind
// whole, or in a segmented buffer).
bool needs_windows(const Device& dev, const OpArgs& args);

// Runs `run_one` on each window of `args` as `op`'s split declares; throws
// Error naming the op, the device and the tensor when the op cannot be split
// or a whole tensor does not fit.
void run_in_windows(const std::string& op, const SplitFn& split, Device& dev, OpArgs& args,
                    const std::function<void(OpArgs&)>& run_one);

// Number of windowed dispatches so far in this process (tests check the path ran).
uint64_t windowed_dispatch_count();

namespace split {
// First dimension of extent > 1 (0 when there is none); with keep_last, the
// last dimension is never chosen (-1 when it would be the only candidate).
int first_dim(const Shape& s, bool keep_last = false);
// Ops whose inputs broadcast (numpy, right-aligned) to the first output's
// shape, every output having that shape: the first output dimension of extent
// > 1 (not the last with keep_last) is cut; an input is cut where its aligned
// dimension has the same extent, read whole where it is 1 or missing.
SplitFn broadcast(bool keep_last = false);
// Row-wise ops with a different last dimension per tensor (linear: x [.., K],
// y [.., N]): the inputs in `cut_inputs` and every output are cut along the
// first non-last dimension of extent > 1 of the first output; the rest whole.
SplitFn rows(std::vector<int> cut_inputs);
}  // namespace split

}  // namespace tessera
