#!/usr/bin/env bash
# Sparse conv run on the lent GPU machine (issue 5): sparse conv parity on the
# GPU's OpenCL and Vulkan devices (Vulkan default = tensor-core kernel for f16,
# forced coopmat, forced portable, chunked dispatches, scale cases), then
# `tessera bench sparse-conv` and bench/sparse_conv_torch.py (PyTorch
# gather-GEMM-scatter, FlexGEMM when a build is at $FG: built here in the
# background while the Tessera parts run).
# Usage (device command, repo root): source bench/device/setup.sh; bash bench/device/sparse_conv_run.sh [parts]
# parts: any of tests,bench,variants,torch (default all). Logs go to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/tessera-out}
mkdir -p "$OUT"
parts=${1:-tests,bench,variants,torch}
has() { case ",$parts," in *",$1,"*) return 0 ;; esac; return 1; }
T=.device/tessera
TT=.device/tessera_tests
VK=vulkan:NVIDIA
OCL=opencl:NVIDIA
export TESSERA_VK_TIMEOUT_S=${TESSERA_VK_TIMEOUT_S:-30}
FG=${FG:-}
if [ -n "$FG" ] && has torch; then
  (cd "$FG" && MAX_JOBS=12 TORCH_CUDA_ARCH_LIST=9.0 timeout 400 python3 setup.py build_ext --inplace >"$OUT/fg_build.log" 2>&1;
   echo "rc=$?" >>"$OUT/fg_build.log") &
  FGPID=$!
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
F='*sparse_conv*:*SparseConv*:-*Timing*'
if has tests; then
  for b in opencl vulkan; do
    TESSERA_TEST_BACKENDS=$b timeout 120 $TT --gtest_brief=1 --gtest_filter="$F" 2>&1 | tee "$OUT/tests_$b.log" | tail -n 3
  done
  echo "== vulkan coopmat forced (f16 cases + order independence)"
  TESSERA_VK_SPARSE_CONV=coopmat TESSERA_TEST_BACKENDS=vulkan timeout 120 $TT --gtest_brief=1 \
    --gtest_filter='*sparse_conv3d*f16*:RuntimeSparseConv.*' 2>&1 | tail -n 3
  for v in 128x128 256x64 128x64; do
    echo "== vulkan coopmat $v"
    TESSERA_VK_SPARSE_CONV_CM=$v TESSERA_TEST_BACKENDS=vulkan timeout 120 $TT --gtest_brief=1 \
      --gtest_filter='*sparse_conv3d*f16*:RuntimeSparseConv.*' 2>&1 | tail -n 2
  done
  echo "== vulkan portable forced"
  TESSERA_VK_SPARSE_CONV=portable TESSERA_TEST_BACKENDS=vulkan timeout 120 $TT --gtest_brief=1 --gtest_filter="$F" 2>&1 | tail -n 2
  echo "== vulkan chunked (4 workgroups per dispatch dimension)"
  TESSERA_VK_MAX_WORKGROUPS=4 TESSERA_TEST_BACKENDS=vulkan timeout 120 $TT --gtest_brief=1 --gtest_filter="$F" 2>&1 | tail -n 2
  echo "== scale"
  TESSERA_TEST_SCALE=1 TESSERA_TEST_BACKENDS=opencl,vulkan timeout 150 $TT --gtest_brief=1 \
    --gtest_filter='ParityScale*sparse_conv*' 2>&1 | tee "$OUT/scale.log" | tail -n 3
fi
if has bench; then
  $T bench sparse-conv --backends $VK,$OCL --orders planned,storage --csv "$OUT/sc_tessera.csv" 2>&1 | tee "$OUT/sc_tessera.log" | sed -n '/summary/,$p'
fi
if has variants; then
  for v in 128x128 128x64; do
    TESSERA_VK_SPARSE_CONV_CM=$v $T bench sparse-conv --backends $VK --configs 512x64 2>&1 | tail -n 1 | sed "s/^/cm=$v /"
  done
  TESSERA_VK_SPARSE_CONV_CM=256x64 $T bench sparse-conv --backends $VK --configs 256x128 2>&1 | tail -n 1 | sed "s/^/cm=256x64 /"
  TESSERA_VK_SPARSE_CONV=portable $T bench sparse-conv --backends $VK --configs 256x128,512x64 2>&1 | tail -n 2 | sed "s/^/portable /"
fi
if has torch; then
  if [ -n "${FGPID:-}" ]; then wait "$FGPID"; tail -n 3 "$OUT/fg_build.log"; export PYTHONPATH="$FG${PYTHONPATH:+:$PYTHONPATH}"; fi
  PYTHONUNBUFFERED=1 timeout 300 python3 bench/sparse_conv_torch.py --csv "$OUT/sc_torch.csv" 2>&1 | tee "$OUT/sc_torch.log" | grep -v Warning
fi
