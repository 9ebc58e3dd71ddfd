#!/usr/bin/env bash
# Runs the whole test suite (unit, mpi, integration) with ctest.
# Extra arguments go to ctest, e.g. ./scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -d $BUILD_DIR ]]; then
  echo "no build in $BUILD_DIR: run ./scripts/setup.sh first" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 600 "$@"
