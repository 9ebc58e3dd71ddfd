#!/usr/bin/python3
"""Part 7: ASHA against the full grid. experiments/vae_complexity_latent_mnist.yaml
(vae-mlp, depth 1/2/3 x latent 2/5/20/64) widened with --set kl_weight=[1, 0.5,
0.25] to 36 trials and shortened (epochs, train/test sizes, no sample-quality
scoring), run by `gridrun local` twice on the same machine: every trial to the
last epoch, and with `scheduler: {type: asha, metric: test/neg_elbo, min_epochs:
1, reduction_factor: 3}` (--min-epochs, --reduction-factor), or once per
MIN_EPOCHS:RF pair of --configs after the one grid run. Prints the wall time and
trial-epochs of each, the best final test/neg_elbo of each (ASHA's from its
COMPLETE trials), and whether ASHA is within --tolerance of the grid's best at
<= 1/3 of its trial-epochs.

  bench/asha_vs_grid.py --build-dir build --data-dir ../shared/data [--epochs 9]
      [--configs 1:3,3:4]
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "experiments", "vae_complexity_latent_mnist.yaml")
METRIC = "test/neg_elbo"


def run(a, tmp, asha, min_epochs=1, reduction_factor=3):
    tag = f"asha-{min_epochs}-{reduction_factor}" if asha else "grid"
    db = os.path.join(tmp, f"{tag}.db")
    sets = [f"experiment=bench-{tag}", f"epochs={a.epochs}", f"samples.epochs=[{a.epochs}]",
            "kl_weight=[1.0, 0.5, 0.25]", f"train_size={a.train_size}",
            f"test_size={a.test_size}", "eval_samples=0"]
    if asha:
        sets.append("scheduler={type: asha, metric: %s, mode: min, min_epochs: %d, "
                    "reduction_factor: %d}" % (METRIC, min_epochs, reduction_factor))
        # The search seed orders a scheduled grid's trials (grid_expand.h);
        # the trials themselves (trial seeds) do not depend on it.
        sets.append("search={strategy: grid, seed: %d}" % a.search_seed)
    cmd = [os.path.join(a.build_dir, "gridrun"), "local", SPEC, "--db", db, "--data-dir",
           a.data_dir, "--workers", str(a.workers), "--threads", "1"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"{tag}: gridrun local failed ({r.returncode}):\n{r.stderr[-2000:]}")
    con = sqlite3.connect(db)
    states = dict(con.execute("SELECT state, COUNT(*) FROM trials GROUP BY state"))
    # Trial-epochs: the newest epoch of any metric of each trial.
    run_epochs = con.execute(
        "SELECT COALESCE(SUM(e), 0) FROM (SELECT MAX(epoch) AS e FROM metrics "
        "GROUP BY trial_id)").fetchone()[0]
    # The best final value: the metric at the last epoch of COMPLETE trials.
    best = con.execute(
        "SELECT m.value, t.trial_id FROM metrics AS m JOIN trials AS t "
        "ON t.trial_id = m.trial_id WHERE t.state = 'COMPLETE' AND m.name = ? "
        "AND m.epoch = ? ORDER BY m.value LIMIT 1", (METRIC, a.epochs)).fetchone()
    # Trial numbers differ between the runs (a scheduled grid is shuffled):
    # name the best trial by its grid cell.
    cell = ", ".join(f"{k} {v}" for k, v in con.execute(
        "SELECT name, value FROM trial_params WHERE trial_id = ? ORDER BY name", (best[1],)))
    total = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    return {"wall": wall, "states": states, "epochs": run_epochs, "best": best[0],
            "best_trial": cell, "full": total * a.epochs}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", default="build")
    p.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "shared", "data"))
    p.add_argument("--epochs", type=int, default=9)
    p.add_argument("--train-size", type=int, default=4096)
    p.add_argument("--test-size", type=int, default=1024)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument("--reduction-factor", type=int, default=3)
    p.add_argument("--min-epochs", type=int, default=1)
    p.add_argument("--search-seed", type=int, default=0,
                   help="search seed: the order ASHA runs the grid's trials in")
    p.add_argument("--keep-dir", default="",
                   help="write the databases here and keep them (default: a temporary folder)")
    p.add_argument("--configs", default="",
                   help="MIN_EPOCHS:RF,...: ASHA settings to run, each against the one grid run")
    a = p.parse_args()
    configs = [(a.min_epochs, a.reduction_factor)]
    if a.configs:
        configs = [tuple(int(x) for x in c.split(":")) for c in a.configs.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        tmp = a.keep_dir or scratch
        os.makedirs(tmp, exist_ok=True)
        grid = run(a, tmp, asha=False)
        print(f"grid: {grid['wall']:.1f} s wall, {grid['epochs']} of {grid['full']} trial-epochs, "
              f"states {grid['states']}, best final {METRIC} {grid['best']:.3f} "
              f"({grid['best_trial']})", flush=True)
        for min_epochs, rf in configs:
            asha = run(a, tmp, True, min_epochs, rf)
            print(f"asha min_epochs {min_epochs}, rf {rf}: {asha['wall']:.1f} s wall, "
                  f"{asha['epochs']} of {asha['full']} trial-epochs, states {asha['states']}, "
                  f"best final {METRIC} {asha['best']:.3f} ({asha['best_trial']})")
            gap = (asha["best"] - grid["best"]) / abs(grid["best"])
            share = asha["epochs"] / grid["epochs"]
            print(f"  asha/grid: best {METRIC} {100 * gap:+.2f}% (tolerance "
                  f"{100 * a.tolerance:.0f}%), trial-epochs {share:.3f} (at most 0.333), "
                  f"wall {asha['wall'] / grid['wall']:.3f}")
            ok = gap <= a.tolerance and share <= 1 / 3
            print("  PASS" if ok else "  FAIL: " + (
                "best outside the tolerance; " if gap > a.tolerance else "")
                + ("more than a third of the trial-epochs" if share > 1 / 3 else ""), flush=True)
    return 0  # a benchmark reports; the verdict is the lines above

if __name__ == "__main__":
    sys.exit(main())
