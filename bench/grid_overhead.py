#!/usr/bin/python3
"""Part 4: grid overhead. `gridrun local` runs N trivial trials on W workers
whose "training" is a fixed sleep (bench/sleep_worker.cpp), so the theoretical
minimum wall time is ceil(N / W) * seconds; the rest is gridrun's overhead
(coordinator start, submit, leases, reporting, worker start/exit, report).

  bench/grid_overhead.py --build-dir build [--trials 400] [--workers 2] [--seconds 0.25]
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--trials", type=int, default=400)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seconds", type=float, default=0.25)
    p.add_argument("--mode", choices=["sleep", "spin"], default="sleep")
    a = p.parse_args()
    if a.trials < 1 or a.workers < 1 or a.seconds < 0:
        p.error("--trials and --workers must be >= 1, --seconds >= 0")
    gridrun = os.path.join(a.build_dir, "gridrun")
    worker = os.path.join(a.build_dir, "bench", "gridrun-bench-sleep-worker")
    for f in (gridrun, worker):
        if not os.path.exists(f):
            sys.exit(f"--build-dir: {f} not found")
    side = math.ceil(math.sqrt(a.trials))
    other = math.ceil(a.trials / side)
    n = side * other
    with tempfile.TemporaryDirectory(prefix="gridrun-bench-overhead-") as tmp:
        spec = os.path.join(tmp, "grid.yaml")
        with open(spec, "w") as f:
            f.write("experiment: overhead\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\ngrid:\n")
            f.write(f"  latent_size: {list(range(1, side + 1))}\n")
            f.write(f"  width: {list(range(100, 100 + other))}\n")
        env = dict(os.environ, GRIDRUN_BENCH_TRIAL_SECONDS=str(a.seconds),
                   GRIDRUN_BENCH_TRIAL_MODE=a.mode)
        t0 = time.monotonic()
        r = subprocess.run([gridrun, "local", spec, "--db", os.path.join(tmp, "runs.db"),
                            "--workers", str(a.workers), "--worker-binary", worker],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit(f"gridrun local failed ({r.returncode}):\n{r.stderr[-2000:]}")
    ideal = math.ceil(n / a.workers) * a.seconds
    # gridrun local SIGTERMs its idle workers as soon as every trial is
    # terminal, so no --exit-when-idle tail is included.
    print("| trials | workers | s/trial | mode | wall s | theoretical min s | overhead |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {n} | {a.workers} | {a.seconds} | {a.mode} | {wall:.2f} | {ideal:.2f} | "
          f"{100 * (wall - ideal) / ideal:.1f}% |")


if __name__ == "__main__":
    main()
