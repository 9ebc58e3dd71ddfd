#!/usr/bin/env bash
# Builds (if needed) and runs the benchmark suite; writes the tables to a
# markdown file and to stdout. See docs/BENCHMARKS.md for what each part
# measures and the latest results.
#
#   bench/run.sh [--build-dir build] [--only train,dp,coord,overhead,e2e,query,ui,models,torchscript]
#                [--quick] [--no-build] [--out FILE] [--data-dir ../shared/data]
#                [--coord-baseline PATH]
# (part 8, asha, runs only when named: --only asha; about 8 minutes on 2 cores)
# (--out default: <build-dir>/bench-results.md)
# --coord-baseline: a gridrun-bench-coordinator built from another commit;
# part 3 then alternates it with this build's, round by round ("baseline" rows).
#
# --quick: fewer rounds, steps and trials (minutes instead of ~an hour); for
# checking that everything runs, not for numbers to publish.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build
ONLY=train,dp,coord,overhead,e2e,query,ui,models,torchscript
QUICK=0
BUILD_FIRST=1
OUT=
COORD_BASELINE=
DATA_DIR=${GRIDRUN_DATA_DIR:-../shared/data}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --no-build) BUILD_FIRST=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --data-dir) DATA_DIR=$2; shift 2 ;;
    --coord-baseline) COORD_BASELINE=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for part in ${ONLY//,/ }; do
  case "$part" in
    train|dp|coord|overhead|e2e|query|ui|asha|models|torchscript) ;;
    *) echo "--only: unknown part '$part' (train, dp, coord, overhead, e2e, query, ui, asha, models, torchscript)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-$BUILD/bench-results.md}
has() { [[ ",$ONLY," == *",$1,"* ]]; }

# Same BLAS set-up for C++ and Python: the fast OpenBLAS kernels on AVX-512
# CPUs (common/blas_env.h), never overriding a value the user set.
if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -qw avx512f /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=SkylakeX
fi

if [[ $BUILD_FIRST == 1 ]]; then
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGRIDRUN_BUILD_BENCH=ON
  fi
  cmake --build "$BUILD" -j"$(nproc)" --target gridrun gridrun-worker gridrun-bench-train \
    gridrun-bench-dp gridrun-bench-coordinator gridrun-bench-sleep-worker \
    gridrun-bench-make-query-db gridrun-bench-ui gridrun-bench-model-files \
    gridrun-bench-torchscript >&2
fi

PY=/usr/bin/python3
: > "$OUT"
say() { echo "$@" | tee -a "$OUT"; }
section() {  # title, command...
  local title=$1; shift
  say ""; say "## $title"; say ""
  say "Command: \`$*\`"
  say "Load before: $(cut -d' ' -f1-3 /proc/loadavg)"; say ""
  "$@" | tee -a "$OUT"
  say ""; say "Load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

say "# gridrun benchmark results ($(date -u '+%Y-%m-%d %H:%M UTC'))"
say ""
say "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ local changes)')"
say "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; AVX-512: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
say "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "- OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')"
say "- LibTorch: $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo '?'); Python torch: $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo 'not installed')"
say "- MPI: $(mpirun --version 2>/dev/null | head -1); SQLite: $($PY -c 'import sqlite3; print(sqlite3.sqlite_version)')"
say "- mode: $([[ $QUICK == 1 ]] && echo quick || echo full)"

if [[ $QUICK == 1 ]]; then
  TRAIN_ARGS=(--rounds 1 --batches 64 --threads 1,2)
  DP_ARGS=(--rounds 1 --models seed004-vae-mlp,seed001-dcgan)
  COORD=(--workers 64 --trials 500)
  OVERHEAD=(--trials 40 --workers 2)
  E2E=(--rounds 1 --epochs 1 --train-size 5000 --test-size 1000)
  QUERY=(--trials 10000 --reps 1)
else
  TRAIN_ARGS=(--rounds 3)
  DP_ARGS=(--rounds 3)
  COORD=(--workers 64 --trials 4000)
  OVERHEAD=(--trials 400 --workers 2)
  E2E=(--rounds 2)
  QUERY=(--trials 100000 --reps 3)
fi

if has train; then
  section "1. Training step throughput: gridrun C++ vs PyTorch eager Python" \
    $PY bench/train_compare.py --build-dir "$BUILD" "${TRAIN_ARGS[@]}"
fi
if has dp; then
  section "2. Data-parallel efficiency (mpirun -np 2 x 1 thread vs 1 rank x 1 thread)" \
    $PY bench/dp_compare.py --build-dir "$BUILD" "${DP_ARGS[@]}"
fi
if has coord; then
  say ""; say "## 3. Coordinator throughput (simulated workers, loopback gRPC, SQLite WAL)"; say ""
  say "Command: \`$BUILD/bench/gridrun-bench-coordinator ${COORD[*]} --heartbeats H --batches B --points P --shapes v1,v2,v1,v2\`"
  say "Rounds alternate the previous protocol (v1: lease, heartbeats, batches, complete) and"
  say "proto convention 8 (v2: heartbeat folded into a batch, next lease in the completion's reply)."
  say "Load before: $(cut -d' ' -f1-3 /proc/loadavg)"; say ""
  if [[ -n $COORD_BASELINE ]]; then
    say "Baseline rows: \`$COORD_BASELINE\`, alternating with this build round by round."; say ""
  fi
  first=--header
  for shape in "1 3 50" "3 3 50" "1 1 1000"; do
    set -- $shape
    if [[ -z $COORD_BASELINE ]]; then
      "$BUILD/bench/gridrun-bench-coordinator" "${COORD[@]}" --heartbeats "$1" --batches "$2" \
        --points "$3" --shapes v1,v2,v1,v2 $first | tee -a "$OUT"
      first=
      continue
    fi
    for round in 1 2; do
      for shape_name in v1 v2; do
        # (older builds have no --label: their rows are marked here)
        "$COORD_BASELINE" "${COORD[@]}" --heartbeats "$1" --batches "$2" --points "$3" \
          --shapes "$shape_name" $first | sed 's/^| v/| baseline v/' | tee -a "$OUT"
        first=
        "$BUILD/bench/gridrun-bench-coordinator" "${COORD[@]}" --heartbeats "$1" --batches "$2" \
          --points "$3" --shapes "$shape_name" | tee -a "$OUT"
      done
    done
  done
  say ""
  say "The targets' shape again, this build only: the simulated workers as a thread each"
  say "(synchronous client, as above) alternating with the workers on gRPC's callback client"
  say "(no thread of their own: \"callback\" rows), which leaves more of the machine to the server."
  say ""
  for round in 1 2; do
    for clients in threads callback; do
      "$BUILD/bench/gridrun-bench-coordinator" "${COORD[@]}" --heartbeats 1 --batches 3 \
        --points 50 --shapes v2 --clients "$clients" | tee -a "$OUT"
    done
  done
  say ""
  say "Below saturation: the workers offer 2,000 lifecycles/s together (\"at 2000/s\" rows),"
  say "arriving staggered, with either kind of client; v3 rows carry each trial's last batch"
  say "on its completion (convention 8e, as the gridrun worker does)."
  say ""
  for round in 1 2; do
    for clients in threads callback; do
      for shape_name in v2 v3; do
        "$BUILD/bench/gridrun-bench-coordinator" "${COORD[@]}" --heartbeats 1 --batches 3 \
          --points 50 --shapes "$shape_name" --clients "$clients" --rate 2000 | tee -a "$OUT"
      done
    done
  done
fi
if has overhead; then
  section "4. Grid overhead (gridrun local, trials that sleep 0.25 s)" \
    $PY bench/grid_overhead.py --build-dir "$BUILD" "${OVERHEAD[@]}" --seconds 0.25
fi
if has e2e; then
  section "5. End-to-end grid: gridrun local vs a sequential Python loop" \
    $PY bench/e2e_grid.py --build-dir "$BUILD" --data-dir "$DATA_DIR" "${E2E[@]}"
fi
if has query; then
  section "6. Query speed on a synthetic database" \
    $PY bench/query_bench.py --build-dir "$BUILD" "${QUERY[@]}"
fi
if has ui; then
  UI_TRIALS=100000
  [[ $QUICK == 1 ]] && UI_TRIALS=10000
  UI_DIR=$(mktemp -d)
  "$BUILD/bench/gridrun-bench-make-query-db" --db "$UI_DIR/q.db" --trials $UI_TRIALS \
    --names 4 --steps 25 >&2
  section "7. Dashboard API speed (gridrun ui) on a synthetic database of $UI_TRIALS trials" \
    "$BUILD/bench/gridrun-bench-ui" --db "$UI_DIR/q.db" --rounds 5
  rm -rf "$UI_DIR"
fi
if has models; then
  section "9. Model files against the former compiled presets (training step, alternating)" \
    "$BUILD/bench/gridrun-bench-model-files" --rounds 8 --round-ms 500 --batch 64 --threads 1
fi
if has torchscript; then
  TS_DIR=$(mktemp -d)
  for W in 128 1024; do
    $PY experiments/models/torchscript/make_cgan.py "$TS_DIR/w$W" --width $W --latent-size 64 >&2
    section "10. TorchScript networks against the same networks as a model file (width $W)" \
      "$BUILD/bench/gridrun-bench-torchscript" --generator "$TS_DIR/w$W/generator.pt" \
      --critic "$TS_DIR/w$W/critic.pt" --width $W --latent-size 64 --rounds 8 --round-ms 500 \
      --batch 64 --threads 1
  done
  rm -rf "$TS_DIR"
fi
if has asha; then
  section "8. ASHA against the full grid (36 trials, complexity x latent x KL weight, MNIST)" \
    $PY bench/asha_vs_grid.py --build-dir "$BUILD" --data-dir "$DATA_DIR"
fi
say ""
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results written to $OUT" >&2
