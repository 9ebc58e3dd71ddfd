#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to built gridrun binaries:
# installs the Debian packages, configures (Release) and builds with every core.
#   ./scripts/setup.sh            # everything
#   SKIP_DEPS=1 ./scripts/setup.sh  # rebuild only
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SKIP_DEPS:-}" ]]; then
  ./scripts/install-deps.sh
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
# The torch-free sanitizer (build-asan) and libFuzzer (build-fuzz) builds that
# scripts/test.sh runs; SKIP_SANITIZERS=1 / SKIP_FUZZ=1 leave them out.
./scripts/sanitize-fuzz.sh build
echo
echo "Built. Binaries: $BUILD_DIR/gridrun $BUILD_DIR/gridrun-coordinator $BUILD_DIR/gridrun-worker"
