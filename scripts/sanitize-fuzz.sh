#!/usr/bin/env bash
# The sanitizer and fuzzing phases of CI (docs/RELIABILITY.md).
#   ./scripts/sanitize-fuzz.sh build   # configure + build build-asan
#   ./scripts/sanitize-fuzz.sh test    # ASan/UBSan ctest suites, then every fuzzer
# scripts/test.sh calls both (setup.sh builds only what a user runs). Environment:
#   SKIP_SANITIZERS=1   leave out the sanitizer test suites
#   SKIP_FUZZ=1         leave out the fuzzers and their runs
#   FUZZ_SECONDS=N      seconds per fuzz target (default 30)
# One torch-free tree, build-asan/, built by clang-14 with -DGRIDRUN_FUZZ=ON:
# every object is instrumented for ASan, UBSan and libFuzzer's coverage, so
# the same compiled coordinator, CLI, store, spec parser and data file readers
# serve both the sanitizer test binaries and the fuzzers (one tree, not two:
# CI time).
set -uo pipefail
cd "$(dirname "$0")/.."

ASAN_DIR=${ASAN_DIR:-build-asan}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_TARGETS=(grid_spec data_readers coordinator_rpc model_file)
JOBS=$(nproc)

# Leaks fail the run (detect_leaks=1: LeakSanitizer reports and the process
# exits non-zero), UB stops at the first report. Third-party leaks, if any,
# are suppressed one by one in scripts/lsan-suppressions.txt.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Symbolized stack traces from the clang-built fuzzers (gcc's runtime has its own).
if [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
fi

section() { printf '\n==== %s ====\n' "$*"; }

build() {
  if [[ -n "${SKIP_SANITIZERS:-}" && -n "${SKIP_FUZZ:-}" ]]; then return 0; fi
  local tests=ON
  [[ -n "${SKIP_SANITIZERS:-}" ]] && tests=OFF
  # A tree configured by an earlier version of this script with gcc cannot
  # switch compilers in place.
  if [[ -f $ASAN_DIR/CMakeCache.txt ]] &&
    ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$ASAN_DIR/CMakeCache.txt"; then
    rm -rf "$ASAN_DIR"
  fi
  section "configure + build $ASAN_DIR (clang-14, ASan + UBSan + libFuzzer coverage, no torch)"
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$ASAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    -DGRIDRUN_BUILD_TORCH=OFF -DGRIDRUN_BUILD_BENCH=OFF -DGRIDRUN_BUILD_TESTS=$tests \
    -DGRIDRUN_FUZZ=ON &&
    cmake --build "$ASAN_DIR" -j "$JOBS"
}

sanitizer_tests() {
  section "sanitizer tests: ctest -L 'unit|integration' in $ASAN_DIR"
  if [[ ! -d $ASAN_DIR ]]; then
    echo "no $ASAN_DIR: run ./scripts/setup.sh (or SKIP_SANITIZERS=1)" >&2
    return 1
  fi
  cmake --build "$ASAN_DIR" -j "$JOBS" &&
    ctest --test-dir "$ASAN_DIR" -L 'unit|integration' --output-on-failure -j "$JOBS" --timeout 600 \
      --repeat until-pass:2
}

# Runs one fuzzer for FUZZ_SECONDS on a copy of its seed corpus (the repo's
# corpus is never written), with the regression inputs as a second corpus
# directory (read, replayed, never written). A crashing input is kept in
# $ASAN_DIR/fuzz-artifacts/<target>/ to be added to fuzz/regressions/<target>/.
fuzz_one() {
  local target=$1 exe=$ASAN_DIR/fuzz/fuzz_$1 work status
  work=$(mktemp -d)
  mkdir -p "$work/corpus" "$ASAN_DIR/fuzz-artifacts/$target"
  cp fuzz/corpus/"$target"/* "$work/corpus/"
  section "fuzz $target (${FUZZ_SECONDS}s)"
  local dict=()
  [[ -f fuzz/$target.dict ]] && dict=(-dict="fuzz/$target.dict")
  "$exe" -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$ASAN_DIR/fuzz-artifacts/$target/" \
    "$work/corpus" "fuzz/regressions/$target" >"$work/log" 2>&1
  status=$?
  grep -v '^#[0-9]' "$work/log" | tail -n 40
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  echo "fuzz $target: exit $status, ${execs:-?} executions, corpus $(ls "$work/corpus" | wc -l) inputs"
  rm -rf "$work"
  return $status
}

run_tests() {
  local failed=()
  if [[ -z "${SKIP_SANITIZERS:-}" ]]; then
    sanitizer_tests || failed+=("sanitizer tests")
  fi
  if [[ -z "${SKIP_FUZZ:-}" ]]; then
    if ! cmake --build "$ASAN_DIR" -j "$JOBS" --target fuzzers; then
      failed+=("fuzz build")
    else
      for target in "${FUZZ_TARGETS[@]}"; do
        fuzz_one "$target" || failed+=("fuzz $target")
      done
    fi
  fi
  section "sanitizer + fuzz summary"
  if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}"
    return 1
  fi
  echo "all passed"
}

case ${1:-} in
  build) build ;;
  test) run_tests ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
