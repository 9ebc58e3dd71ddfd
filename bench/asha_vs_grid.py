#!/usr/bin/python3
"""Part 7: ASHA against the full grid. experiments/vae_complexity_latent_mnist.yaml
(vae-mlp, depth 1/2/3 x latent 2/5/20/64) widened with --set kl_weight=[1, 0.5,
0.25] to 36 trials and shortened (epochs, train/test sizes, no sample-quality
scoring), run by `gridrun local` twice on the same machine: every trial to the
last epoch, and with `scheduler: {type: asha, metric: test/neg_elbo, min_epochs:
1, reduction_factor: 3}` (--min-epochs, --reduction-factor). Prints the wall time and trial-epochs of both, the
best final test/neg_elbo of each (ASHA's from its COMPLETE trials), and
whether ASHA is within --tolerance of the grid's best at <= 1/3 of its
trial-epochs.

  bench/asha_vs_grid.py --build-dir build --data-dir ../shared/data [--epochs 9]
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


def run(a, tmp, asha):
    tag = "asha" if asha else "grid"
    db = os.path.join(tmp, f"{tag}.db")
    sets = [f"experiment=bench-{tag}", f"epochs={a.epochs}", f"samples.epochs=[{a.epochs}]",
            "kl_weight=[1.0, 0.5, 0.25]", f"train_size={a.train_size}",
            f"test_size={a.test_size}", "eval_samples=0"]
    if asha:
        sets.append("scheduler={type: asha, metric: %s, mode: min, min_epochs: %d, "
                    "reduction_factor: %d}" % (METRIC, a.min_epochs, a.reduction_factor))
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
        "SELECT MIN(m.value), t.number FROM metrics AS m JOIN trials AS t "
        "ON t.trial_id = m.trial_id WHERE t.state = 'COMPLETE' AND m.name = ? "
        "AND m.epoch = ?", (METRIC, a.epochs)).fetchone()
    total = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    return {"wall": wall, "states": states, "epochs": run_epochs, "best": best[0],
            "best_trial": best[1], "full": total * a.epochs}


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
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        grid = run(a, tmp, asha=False)
        asha = run(a, tmp, asha=True)
    for tag, r in (("grid", grid), ("asha", asha)):
        print(f"{tag}: {r['wall']:.1f} s wall, {r['epochs']} of {r['full']} trial-epochs, "
              f"states {r['states']}, best final {METRIC} {r['best']:.3f} (trial #{r['best_trial']})")
    gap = (asha["best"] - grid["best"]) / abs(grid["best"])
    share = asha["epochs"] / grid["epochs"]
    print(f"asha/grid: best {METRIC} {100 * gap:+.2f}% (tolerance {100 * a.tolerance:.0f}%), "
          f"trial-epochs {share:.3f} (at most 0.333), wall {asha['wall'] / grid['wall']:.3f}")
    ok = gap <= a.tolerance and share <= 1 / 3
    print("PASS" if ok else "FAIL: " + ("best outside the tolerance; " if gap > a.tolerance else "")
          + ("more than a third of the trial-epochs" if share > 1 / 3 else ""))
    return 0  # a benchmark reports; the verdict is the line above


if __name__ == "__main__":
    sys.exit(main())
