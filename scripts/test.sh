#!/usr/bin/env bash
# Builds what only the tests need (every test binary and benchmark in build/,
# and the sanitizer and fuzzing tree build-asan/), then runs
# the whole test suite (unit, mpi, integration, cluster) with ctest, the
# sanitizer suites and the fuzzers. Extra arguments go to ctest, e.g.
# ./scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -d $BUILD_DIR ]]; then
  echo "no build in $BUILD_DIR: run ./scripts/setup.sh first" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
# build-asan/ (SKIP_SANITIZERS=1 SKIP_FUZZ=1 leave it out).
# Built before any test runs, so a compile error shows up first.
build_status=0
./scripts/sanitize-fuzz.sh build || build_status=1
repeat_failures() {
  [[ -s $BUILD_DIR/Testing/Temporary/LastTestsFailed.log ]] || return 0
  # ctest prints a failed test's output where it ended, far above the end of
  # a long log: repeat each failure's assertion messages here, at the bottom.
  printf '\n==== failures in %s, repeated ====\n' "$BUILD_DIR"
  while IFS=: read -r _ name; do
    printf -- '--- %s\n' "$name"
    awk -v test="$name" '
      $0 ~ "^[0-9]+/[0-9]+ Test: " && $3 == test { inside = 1; next }
      inside && /^<end of output>/ { exit }
      inside' "$BUILD_DIR/Testing/Temporary/LastTest.log" |
      grep -A8 -E ': Failure$|Expected|Which is|exceeded|Exception' | head -n 60 || true
  done < "$BUILD_DIR/Testing/Temporary/LastTestsFailed.log"
}
status=0
printf '\n==== ctest (%s) ====\n' "$BUILD_DIR"
# A test that starts real processes can lose a race against a loaded
# machine: a failed test runs once more, and both runs stay in the log.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 600 \
  --repeat until-pass:2 "$@" || status=1
ctest_status=$status
# ASan/UBSan test suites and a bounded run of every fuzzer (see README;
# SKIP_SANITIZERS=1 / SKIP_FUZZ=1 leave them out, FUZZ_SECONDS sets the time).
if [[ $build_status -ne 0 ]]; then
  echo "sanitizer/fuzz build failed (above)" >&2
  status=1
fi
./scripts/sanitize-fuzz.sh test || status=1
[[ $ctest_status -eq 0 ]] || repeat_failures
exit $status
