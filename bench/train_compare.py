#!/usr/bin/python3
"""Part 1 of the benchmark suite: gridrun's trainer (gridrun-bench-train) against
the same models in PyTorch eager Python (bench/baselines/train_step.py), in
alternating runs (C++ first on even rounds, Python first on odd ones), plus the
float32 GEMM ceiling (torch::mm 1024^3) at each thread count.

  bench/train_compare.py --build-dir build [--rounds 3] [--steps 10] [--quick]

Prints a markdown table (median and min-max images/s over rounds, ratio of
medians C++/Python, achieved GFLOP/s and share of the ceiling) and writes the
raw JSON lines to --raw if given."""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [  # (model, critic_iters)
    ("seed001-dcgan", 1),
    ("seed004-vae-mlp", 1),
    ("wgan-gp", 5),
]


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=0, help="timed steps per run (0: per model)")
    p.add_argument("--batches", default="64,128")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--models", default=",".join(m for m, _ in CASES))
    p.add_argument("--raw", default="")
    a = p.parse_args()
    exe = os.path.join(a.build_dir, "bench", "gridrun-bench-train")
    if not os.path.exists(exe):
        sys.exit(f"--build-dir: {exe} not found (build target gridrun-bench-train)")
    env = dict(os.environ)
    raw = open(a.raw, "a") if a.raw else None
    wanted = a.models.split(",")
    unknown = [m for m in wanted if m not in dict(CASES)]
    if unknown:
        sys.exit(f"--models: unknown {unknown}; known: {[m for m, _ in CASES]}")
    threads = [int(t) for t in a.threads.split(",")]
    batches = [int(b) for b in a.batches.split(",")]

    ceiling, blas = {}, ""
    for t in threads:
        vals = []
        for _ in range(a.rounds):
            r = run_json([exe, "--gemm", "--threads", str(t), "--steps", "10"], env)
            vals.append(r["gflops_median"])
            blas = f'{r["blas"].split(",")[0]} (OPENBLAS_CORETYPE={r["coretype"] or "unset"})'
            if raw:
                raw.write(json.dumps(r) + "\n")
        ceiling[t] = statistics.median(vals)
    print(f"BLAS: {blas}")
    print("GEMM ceiling (torch::mm 1024^3 float32, median GFLOP/s): " +
          ", ".join(f"{t} thread(s) {ceiling[t]:.1f}" for t in threads))
    print()
    print("| model | batch | threads | gridrun C++ img/s (min-max) | PyTorch Python img/s (min-max) "
          "| ratio C++/Py | C++ GFLOP/s | % of GEMM ceiling |")
    print("|---|---|---|---|---|---|---|---|")
    for model, k in CASES:
        if model not in wanted:
            continue
        steps = a.steps or (30 if "vae" in model else (2 if k > 1 else 5))
        for b in batches:
            for t in threads:
                args = ["--model", model, "--batch", str(b), "--threads", str(t), "--steps",
                        str(steps), "--warmup", "2", "--critic-iters", str(k)]
                cpp, py, flop = [], [], 0.0
                for r in range(a.rounds):
                    order = ["cpp", "py"] if r % 2 == 0 else ["py", "cpp"]
                    for impl in order:
                        cmd = [exe] + args if impl == "cpp" else \
                            ["/usr/bin/python3", os.path.join(HERE, "baselines", "train_step.py")] + args
                        res = run_json(cmd, env)
                        if raw:
                            raw.write(json.dumps(res) + "\n")
                        (cpp if impl == "cpp" else py).append(res["images_per_s"])
                        if impl == "cpp":
                            flop = res["flop_per_image"]
                mc, mp = statistics.median(cpp), statistics.median(py)
                gf = flop * mc / 1e9
                print(f"| {model} | {b} | {t} | {mc:.1f} ({min(cpp):.1f}-{max(cpp):.1f}) | "
                      f"{mp:.1f} ({min(py):.1f}-{max(py):.1f}) | {mc / mp:.2f} | {gf:.1f} | "
                      f"{100 * gf / ceiling[t]:.0f}% |", flush=True)


if __name__ == "__main__":
    main()
