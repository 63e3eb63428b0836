#!/usr/bin/env bash
# Builds the three libFuzzer targets (clang, ASan + UBSan, backends off) in a
# separate build dir and runs each for $FUZZ_SECONDS (default 60) seconds,
# starting from the seed corpora in tests/fuzz/corpus/. Fails on any crash,
# sanitizer report, leak, timeout or out-of-memory; the reproducer is left in
# $FUZZ_BUILD_DIR/artifacts/.
#   FUZZ_SECONDS=600 tests/fuzz/run.sh            # longer run
#   tests/fuzz/run.sh fuzz_image                  # one target
#   $FUZZ_BUILD_DIR/tests/fuzz/fuzz_image crash-… # reproduce a finding
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_safetensors fuzz_json_config fuzz_image)

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTESSERA_FUZZ=ON -DTESSERA_WITH_OPENCL=OFF -DTESSERA_WITH_VULKAN=OFF \
  -DTESSERA_BUILD_TESTS=OFF -DTESSERA_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target "${TARGETS[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/artifacts"
failed=()
for t in "${TARGETS[@]}"; do
  name=${t#fuzz_}
  seeds=tests/fuzz/corpus/$name
  work=$BUILD/corpus/$name
  mkdir -p "$work"
  dict=()
  [ "$t" != fuzz_image ] && dict=(-dict=tests/fuzz/json.dict)
  echo "== $t: ${FUZZ_SECONDS}s, seeds $seeds =="
  set +e
  "$BUILD/tests/fuzz/$t" "$work" "$seeds" "${dict[@]}" -max_total_time="$FUZZ_SECONDS" \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$t-" >"$BUILD/$t.log" 2>&1
  rc=$?
  set -e
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)' "$BUILD/$t.log" || true
  if [ $rc -ne 0 ]; then
    tail -n 60 "$BUILD/$t.log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (logs in $BUILD/<target>.log, reproducers in $BUILD/artifacts/)"
  exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets ran ${FUZZ_SECONDS}s each with no crash"
