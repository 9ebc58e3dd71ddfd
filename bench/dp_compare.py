#!/usr/bin/python3
"""Part 2: data-parallel efficiency. The same trial (global batch fixed) with
`mpirun -np 2` (1 thread per rank) against 1 rank (1 thread), alternating;
efficiency = (images/s at 2 ranks / images/s at 1 rank) / 2; the share of step
time in the fused gradient all-reduce; then the all-reduce bandwidth 4 KB-16 MB.

  bench/dp_compare.py --build-dir build [--rounds 3] [--models seed001-dcgan,seed004-vae-mlp]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

MPIRUN = ["mpirun", "--bind-to", "none", "--oversubscribe"] + \
    (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def run(exe, np, args):
    env = dict(os.environ)
    cmd = MPIRUN + ["-np", str(np), "-x", "OPENBLAS_CORETYPE"] + [exe] + args \
        if "OPENBLAS_CORETYPE" in env else MPIRUN + ["-np", str(np), exe] + args
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--models", default="seed001-dcgan,seed004-vae-mlp,wgan-gp")
    p.add_argument("--global-batch", type=int, default=128)
    a = p.parse_args()
    exe = os.path.join(a.build_dir, "bench", "gridrun-bench-dp")
    if not os.path.exists(exe):
        sys.exit(f"--build-dir: {exe} not found")
    print("| model | global batch | 1 rank img/s (min-max) | 2 ranks img/s (min-max) | speed-up "
          "| efficiency | all-reduce share (2 ranks) | fused buffer |")
    print("|---|---|---|---|---|---|---|---|")
    for model in a.models.split(","):
        k = 5 if model == "wgan-gp" else 1
        steps = 40 if "vae" in model else (2 if k > 1 else 4)
        args = ["--model", model, "--global-batch", str(a.global_batch), "--threads", "1",
                "--steps", str(steps), "--warmup", "1", "--critic-iters", str(k)]
        one, two, share, fused = [], [], [], 0
        for r in range(a.rounds):
            for np in ([1, 2] if r % 2 == 0 else [2, 1]):
                res = run(exe, np, args)
                (one if np == 1 else two).append(res["images_per_s"])
                if np == 2:
                    share.append(res["allreduce_share"])
                    fused = res["fused_elements"]
        m1, m2 = statistics.median(one), statistics.median(two)
        print(f"| {model} | {a.global_batch} | {m1:.1f} ({min(one):.1f}-{max(one):.1f}) | "
              f"{m2:.1f} ({min(two):.1f}-{max(two):.1f}) | {m2 / m1:.2f} | "
              f"{100 * m2 / m1 / 2:.0f}% | {100 * statistics.median(share):.1f}% | "
              f"{fused * 4 / 1e6:.1f} MB |", flush=True)
    print()
    sweep = run(exe, 2, ["--allreduce", "--reps", "20"])
    print("| fused buffer | 2-rank all-reduce time (us, median) | bandwidth GB/s (bytes / time) |")
    print("|---|---|---|")
    for row in sweep:
        b = row["bytes"]
        size = f"{b // 1024} KB" if b < (1 << 20) else f"{b // (1 << 20)} MB"
        print(f"| {size} | {row['us_median']:.0f} | {row['gb_per_s']:.2f} |")


if __name__ == "__main__":
    main()
