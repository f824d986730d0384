#!/usr/bin/env bash
# Builds the engine, the CLI and their test suites with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ and runs every suite labelled
# "asan" except the slow and GUI ones. Any finding fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-asan"
start=$SECONDS
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJIIO_SANITIZE=ON
cmake --build "$build" -j "$(nproc)" --target jiio test_solvers test_deq test_classical test_files test_training \
  test_adversarial test_meta test_cli
echo "sanitizer build: $((SECONDS - start)) s"
cd "$build"
# Instrumented code runs several times slower: QtTest's 5-minute watchdog per
# test function would stop the longer ones (adversarial training) with no finding.
export QTEST_FUNCTION_TIMEOUT=3600000
ctest --output-on-failure --timeout 3600 -L asan -LE "slow|gui"
echo "sanitizer build and run: $((SECONDS - start)) s"
