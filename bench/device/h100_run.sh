#!/usr/bin/env bash
# One full run on the lent GPU machine (see README.md here): devices, the
# parity suite on the GPU's OpenCL and Vulkan devices (normal + scale cases),
# then GEMM and SDPA benchmarks beside PyTorch on the same GPU.
# Usage (device command): source bench/device/setup.sh; bash bench/device/h100_run.sh [parts]
# parts: any of devices,tests,scale,gemm,sdpa,torch,tune,geo,large,clsweep,sdpasweep,bf16tc
# (default: all but tune, large and the sweeps). Logs go to $OUT.
# tune: CLBlast's Xgemm tuner on the GPU's OpenCL device, then the f32 GEMM again.
# large: tensors above 2^31 elements / 4 GiB (LargeTensor.*) and the row-window
#        tests under tiny forced limits (SplitLimits.*), OpenCL and Vulkan.
# clsweep: f32 GEMM 4096^3 on OpenCL with each Xgemm parameter set of
#        bench/device/clblast_candidates.txt (TESSERA_CLBLAST_XGEMM).
# sdpasweep: Vulkan sdpa coopmat variants (TESSERA_VK_SDPA_CM) at 32k tokens (SDPA_VARIANTS, SDPA_HDS,
#        SDPA_PARITY=0 to time only).
# bf16tc: the bf16 paths on the f16 tensor cores (the defaults for bf16 there):
#        their parity (linear, sdpa, per-row linear; sdpa with k / v converted
#        in the kernel), then bf16 GEMM and sdpa timings beside the portable kernels.
set -uo pipefail
OUT=${OUT:-/tmp/tessera-out}
mkdir -p "$OUT"
parts=${1:-devices,tests,scale,gemm,sdpa,torch,geo}
has() { case ",$parts," in *",$1,"*) return 0 ;; esac; return 1; }
T=.device/tessera
GPU_OCL=opencl:NVIDIA
GPU_VK=vulkan:NVIDIA
export TESSERA_CACHE_DIR=/tmp/tessera-cache
# Test fixtures from this (carried) tree, not the build machine's source path compiled into the binary.
export TESSERA_SOURCE_DIR=$PWD

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
if has large; then
  for b in opencl vulkan; do
    TESSERA_TEST_BACKENDS=$b TESSERA_LIMIT_ALLOC_BYTES=64K TESSERA_LIMIT_BINDING_BYTES=16K .device/tessera_tests \
      --gtest_brief=1 --gtest_filter='SplitLimits.*' 2>&1 | tee "$OUT/split_$b.log" | tail -n 4
  done
  TESSERA_TEST_SCALE=1 TESSERA_TEST_BACKENDS=opencl,vulkan timeout ${LARGE_TIMEOUT:-400} stdbuf -oL .device/tessera_tests \
    --gtest_filter='LargeTensor.*' 2>&1 | tee "$OUT/large.log" | grep -E "^  |FAILED|PASSED|OK \]|Failure|rror"
fi
if has clsweep; then
  while read -r params; do
    case "$params" in ''|'#'*) continue ;; esac
    r=$(TESSERA_CLBLAST_XGEMM="$params" timeout 60 $T bench gemm --backends $GPU_OCL --dtypes f32 --sizes 4096 2>&1 |
        grep -E "^opencl.*4096x4096x4096" | tail -n 1)
    echo "${r:-FAILED} | $params" | tee -a "$OUT/clsweep.txt"
  done < bench/device/clblast_candidates.txt
fi
if has sdpasweep; then
  for v in ${SDPA_VARIANTS:-k32w8_db k64w8 k32w8 k32w6_db}; do
    for hd in ${SDPA_HDS:-128 64}; do
      heads=$([ $hd = 128 ] && echo 12 || echo 16)
      r=$(TESSERA_VK_SDPA_CM=$v timeout 120 $T bench sdpa --backends $GPU_VK --dtypes f16 --tokens 32768 \
          --heads $heads --head-dims $hd 2>&1 | grep -E "^vulkan" | tail -n 1)
      echo "$v hd$hd: ${r:-FAILED}" | tee -a "$OUT/sdpasweep.txt"
    done
    [ "${SDPA_PARITY:-1}" = 1 ] || continue
    # The variant's parity (every sdpa case; f16 ones run the variant, the rest the portable kernel).
    p=$(TESSERA_VK_SDPA_CM=$v TESSERA_TEST_BACKENDS=vulkan timeout 120 .device/tessera_tests --gtest_brief=1 \
        --gtest_filter='Parity_*sdpa*' 2>&1 | grep -E "PASSED|FAILED" | tr '\n' ' ')
    echo "$v parity: ${p:-no result}" | tee -a "$OUT/sdpasweep.txt"
  done
fi
if has bf16tc; then
  # Parity of the bf16 tensor-core paths (the defaults for bf16 on NVIDIA): linear through the scaled
  # f16 coopmat GEMM, sdpa with k / v copied to scaled f16 and, forced, converted inside the kernel.
  for fp in ":Parity_*linear*:RuntimeLinearRows.*:Parity_*sdpa*" "TESSERA_VK_SDPA_KV=inline:Parity_*sdpa*bf16*" \
            "TESSERA_VK_GEMM=scaled16:Parity_*linear*:RuntimeLinearRows.*"; do
    env_kv=${fp%%:*} filt=${fp#*:}
    r=$(env $env_kv TESSERA_TEST_BACKENDS=vulkan timeout 200 .device/tessera_tests --gtest_brief=1 \
        --gtest_filter="$filt" 2>&1 | grep -E "PASSED|FAILED" | tr '\n' ' ')
    echo "${env_kv:-default} parity: ${r:-no result}" | tee -a "$OUT/bf16tc.txt"
  done
  for g in 128 ""; do
    TESSERA_VK_GEMM=$g timeout 200 $T bench gemm --backends $GPU_VK --dtypes bf16 \
      --sizes 4096,8192x1536x1536,8192x6144x1536,8192x1536x6144,8192x4096x1024 2>&1 | grep -E "^vulkan" |
      sed "s/^/gemm ${g:-default}: /" | tee -a "$OUT/bf16tc.txt"
  done
  for s in "TESSERA_VK_SDPA=portable" "TESSERA_VK_SDPA_KV=inline" "TESSERA_VK_SDPA="; do
    for hh in 12:128 16:64; do
      env $s timeout 200 $T bench sdpa --backends $GPU_VK --dtypes bf16 --tokens 4096,32768 \
        --heads ${hh%%:*} --head-dims ${hh#*:} 2>&1 | grep -E "^vulkan" | sed "s/^/sdpa $s: /" | tee -a "$OUT/bf16tc.txt"
    done
  done
fi
