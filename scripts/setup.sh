#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the gridrun programs a user
# runs: installs the Debian packages, configures a Release build in build/
# and compiles gridrun, gridrun-coordinator and gridrun-worker with every core.
# The test binaries, benchmarks and the sanitizer/fuzzing tree are built by
# ./scripts/test.sh, which is what needs them.
#   ./scripts/setup.sh              # packages + the user build
#   SKIP_DEPS=1 ./scripts/setup.sh  # rebuild only
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SKIP_DEPS:-}" ]]; then
  ./scripts/install-deps.sh
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)" --target gridrun gridrun-coordinator gridrun-worker
echo
echo "Built. Binaries: $BUILD_DIR/gridrun $BUILD_DIR/gridrun-coordinator $BUILD_DIR/gridrun-worker"
