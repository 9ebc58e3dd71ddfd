#!/usr/bin/env bash
# Runs the whole test suite (unit, mpi, integration, cluster) with ctest.
# Extra arguments go to ctest, e.g. ./scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -d $BUILD_DIR ]]; then
  echo "no build in $BUILD_DIR: run ./scripts/setup.sh first" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
status=0
printf '\n==== ctest (%s) ====\n' "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 600 "$@" || status=1
# ASan/UBSan test suites and a bounded run of every fuzzer (see README;
# SKIP_SANITIZERS=1 / SKIP_FUZZ=1 leave them out, FUZZ_SECONDS sets the time).
./scripts/sanitize-fuzz.sh test || status=1
exit $status
