#!/usr/bin/env bash
# TRELLIS.2 full-size stage timings on the GPU machine (docs/performance.md,
# "TRELLIS.2 pipeline"): seeded random weights of the released configs (4B),
# a sphere-shell sparse structure (~6% of 32^3) instead of the random SS
# decoder's output, 512 and 1024 (cascade) on the backends given.
# Usage (device command): source bench/device/setup.sh; bash bench/device/trellis2_run.sh [backends] [resolutions]
set -uo pipefail
OUT=${OUT:-/tmp/tessera-out}
mkdir -p "$OUT"
T=.device/tessera
backends=${1:-vulkan:NVIDIA}
resolutions=${2:-512,1024}
W=/tmp/trellis2-released
if [ ! -f $W/pipeline.json ]; then
  /usr/bin/time -f "make-checkpoint: %e s, %M KiB" $T make-checkpoint --model trellis2 --config released -o $W --seed 1 \
    2>&1 | tail -n 3 | tee "$OUT/make_checkpoint.txt"
fi
$T demo --backends cpu --dir /tmp/t2demo --steps 1 --quiet > /dev/null 2>&1  # writes /tmp/t2demo/input.png
for b in ${backends//,/ }; do
  for r in ${resolutions//,/ }; do
    tag=${b//:/_}_$r
    timeout ${T2_TIMEOUT:-280} $T generate --model trellis2 --weights $W --image /tmp/t2demo/input.png --resolution $r \
      --structure sphere-shell --backend $b -o /tmp/t2out_$tag 2>&1 | grep -v " step " | tee "$OUT/trellis2_$tag.log" | tail -n 22
    nvidia-smi --query-gpu=memory.used --format=csv,noheader | tee -a "$OUT/trellis2_$tag.log"
  done
done
