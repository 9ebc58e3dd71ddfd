#!/usr/bin/python3
"""Part 5: end-to-end grid time. A real grid (vae-mlp on Fashion-MNIST, 2
latent sizes x 2 KL weights, small epochs) run by `gridrun local` with trial
packing (W single-thread workers, the default) and with one worker using all
threads, against the same grid as a sequential Python loop
(bench/baselines/seq_grid.py, all threads). Alternating order; prints wall
times, ratios and the final test/neg_elbo of every trial side by side.

  bench/e2e_grid.py --build-dir build --data-dir ../shared/data [--rounds 1]
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = """experiment: e2e-bench
dataset: {dataset}
model: vae-mlp
width: 256
epochs: {epochs}
batch_size: 128
train_size: {train}
test_size: {test}
eval_samples: 0
seed: 1
grid:
  latent_size: [2, 16]
  kl_weight: [1.0, 0.5]
"""


def run_gridrun(a, cores, packed, tmp, tag):
    spec = os.path.join(tmp, f"{tag}.yaml")
    with open(spec, "w") as f:
        f.write(SPEC.format(dataset=a.dataset, epochs=a.epochs, train=a.train_size,
                            test=a.test_size))
    db = os.path.join(tmp, f"{tag}.db")
    args = ["--workers", str(cores), "--threads", "1"] if packed else \
        ["--workers", "1", "--threads", str(cores)]
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(a.build_dir, "gridrun"), "local", spec, "--db", db,
                        "--data-dir", a.data_dir] + args,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"gridrun local failed ({r.returncode}):\n{r.stderr[-3000:]}")
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT json_extract(params_json, '$.latent_size'), json_extract(params_json, "
        "'$.kl_weight'), json_extract(metrics_json, '$.\"test/neg_elbo\"') FROM results").fetchall()
    con.close()
    return wall, {(int(l), float(k)): v for l, k, v in rows}


def run_python(a, cores):
    t0 = time.monotonic()
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "baselines", "seq_grid.py"),
                          "--data-dir", a.data_dir, "--dataset", a.dataset, "--epochs",
                          str(a.epochs), "--train-size", str(a.train_size), "--test-size",
                          str(a.test_size), "--threads", str(cores)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    wall = time.monotonic() - t0
    res = {}
    for line in out.splitlines():
        d = json.loads(line)
        if "latent_size" in d:
            res[(d["latent_size"], d["kl_weight"])] = d["test/neg_elbo"]
    return wall, res


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-size", type=int, default=20000)
    p.add_argument("--test-size", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--cores", type=int, default=os.cpu_count())
    a = p.parse_args()
    walls = {"packed": [], "threads": [], "python": []}
    metrics = {}
    with tempfile.TemporaryDirectory(prefix="gridrun-bench-e2e-") as tmp:
        for r in range(a.rounds):
            order = ["packed", "threads", "python"]
            if r % 2:
                order.reverse()
            for what in order:
                if what == "python":
                    w, m = run_python(a, a.cores)
                else:
                    w, m = run_gridrun(a, a.cores, what == "packed", tmp, f"{what}{r}")
                walls[what].append(w)
                metrics[what] = m
    med = {k: statistics.median(v) for k, v in walls.items()}
    print(f"| run | wall s (median of {a.rounds}, min-max) | speed-up vs Python loop |")
    print("|---|---|---|")
    for k, label in [("packed", f"gridrun local, {a.cores} x 1-thread workers (packing)"),
                     ("threads", f"gridrun local, 1 worker x {a.cores} threads"),
                     ("python", f"sequential Python loop, {a.cores} threads")]:
        print(f"| {label} | {med[k]:.1f} ({min(walls[k]):.1f}-{max(walls[k]):.1f}) | "
              f"{med['python'] / med[k]:.2f}x |")
    print()
    print("| latent_size | kl_weight | test/neg_elbo gridrun (packed) | gridrun (threads) | Python |")
    print("|---|---|---|---|---|")
    for key in sorted(metrics["python"]):
        print(f"| {key[0]} | {key[1]} | {metrics['packed'].get(key, float('nan')):.2f} | "
              f"{metrics['threads'].get(key, float('nan')):.2f} | {metrics['python'][key]:.2f} |")


if __name__ == "__main__":
    main()
