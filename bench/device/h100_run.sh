#!/usr/bin/env bash
# One full run on the lent GPU machine (see README.md here): devices, the
# parity suite on the GPU's OpenCL and Vulkan devices (normal + scale cases),
# then GEMM and SDPA benchmarks beside PyTorch on the same GPU.
# Usage (device command): source bench/device/setup.sh; bash bench/device/h100_run.sh [parts]
# parts: any of devices,tests,scale,gemm,sdpa,torch,tune,geo (default: all but tune). Logs go to $OUT.
# tune: CLBlast's Xgemm tuner on the GPU's OpenCL device, then the f32 GEMM again.
set -uo pipefail
OUT=${OUT:-/tmp/tessera-out}
mkdir -p "$OUT"
parts=${1:-devices,tests,scale,gemm,sdpa,torch,geo}
has() { case ",$parts," in *",$1,"*) return 0 ;; esac; return 1; }
T=.device/tessera
GPU_OCL=opencl:NVIDIA
GPU_VK=vulkan:NVIDIA
export TESSERA_CACHE_DIR=/tmp/tessera-cache

if has devices; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv | tee "$OUT/nvidia-smi.txt"
  $T devices 2>&1 | tee "$OUT/devices.txt"
  $T ops 2>&1 | tee "$OUT/ops.txt"
fi
if has tests; then
  for b in opencl vulkan; do
    TESSERA_TEST_BACKENDS=$b .device/tessera_tests --gtest_brief=1 2>&1 | tee "$OUT/tests_$b.log" | tail -n 25
  done
  TESSERA_VK_MAX_WORKGROUPS=4 TESSERA_TEST_BACKENDS=vulkan .device/tessera_tests --gtest_brief=1 \
    --gtest_filter='Parity_*add*:Parity_*scale*:Parity_*cast*' 2>&1 | tail -n 5
  # The portable sdpa kernel on the same GPU (the default there is the coopmat one).
  TESSERA_VK_SDPA=portable TESSERA_TEST_BACKENDS=vulkan .device/tessera_tests --gtest_brief=1 \
    --gtest_filter='Parity_*sdpa*' 2>&1 | tail -n 5
fi
if has scale; then
  for b in opencl vulkan; do
    TESSERA_TEST_SCALE=1 TESSERA_TEST_BACKENDS=$b timeout ${SCALE_TIMEOUT:-240} .device/tessera_tests --gtest_brief=1 \
      --gtest_filter='ParityScale*' 2>&1 | tee "$OUT/scale_$b.log" | grep -E "^  |FAILED|PASSED"
  done
fi
if has gemm; then
  $T bench gemm --backends $GPU_OCL,$GPU_VK --dtypes f32,f16,bf16 \
    --sizes 4096,8192x1536x1536,8192x6144x1536,8192x1536x6144,8192x4096x1024 --csv "$OUT/gemm_tessera.csv" 2>&1 | tail -n 20
fi
if has torch; then
  python3 bench/torch_gemm.py --csv "$OUT/gemm_torch.csv" 2>&1 | tail -n 20
fi
if has sdpa; then
  $T bench sdpa --backends $GPU_OCL,$GPU_VK --dtypes f32,f16,bf16 --tokens 4096,16384,32768,65536 \
    --heads 12 --head-dims 128 --csv "$OUT/sdpa_tessera.csv" 2>&1 | tail -n 30
  if has torch; then python3 bench/torch_sdpa.py --csv "$OUT/sdpa_torch.csv" 2>&1 | tail -n 30; fi
fi
if has tune; then
  timeout ${TUNE_TIMEOUT:-300} $T tune clblast --backends $GPU_OCL --size ${TUNE_SIZE:-1024} --fraction ${TUNE_FRACTION:-0.05} 2>&1 | tail -n 5
  $T bench gemm --backends $GPU_OCL --dtypes f32,f16 --sizes 4096,8192x6144x1536 2>&1 | tail -n 4
fi
if has geo; then
  $T bench raster --backends cpu,$GPU_OCL,$GPU_VK --sizes 4096 --triangles 1000000 2>&1 | tail -n 6
  if $T --help 2>&1 | grep -q "bench bvh"; then $T bench bvh --backends cpu,$GPU_OCL,$GPU_VK 2>&1 | tail -n 10; fi
fi
