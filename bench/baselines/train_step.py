#!/usr/bin/python3
"""Training-step throughput of the PyTorch eager baseline: the Python twin of
gridrun-bench-train (same arguments, same JSON line). Run with Debian's
python3-torch: /usr/bin/python3 bench/baselines/train_step.py --model ..."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402


def loaded_blas():
    found = []
    with open("/proc/self/maps") as f:
        for line in f:
            i = line.find("/")
            if i < 0:
                continue
            path = line[i:].strip()
            if "blas" in path or "mkl" in path:
                path = os.path.realpath(path)
                if path not in found:
                    found.append(path)
    return ",".join(found) or "none mapped"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="seed001-dcgan")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--critic-iters", type=int, default=1)
    a = p.parse_args()
    if a.batch < 1 or a.threads < 1 or a.steps < 1 or a.critic_iters < 1:
        p.error("--batch, --threads, --steps and --critic-iters must be >= 1")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    step, (lo, hi), k = models.build(a.model, a.critic_iters)
    pool = [torch.rand(a.batch, 1, 28, 28) * (hi - lo) + lo for _ in range(2 * k)]
    times = []
    for s in range(a.warmup + a.steps):
        batches = pool[(s % 2) * k:(s % 2) * k + k]
        t0 = time.perf_counter()
        step(batches)
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            times.append(dt)
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    print(json.dumps({
        "impl": "python", "model": a.model, "batch": a.batch, "threads": a.threads,
        "critic_iters": k, "steps": a.steps,
        "images_per_s": round(a.batch * k * a.steps / sum(times), 2),
        "step_ms_median": round(med * 1e3, 3), "step_ms_min": round(times[0] * 1e3, 3),
        "step_ms_max": round(times[-1] * 1e3, 3), "blas": loaded_blas(),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", ""), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
