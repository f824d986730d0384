#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each for
# the given seconds (default 600), starting from the seed corpus in
# tests/fuzz/corpus. Prints each target's executions and findings; crashing
# inputs are kept in build-fuzz/findings/<target>/. Exits non-zero on a finding.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
seconds="${1:-600}"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJIIO_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

declare -A seeds=([fuzz_image_reader]=image [fuzz_mask_reader]=image [fuzz_idx_reader]=idx
                  [fuzz_config_parser]=config [fuzz_checkpoint_loader]=checkpoint)
status=0
for target in fuzz_image_reader fuzz_mask_reader fuzz_idx_reader fuzz_config_parser fuzz_checkpoint_loader; do
  corpus="$build/corpus/$target"
  findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings"
  cp -n "$root/tests/fuzz/corpus/${seeds[$target]}/"* "$corpus/"
  log="$build/$target.log"
  set +e
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$build/bin/$target" "$corpus" \
    -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1
  code=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  found=$(ls "$findings" | wc -l)
  echo "$target: $runs executions in $seconds s, $found finding(s) (exit $code; log $log)"
  if ((code != 0 || found > 0)); then status=1; fi
done
exit $status
