#!/usr/bin/env bash
# Installs every Debian 12 package gridrun needs to build, test and run, and
# selects the OpenMP OpenBLAS as the system BLAS (LibTorch links libblas.so.3;
# Debian's reference BLAS makes training 6-19x slower).
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # training: LibTorch 1.13 + a fast BLAS + MPI
  libtorch-dev libopenblas0-openmp libopenblas-openmp-dev
  libopenmpi-dev openmpi-bin
  # coordinator / CLI
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3 libsqlitecpp-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libpng-dev zlib1g-dev libssl-dev openssl
  libcurl4-openssl-dev  # `gridrun data fetch` downloads
  libcpp-httplib-dev    # `gridrun ui`'s HTTP server
  # tests and benchmarks
  libgsl-dev  # search/: Sobol points (gsl_qrng_sobol)
  libgtest-dev libgmock-dev libbenchmark-dev python3
  python3-torch  # the PyTorch baselines in bench/baselines (same LibTorch 1.13)
  clang-14 libclang-rt-14-dev llvm-14  # libFuzzer, sanitizer runtimes, llvm-symbolizer
  chromium  # the report and `gridrun ui` in headless Chromium (browser tests skip without)
  # cluster tests (tests/cluster): a private Slurm + munge, network-namespace hosts
  slurm-wlm munge iproute2
)

# Node.js and npm build and test the web app (ui/web): Debian's, unless a
# Node.js is installed already (its own npm comes with it).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${PACKAGES[@]}"

# The web app's pinned npm packages (ui/web/package-lock.json): uPlot, which
# the build embeds in the binary, and puppeteer-core for the browser tests.
(cd "$(dirname "$0")/../ui/web" && npm ci --no-audit --no-fund)

# Pin the OpenMP build of OpenBLAS as libblas.so.3 / liblapack.so.3. (The
# pthread build fights LibTorch's OpenMP threads; see docs/BENCHMARKS.md.)
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  target=/usr/lib/$arch/openblas-openmp/$lib
  if [[ -e $target ]]; then
    $SUDO update-alternatives --set "$lib-$arch" "$target" >/dev/null
  fi
done
echo "BLAS: $(readlink -f /usr/lib/$arch/libblas.so.3)"
